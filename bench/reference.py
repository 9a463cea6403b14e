#!/usr/bin/env python3
"""Reference backtest: the original system's forecaster, simple baselines and peer forecasters from
public Python libraries, in Python.

The TypeScript backtest implements the same protocol; this script gives the numbers (and the
seed model's forecasts) to compare it with, scores and speed, in one benchmark run, and with
--peer-forecasts the forecasts of well-known library models on the same origins, for the Node
benchmark to score.

Protocol (rolling origin, one day ahead):
  * origins, by default: the last N complete UTC days of the series (--days, all 24 hours present);
    origin o is the index of that day's 00:00 UTC hour (00:mm for a series whose hours start at mm
    past the UTC hour) and the day has 24 hours;
  * origins from --origins FILE instead: JSON {"origins": [{"day": "2024-03-31", "index": 1234,
    "hours": 23}, ...]} as the TypeScript backtest makes them: `index` is the 0-based row (among the
    data rows of the series file) where that chat day starts, `hours` the day's length (23, 24 or 25
    on clock-change days; 1 .. 25 accepted); indices strictly increasing, days distinct, every day
    inside the series;
  * every model sees only y[:o] and forecasts the `hours` hours o .. o+hours-1; forecasts are
    clipped at 0;
  * per origin: sMAPE (sktime ``mean_absolute_percentage_error(symmetric=True)``: a fraction,
    2|y-f|/(|y|+|f|), 0 where both are 0), MAE, RMSE and MASE (sktime
    ``mean_absolute_scaled_error(sp=24, y_train=y[:o])``: MAE over the in-sample
    same-hour-yesterday naive MAE), over that origin's `hours` hours; for peers also cover80, the
    share of those hours inside [lo, hi];
  * a model's score is the mean over origins of its per-origin scores (for peers, of the point
    forecast: these are quick scores, the Node benchmark does the real scoring);
  * seconds: wall-clock for all origins, in this process (for ``seed``: build, fit and predict); for
    a peer, the sum of the wall-clock times of its work units in the worker processes (one core's
    time; imports and numba warm-up, done once per worker before any unit, are not counted), and
    cpu_seconds the same in CPU time (the cost without what other processes take of the cores).

Models:
  seed        make_reduction(KNeighborsRegressor(n_neighbors=1), window_length=168,
              strategy="recursive"), refitted at every origin on y[:o], fh = 1..hours
  zeros       0 for every hour
  naive_day   y[o-24+(h mod 24)]                     (h = 0 .. hours-1)
  naive_week  y[o-168+h]
  median_7d   median of y[o-24d+(h mod 24)], d = 1..7
  mean_14d    mean of y[o-24d+(h mod 24)], d = 1..14
  (on 24-hour days `h mod 24` is h: the daily baselines repeat their 24-hour profile for a 25th hour)

Peers (--model NAME, or --model peers for all of them; all of them by default with
--peer-forecasts). Every peer forecasts h = 25 hours at every origin (the longest chat day) and the
forecast is cut to the day's `hours`. point = the model's mean forecast; lo, hi = the 10% and 90%
quantiles (the 80% prediction interval, level=[80]); all three clipped at 0, then lo <= hi.
"Weekly" below: a fit at the first origin, then a new fit after 7 origins, or earlier at the first
origin 167 hours or more after the fit's (origins that are not consecutive days never use a fit
older than a week); with daily origins, fits at positions 0, 7, 14, ... of the origin list.
  statsforecast 2.0.1, the per-series API (numpy arrays, no DataFrame):
  sf_seasonal_naive     SeasonalNaive(season_length=24).forecast(y=y[:o], h=25, level=[80]) at
                        every origin; native intervals (normal; sigma of the in-sample
                        same-hour-yesterday residuals, times sqrt(k+1) in the k-th day ahead)
  sf_historic_average   HistoricAverage().forecast(y=y[:o], ...) at every origin; native intervals
                        (normal; sigma of the residuals from the mean)
  sf_auto_ets           AutoETS(season_length=24) (model "ZZZ": AICc picks error, trend and season;
                        the library leaves out multiplicative forms when y has zeros), native
                        intervals; last 8 weeks, refitted weekly: at a fit's origin o
                        ``fit(y[o-1344:o])`` (model selection and estimation) and
                        ``predict(h=25, level=[80])``; at the later origins o' of its week
                        ``forward(y=y[o-1344:o'], h=25, level=[80])``: the same model, parameters and
                        initial state run over the fitted window and the hours since, which updates
                        the states and the residual variance (what statsforecast's
                        cross_validation(refit=False) does). The compromise: a fit costs ~0.6 s on
                        8 weeks, ~4 s on a year; refitted at every origin on 8 weeks it would cost
                        ~180 s CPU a chat (weekly: ~22 s) and score about the same on the seed chat
                        (MAE 2.712, RMSE 4.610 against weekly's 2.708, 4.641; refitted at every
                        origin on 4 weeks 2.707, 4.658, on 12 weeks 2.761, 4.636). 8 weeks hold 56
                        cycles of the daily season (ETS has no weekly one).
  sf_croston_optimized  CrostonOptimized(prediction_intervals=CI).forecast(y=y[:o], ...)
  sf_tsb                TSB(alpha_d, alpha_p, prediction_intervals=CI).forecast(y=y[:o], ...);
                        alpha_d, alpha_p chosen once from the grid {0.01, 0.02, 0.05, 0.1, 0.2,
                        0.3}^2 by the mean squared error of 24-hour forecasts made at the 56 daily
                        origins first-24k, k = 1..56 (data before the first origin only; squared
                        error as TSB estimates the mean demand; on a tie the smaller alphas win).
                        The choice is in the --peer-forecasts file's "settings" (0.01/0.01 on the
                        seed chat: the edge of the grid, i.e. close to a long-run mean).
  sf_adida              ADIDA(prediction_intervals=CI).forecast(y=y[:o], ...)
  sf_imapa              IMAPA(prediction_intervals=CI).forecast(y=y[:o], ...) (when the mean
                        interval between non-zero hours rounds to 1, a busy chat, IMAPA has one
                        aggregation level and equals ADIDA)
    These four intermittent-demand models are flat forecasts (one level for every hour), see the
    whole history at every origin (a call costs milliseconds) and have no native intervals: CI is
    statsforecast's own ConformalIntervals(h=25, n_windows=14) (method "conformal_distribution"):
    at every origin the model is also fitted on y[:o-350+25i], i = 0..13, and its absolute errors on
    the 25 hours after each are the scores; lo and hi at step k are the 10% and 90% quantiles of
    the 28 values mean[k] -/+ score[i][k]. The windows are 25 hours long, so step k of different
    windows falls on different hours of the day.
  mlforecast 1.0.2 + LightGBM 4.7.0:
  mlf_lgbm_tweedie      MLForecast(models={"lgbm": LGBMRegressor(objective="tweedie" (variance
                        power 1.5, the default), n_estimators=300, learning_rate=0.05,
                        num_leaves=31, min_child_samples=20, subsample=0.8, subsample_freq=1,
                        colsample_bytree=0.8, random_state=0, n_jobs=1, verbosity=-1)}, freq=1
                        (integer time: the row index), lags=[1, 2, 3, 24, 48, 72, 168, 336],
                        lag_transforms={1: [RollingMean(window_size=24)], 24:
                        [SeasonalRollingMean(season_length=24, window_size=7)], 168:
                        [SeasonalRollingMean(season_length=168, window_size=4)]},
                        date_features=[local_hour, local_weekday]): one model for all steps,
                        recursive (its own forecasts feed the lags). local_hour and local_weekday
                        are the chat's clock, looked up by row index: the HH of the `local` column
                        and the weekday of the `day` column in chatcast's format, the UTC hour and
                        weekday in the original format (that chat is in UTC). Refitted weekly on all
                        of y[:o]; at the later origins of its week the fitted model forecasts after
                        ``MLForecast.update`` with the hours since the previous origin (the same
                        forecasts as ``predict(h, new_df=y[:o])``, which refuses `level`).
                        Intervals: mlforecast's conformal PredictionIntervals(n_windows=14, h=25)
                        at each fit (cross-validation without refit: one more fit on y[:o-350], the
                        14 windows of 25 hours after it forecast from it), level=[80] at predict;
                        a fit's scores serve its week.
  Peers run in a ProcessPoolExecutor of --workers processes (default 2, "spawn"; OMP, BLAS and
  numba limited to one thread each) in work units: sf_auto_ets and mlf_lgbm_tweedie in their
  weekly blocks, every other peer one unit; a unit's forecasts do not depend on which process runs
  it, so the results do not depend on --workers. Per-model seconds go to stderr. 300 origins cost
  ~190 s of CPU on the seed chat (9,650 hours) and ~210 s on a synthetic chat of 17,500 hours
  (LightGBM 150-175 s, AutoETS ~23 s, the rest ~15-25 s): about 2 minutes on 2 idle cores.

On the seed chat (shared/data/seed-chat/hourly_counts.tsv, --days 300: origins 2023-01-23 ..
2023-11-18) this reproduces the original investigation's figures: seed sMAPE 0.737, MAE 2.77,
RMSE 5.98; zeros 0.557, 1.98, 4.67; median_7d RMSE 4.64. Pooled scores (one sMAPE/MAE/RMSE over
all 7,200 hours) do not: RMSE would be 7.63 (seed), 6.62 (zeros), 6.37 (median_7d); nor does the
window of origins shifted by a day (zeros RMSE 4.66 or 4.70).

Ties: KNeighborsRegressor(n_neighbors=1) runs brute force here (168 features > 15, so
algorithm="auto" picks "brute"); among patterns at equal distance the EARLIEST one (lowest row: the
oldest pattern) wins: scikit-learn's ArgKmin heap keeps the first of equal values and scans rows in
order. Counts are integers, so distances are exact and ties are exact. On the seed chat 12 of the
7,200 steps have a tie, 6 of them between patterns with different next values; the latest-pattern
rule would change 6 origins and give sMAPE 0.738 instead of 0.737. The forecasts are copies of past
counts, so they are never negative and clipping at 0 changes nothing ("clipped" counts the values
it raised). The pandas index (hourly PeriodIndex or RangeIndex, --index) gives the same forecasts.

Output: a table, or with --json one object {"days", "origins", "models": {name: {"smape", "mae",
"rmse", "mase", "seconds", "clipped"}}, "python", "sktime", "sklearn", "numpy", "pandas"} ("days"
is the number of origins; a peer's entry also has "cover80").
--forecasts FILE: the seed model's forecasts, {origin_day: [hours floats]}.
--peer-forecasts FILE: {"models": {name: {"seconds", "cpu_seconds", "settings", "forecasts":
{origin_day: {"point": [...], "lo": [...], "hi": [...]}}}}, "versions": {package: version}}, with
`hours` values each, rounded to 6 decimals.

Series formats (tab-separated, header first, consecutive hours: each row exactly one hour after the
one before; the hours may start at any minute past the UTC hour, e.g. :30 for Asia/Kolkata):
  datetime  txt_cnt                           the original system's all_messages_cnt.csv (UTC)
  start  day  local  offset  messages         chatcast's aggregate/hourly.tsv: start a UTC
                                              instant, day the chat day (local date), local HH:mm

Exit codes: 0 ok, 1 a model failed or forecast a number that is not finite, 2 bad usage (including
--days or an origin needing more history than the series has, or an origin outside the series), 4
malformed series or origins file, 6 series or origins file missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

HORIZON = 24
WINDOW = 168
MODELS = ("seed", "zeros", "naive_day", "naive_week", "median_7d", "mean_14d")
PEERS = (
    "sf_seasonal_naive",
    "sf_historic_average",
    "sf_auto_ets",
    "sf_croston_optimized",
    "sf_tsb",
    "sf_adida",
    "sf_imapa",
    "mlf_lgbm_tweedie",
)
PEER_H = 25  # every peer forecasts the longest chat day, then the forecast is cut to the day's hours
MAX_HOURS = 25  # the longest day --origins accepts
LEVEL = 80  # the 80% interval: its bounds are the 10% and 90% quantiles
CONFORMAL_WINDOWS = 14  # 14 windows of 25 hours: 28 conformal values per step
ETS_WINDOW = 8 * 7 * 24  # AutoETS is fitted on the last 8 weeks
REFIT = 7  # origins per AutoETS or LightGBM fit (weekly with daily origins)
TSB_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
TSB_TUNING_DAYS = 56
# Hours of history each model needs before an origin.
MIN_HISTORY = {
    "seed": WINDOW + 1,  # one pattern and the hour after it
    "zeros": 0,
    "naive_day": 24,
    "naive_week": 168,
    "median_7d": 7 * 24,
    "mean_14d": 14 * 24,
    "sf_seasonal_naive": 2 * 24,  # one season for the forecast, one more for the residuals
    "sf_historic_average": 2,
    "sf_auto_ets": ETS_WINDOW,
    # conformal intervals: 14 windows of 25 hours and a history before them
    "sf_croston_optimized": CONFORMAL_WINDOWS * PEER_H + 24,
    "sf_tsb": CONFORMAL_WINDOWS * PEER_H + 24,
    "sf_adida": CONFORMAL_WINDOWS * PEER_H + 24,
    "sf_imapa": CONFORMAL_WINDOWS * PEER_H + 24,
    # 839 hours lost to the longest lag feature (168 + 4 x 168 - 1), 350 held out for the conformal
    # scores, and still ~5 weeks to train on
    "mlf_lgbm_tweedie": 12 * 7 * 24,
}
FORMATS = {
    "datetime\ttxt_cnt": ("datetime", 2, 0, 1),  # name, fields, time column, count column
    "start\tday\tlocal\toffset\tmessages": ("aggregate", 5, 0, 4),
}
HOUR = timedelta(hours=1)
COUNT = re.compile(r"^[0-9]+$")
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Failure(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- series


@dataclass
class Series:
    start: datetime  # UTC instant of the first hour
    values: "np.ndarray"  # float64 counts, one per consecutive hour
    # the chat's clock per hour: local hour 0..23 and weekday 0 (Monday) .. 6; the UTC ones for the
    # original format
    hour: "np.ndarray | None" = field(default=None, repr=False)
    weekday: "np.ndarray | None" = field(default=None, repr=False)


class Origin(NamedTuple):
    day: str  # the day forecast (its label)
    index: int  # the row of its first hour: models see values[:index]
    hours: int  # its length


def load_series(path: Path) -> Series:
    import numpy as np

    if not path.is_file():
        raise Failure(6, f'Series file "{path}" not found')
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Failure(4, f'Cannot read series file "{path}": {error}')
    lines = text.split("\n")
    while lines and lines[-1].strip("\r") == "":
        lines.pop()
    if not lines:
        raise Failure(4, f'Invalid series file "{path}": it is empty')
    header = lines[0].rstrip("\r")
    if header not in FORMATS:
        expected = " or ".join(f'"{h}"' for h in FORMATS).replace("\t", "\\t")
        raise Failure(4, f'Invalid series file "{path}" line 1 {header!r}: expected the header {expected}')
    kind, fields, time_col, count_col = FORMATS[header]

    def bad(number: int, line: str, rule: str) -> Failure:
        return Failure(4, f'Invalid series file "{path}" line {number} {line!r}: {rule}')

    values: list[int] = []
    hours: list[int] = []
    weekdays: list[int] = []
    weekday_of: dict[str, int] = {}
    first: datetime | None = None
    previous: datetime | None = None
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip("\r")
        parts = line.split("\t")
        if len(parts) != fields:
            raise bad(number, line, f"expected {fields} tab-separated fields, got {len(parts)}")
        stamp, count = parts[time_col], parts[count_col]
        try:
            instant = datetime.fromisoformat(stamp)
        except ValueError:
            instant = None
        if instant is None or instant.tzinfo is None:
            raise bad(number, line, f'time "{stamp}" is not an ISO 8601 instant with a UTC offset')
        instant = instant.astimezone(timezone.utc)
        # Any minute: a chat in a zone such as Asia/Kolkata (+05:30) has hours starting at :30 UTC.
        if instant.second or instant.microsecond:
            raise bad(number, line, f'time "{stamp}" is not the start of an hour (a whole minute)')
        if previous is not None and instant != previous + HOUR:
            what = "a gap" if instant > previous + HOUR else "out of order or a duplicate"
            raise bad(number, line, f"{what}: expected the hour after {previous:%Y-%m-%dT%H:%MZ}")
        if not COUNT.match(count):
            raise bad(number, line, f'count "{count}" is not a non-negative integer')
        if kind == "aggregate":
            day, local = parts[1], parts[2]
            if day not in weekday_of:
                try:
                    weekday_of[day] = date.fromisoformat(day).weekday() if DAY.match(day) else -1
                except ValueError:
                    weekday_of[day] = -1
            if weekday_of[day] < 0:
                raise bad(number, line, f'day "{day}" is not a date YYYY-MM-DD')
            if not CLOCK.match(local):
                raise bad(number, line, f'local "{local}" is not a clock time HH:mm')
            hours.append(int(local[:2]))
            weekdays.append(weekday_of[day])
        else:
            hours.append(instant.hour)
            weekdays.append(instant.weekday())
        values.append(int(count))
        first = first or instant
        previous = instant
    if not values:
        raise Failure(4, f'Invalid series file "{path}": no hours after the header')
    return Series(
        start=first,
        values=np.asarray(values, dtype=np.float64),
        hour=np.asarray(hours, dtype=np.int64),
        weekday=np.asarray(weekdays, dtype=np.int64),
    )


def complete_day_origins(series: Series, days: int) -> list[Origin]:
    """The last `days` complete UTC days as origins (YYYY-MM-DD, index of their 00:00 hour, 24)."""
    n = len(series.values)
    skip = (24 - series.start.hour) % 24  # hours before the first UTC midnight
    origins = []
    o = skip
    while o + 24 <= n:
        origins.append(Origin((series.start + o * HOUR).strftime("%Y-%m-%d"), o, HORIZON))
        o += 24
    if len(origins) < days:
        raise Failure(2, f"--days {days}: the series has only {len(origins)} complete UTC days")
    return origins[len(origins) - days :]


def load_origins(path: Path, series: Series) -> list[Origin]:
    """Origins from a JSON file {"origins": [{"day", "index", "hours"}, ...]}."""
    if not path.is_file():
        raise Failure(6, f'Origins file "{path}" not found')
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise Failure(4, f'Cannot read origins file "{path}": {error}')
    items = data.get("origins") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise Failure(4, f'Invalid origins file "{path}": expected {{"origins": [{{"day", "index", "hours"}}, ...]}} with at least one origin')
    n = len(series.values)
    origins: list[Origin] = []
    for number, item in enumerate(items, start=1):
        where = f'Invalid origins file "{path}" origin {number} {json.dumps(item)}'
        if not isinstance(item, dict) or not {"day", "index", "hours"} <= set(item):
            raise Failure(4, f'{where}: expected an object with "day", "index" and "hours"')
        day, index, hours = item["day"], item["index"], item["hours"]
        if not isinstance(day, str) or not day:
            raise Failure(4, f"{where}: day is not a non-empty string")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise Failure(4, f"{where}: index is not a non-negative integer")
        if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
            raise Failure(4, f"{where}: hours is not an integer 1 .. {MAX_HOURS}")
        if origins and index <= origins[-1].index:
            raise Failure(4, f"{where}: index is not after the previous origin's ({origins[-1].index})")
        if index + hours > n:
            raise Failure(2, f"{where}: its hours {index} .. {index + hours - 1} end after the series ({n} hours)")
        origins.append(Origin(day, index, hours))
    if len({o.day for o in origins}) != len(origins):
        raise Failure(4, f'Invalid origins file "{path}": a day appears twice')
    return origins


# --------------------------------------------------------------------------- models

_shown_warnings: set[tuple[type, str]] = set()


@contextmanager
def quiet_sktime():
    """Drops sktime 1.2's notice that ``remember_data`` changes default in 1.3 (every forecaster
    and every clone of one warns, and sktime re-enables FutureWarnings inside fit, so a filter
    does not hold); any other warning is shown once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        key = (w.category, str(w.message))
        if "remember_data" in key[1] or key in _shown_warnings:
            continue
        _shown_warnings.add(key)
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def seed_model(series: Series, index: str):
    """The original forecaster, refitted at every origin on a pandas Series of y[:o]."""
    import numpy as np
    import pandas as pd
    from sklearn.neighbors import KNeighborsRegressor
    from sktime.forecasting.base import ForecastingHorizon
    from sktime.forecasting.compose import make_reduction

    if index == "period":
        full_index = pd.period_range(start=series.start.replace(tzinfo=None), periods=len(series.values), freq="h")
    else:
        full_index = pd.RangeIndex(len(series.values))
    horizons: dict[int, ForecastingHorizon] = {}

    def forecast(o: int, hours: int) -> "np.ndarray":
        if hours not in horizons:
            horizons[hours] = ForecastingHorizon(np.arange(1, hours + 1), is_relative=True)
        y = pd.Series(series.values[:o], index=full_index[:o], name="messages")
        with quiet_sktime():
            forecaster = make_reduction(KNeighborsRegressor(n_neighbors=1), window_length=WINDOW, strategy="recursive")
            forecaster.fit(y, fh=horizons[hours])
            return np.asarray(forecaster.predict(), dtype=np.float64)

    return forecast


def baseline(name: str, values: "np.ndarray"):
    import numpy as np

    def lagged_days(o: int, hours: int, days: int) -> "np.ndarray":  # rows d = 1..days: y[o-24d+(h mod 24)]
        profile = np.arange(hours) % 24
        return np.stack([values[o - 24 * d + profile] for d in range(1, days + 1)])

    return {
        "zeros": lambda o, hours: np.zeros(hours),
        "naive_day": lambda o, hours: lagged_days(o, hours, 1)[0],
        "naive_week": lambda o, hours: values[o - 168 : o - 168 + hours].copy(),
        "median_7d": lambda o, hours: np.median(lagged_days(o, hours, 7), axis=0),
        "mean_14d": lambda o, hours: np.mean(lagged_days(o, hours, 14), axis=0),
    }[name]


# --------------------------------------------------------------------------- scoring


def scores(values: "np.ndarray", origins: list[Origin], forecasts: list["np.ndarray"]) -> dict:
    import numpy as np
    from sktime.performance_metrics.forecasting import (
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_absolute_scaled_error,
        mean_squared_error,
    )

    rows = []
    for (_, o, hours), f in zip(origins, forecasts):
        y = values[o : o + hours]
        rows.append(
            (
                mean_absolute_percentage_error(y, f, symmetric=True),
                mean_absolute_error(y, f),
                mean_squared_error(y, f, square_root=True),
                mean_absolute_scaled_error(y, f, y_train=values[:o], sp=24),
            )
        )
    means = np.mean(np.asarray(rows, dtype=np.float64), axis=0)
    return dict(zip(("smape", "mae", "rmse", "mase"), (float(v) for v in means)))


def coverage(values: "np.ndarray", origins: list[Origin], lo: list["np.ndarray"], hi: list["np.ndarray"]) -> float:
    """Mean over origins of the share of the day's hours inside [lo, hi]."""
    import numpy as np

    shares = [np.mean((values[o : o + h] >= l) & (values[o : o + h] <= u)) for (_, o, h), l, u in zip(origins, lo, hi)]
    return float(np.mean(shares))


# --------------------------------------------------------------------------- peers
#
# Work units run in worker processes (or in this one with --workers 1). A unit is
# (model, positions in the origin list, their indices, extra settings) and returns the raw
# 25-hour mean, lo and hi per origin and its own wall-clock seconds.

_worker: dict = {}


class Unit(NamedTuple):
    model: str
    positions: tuple[int, ...]
    indices: tuple[int, ...]
    settings: dict


class UnitResult(NamedTuple):
    model: str
    positions: tuple[int, ...]
    mean: "np.ndarray"  # (origins, 25)
    lo: "np.ndarray"
    hi: "np.ndarray"
    seconds: float  # wall-clock
    cpu_seconds: float  # this process's CPU time (what the unit costs on a busy machine)
    settings: dict


def _init_worker(values: "np.ndarray", hour: "np.ndarray", weekday: "np.ndarray") -> None:
    """Keeps the series and the chat's clock (extended by a day past the end of the series, for
    the date features of the last forecasts), imports the libraries and compiles statsforecast's
    numba code on a small series, so that no unit pays for it."""
    import numpy as np

    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    extra = np.arange(1, PEER_H + 1)
    after = hour[-1] + extra
    _worker["values"] = np.asarray(values, dtype=np.float64)
    _worker["hour"] = np.concatenate([hour, after % 24])
    _worker["weekday"] = np.concatenate([weekday, (weekday[-1] + after // 24) % 7])
    rng = np.random.default_rng(0)
    toy = rng.poisson(np.tile(np.r_[np.zeros(8), np.full(16, 2.0)], 30)).astype(np.float64)
    for name in PEERS:
        if name.startswith("sf_"):
            _sf_model(name, {"alpha_d": 0.1, "alpha_p": 0.1}).forecast(y=toy, h=PEER_H, level=[LEVEL])
    import lightgbm  # noqa: F401
    import mlforecast  # noqa: F401


def _sf_model(name: str, settings: dict):
    from statsforecast.models import ADIDA, IMAPA, TSB, AutoETS, CrostonOptimized, HistoricAverage, SeasonalNaive
    from statsforecast.utils import ConformalIntervals

    conformal = ConformalIntervals(h=PEER_H, n_windows=CONFORMAL_WINDOWS)
    if name == "sf_seasonal_naive":
        return SeasonalNaive(season_length=24)
    if name == "sf_historic_average":
        return HistoricAverage()
    if name == "sf_auto_ets":
        return AutoETS(season_length=24)
    if name == "sf_croston_optimized":
        return CrostonOptimized(prediction_intervals=conformal)
    if name == "sf_tsb":
        return TSB(alpha_d=settings["alpha_d"], alpha_p=settings["alpha_p"], prediction_intervals=conformal)
    if name == "sf_adida":
        return ADIDA(prediction_intervals=conformal)
    if name == "sf_imapa":
        return IMAPA(prediction_intervals=conformal)
    raise ValueError(name)


def _tsb_alphas(values: "np.ndarray", first: int) -> dict:
    """TSB's smoothing parameters: the grid point with the least mean squared error of 24-hour
    forecasts at up to 56 daily origins before the first origin (data before it only)."""
    import numpy as np
    from statsforecast.models import TSB

    tuning = [first - 24 * k for k in range(1, TSB_TUNING_DAYS + 1) if first - 24 * k >= 7 * 24]
    if len(tuning) < 7:
        return {"alpha_d": 0.1, "alpha_p": 0.1, "tuning_origins": len(tuning), "tuning_mse": None}
    best = None
    for alpha_d in TSB_GRID:
        for alpha_p in TSB_GRID:
            model = TSB(alpha_d=alpha_d, alpha_p=alpha_p)
            errors = [np.mean((model.forecast(y=values[:o], h=24)["mean"] - values[o : o + 24]) ** 2) for o in tuning]
            mse = float(np.mean(errors))
            if best is None or mse < best[0]:
                best = (mse, alpha_d, alpha_p)
    return {"alpha_d": best[1], "alpha_p": best[2], "tuning_origins": len(tuning), "tuning_mse": best[0]}


def _mlf_model():
    import lightgbm as lgb
    import numpy as np
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, SeasonalRollingMean

    hour, weekday = _worker["hour"], _worker["weekday"]

    # Date features from the integer time (the row index): the chat's local clock.
    def local_hour(ds):
        return hour[np.asarray(ds, dtype=np.int64)]

    def local_weekday(ds):
        return weekday[np.asarray(ds, dtype=np.int64)]

    regressor = lgb.LGBMRegressor(
        objective="tweedie",
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=0,
        n_jobs=1,
        verbosity=-1,
    )
    return MLForecast(
        models={"lgbm": regressor},
        freq=1,
        lags=[1, 2, 3, 24, 48, 72, 168, 336],
        lag_transforms={
            1: [RollingMean(window_size=24)],
            24: [SeasonalRollingMean(season_length=24, window_size=7)],
            168: [SeasonalRollingMean(season_length=168, window_size=4)],
        },
        date_features=[local_hour, local_weekday],
    )


def _frame(start: int, end: int) -> "pd.DataFrame":
    import numpy as np
    import pandas as pd

    return pd.DataFrame({"unique_id": "chat", "ds": np.arange(start, end, dtype=np.int64), "y": _worker["values"][start:end]})


def run_unit(unit: Unit) -> UnitResult:
    try:
        return _run_unit(unit)
    except Exception as error:  # named, and picklable back to the main process
        where = f"origins {unit.indices[0]} .. {unit.indices[-1]}"
        raise RuntimeError(f"model {unit.model} failed ({where}): {type(error).__name__}: {error}") from None


def _run_unit(unit: Unit) -> UnitResult:
    import numpy as np

    started, cpu_started = time.perf_counter(), time.process_time()
    values = _worker["values"]
    settings = dict(unit.settings)
    k = len(unit.indices)
    mean, lo, hi = (np.empty((k, PEER_H)) for _ in range(3))
    lo_key, hi_key = f"lo-{LEVEL}", f"hi-{LEVEL}"
    if unit.model.startswith("sf_"):
        if unit.model == "sf_tsb":
            settings.update(_tsb_alphas(values, unit.indices[0]))
        model = _sf_model(unit.model, settings)
        start = max(0, unit.indices[0] - ETS_WINDOW)
        for i, o in enumerate(unit.indices):
            if unit.model != "sf_auto_ets":
                result = model.forecast(y=values[:o], h=PEER_H, level=[LEVEL])
            elif i == 0:  # a week's fit on the 8 weeks before its first origin
                result = model.fit(values[start:o]).predict(h=PEER_H, level=[LEVEL])
            else:  # the fitted model run over its window and the hours since
                result = model.forward(y=values[start:o], h=PEER_H, level=[LEVEL])
            mean[i], lo[i], hi[i] = result["mean"], result[lo_key], result[hi_key]
    elif unit.model == "mlf_lgbm_tweedie":
        from mlforecast.utils import PredictionIntervals

        forecaster = _mlf_model()
        seen = unit.indices[0]
        forecaster.fit(_frame(0, seen), prediction_intervals=PredictionIntervals(n_windows=CONFORMAL_WINDOWS, h=PEER_H))
        for i, o in enumerate(unit.indices):
            if o > seen:
                forecaster.update(_frame(seen, o))
                seen = o
            result = forecaster.predict(h=PEER_H, level=[LEVEL])
            if result["ds"].iloc[0] != o:
                raise RuntimeError(f"mlforecast forecast starts at {result['ds'].iloc[0]}, expected {o}")
            mean[i], lo[i], hi[i] = (result[c].to_numpy() for c in ("lgbm", f"lgbm-{lo_key}", f"lgbm-{hi_key}"))
    else:
        raise ValueError(unit.model)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return UnitResult(unit.model, unit.positions, mean, lo, hi, seconds, cpu_seconds, settings)


def peer_units(peers: list[str], origins: list[Origin]) -> list[Unit]:
    """The work units: a week of origins for AutoETS and LightGBM (a fit and its forecasts), all
    origins for the others; the slowest kinds first."""
    positions = list(range(len(origins)))
    indices = [o.index for o in origins]

    def unit(model: str, chosen: list[int]) -> Unit:
        return Unit(model, tuple(chosen), tuple(indices[p] for p in chosen), {})

    # weekly blocks: a new fit after 7 origins, or at the first origin a week (167 hours or more: a
    # week with a clock change) after the fit's, when the origins are not consecutive days
    blocks: list[list[int]] = []
    for p in positions:
        if not blocks or len(blocks[-1]) == REFIT or indices[p] - indices[blocks[-1][0]] >= REFIT * 24 - 1:
            blocks.append([])
        blocks[-1].append(p)

    def weeks(name: str) -> list[Unit]:
        return [unit(name, block) for block in blocks] if name in peers else []

    # longest first: the single units (up to ~10 s), LightGBM weeks (~3 s), AutoETS weeks (~0.7 s)
    singles = [unit(name, positions) for name in peers if name not in ("mlf_lgbm_tweedie", "sf_auto_ets")]
    return singles + weeks("mlf_lgbm_tweedie") + weeks("sf_auto_ets")


PEER_SETTINGS = {
    "sf_seasonal_naive": "statsforecast SeasonalNaive(season_length=24).forecast(y=y[:o], h=25, level=[80]); native intervals",
    "sf_historic_average": "statsforecast HistoricAverage().forecast(y=y[:o], h=25, level=[80]); native intervals",
    "sf_auto_ets": "statsforecast AutoETS(season_length=24): fit(y[o-1344:o]) + predict(h=25, level=[80]) every 7 origins, "
    "forward(y=y[o'-1344:o], h=25, level=[80]) from that fit (o') in between; native intervals",
    "sf_croston_optimized": "statsforecast CrostonOptimized(prediction_intervals=ConformalIntervals(h=25, n_windows=14))"
    ".forecast(y=y[:o], h=25, level=[80])",
    "sf_tsb": "statsforecast TSB(alpha_d, alpha_p, prediction_intervals=ConformalIntervals(h=25, n_windows=14))"
    ".forecast(y=y[:o], h=25, level=[80]); alphas from the grid {0.01,0.02,0.05,0.1,0.2,0.3}^2 by the MSE of 24-h "
    "forecasts at the 56 daily origins before the first origin",
    "sf_adida": "statsforecast ADIDA(prediction_intervals=ConformalIntervals(h=25, n_windows=14)).forecast(y=y[:o], h=25, level=[80])",
    "sf_imapa": "statsforecast IMAPA(prediction_intervals=ConformalIntervals(h=25, n_windows=14)).forecast(y=y[:o], h=25, level=[80])",
    "mlf_lgbm_tweedie": "mlforecast MLForecast(LGBMRegressor(objective='tweedie', n_estimators=300, learning_rate=0.05, "
    "num_leaves=31, min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=0, n_jobs=1), "
    "freq=1, lags=[1,2,3,24,48,72,168,336], lag_transforms={1: [RollingMean(24)], 24: [SeasonalRollingMean(24, 7)], "
    "168: [SeasonalRollingMean(168, 4)]}, date_features=[local_hour, local_weekday]); fit on y[:o] every 7 origins "
    "with PredictionIntervals(n_windows=14, h=25), update() + predict(h=25, level=[80]) in between",
}


def run_peers(series: Series, origins: list[Origin], peers: list[str], workers: int) -> dict:
    """Every chosen peer on every origin: {name: {"seconds", "settings", "point", "lo", "hi",
    "clipped"}} with per-origin arrays of the day's hours (clipped at 0, lo <= hi)."""
    import numpy as np

    units = peer_units(peers, origins)
    initargs = (series.values, series.hour, series.weekday)
    results: list[UnitResult] = []
    try:
        if workers == 1:
            _init_worker(*initargs)
            results = [run_unit(u) for u in units]
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # one thread per worker: the workers are the parallelism
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
                os.environ.setdefault(var, "1")
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
                results = list(pool.map(run_unit, units))
    except RuntimeError as error:
        raise Failure(1, str(error))

    out: dict = {}
    for name in peers:
        mine = [r for r in results if r.model == name]
        mean = np.empty((len(origins), PEER_H))
        lo, hi = np.empty_like(mean), np.empty_like(mean)
        for r in mine:
            mean[list(r.positions)], lo[list(r.positions)], hi[list(r.positions)] = r.mean, r.lo, r.hi
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise Failure(1, f"model {name} produced a forecast that is not {PEER_H} finite numbers")
        settings = PEER_SETTINGS[name]
        if name == "sf_tsb":
            chosen = mine[0].settings
            settings += f"; chosen alpha_d={chosen['alpha_d']}, alpha_p={chosen['alpha_p']} ({chosen['tuning_origins']} tuning origins)"
        cut = [slice(0, o.hours) for o in origins]
        point = [np.maximum(mean[i, c], 0.0) for i, c in enumerate(cut)]
        upper = [np.maximum(hi[i, c], 0.0) for i, c in enumerate(cut)]
        lower = [np.minimum(np.maximum(lo[i, c], 0.0), upper[i]) for i, c in enumerate(cut)]
        out[name] = {
            "seconds": float(sum(r.seconds for r in mine)),
            "cpu_seconds": float(sum(r.cpu_seconds for r in mine)),
            "settings": settings,
            "point": point,
            "lo": lower,
            "hi": upper,
            "clipped": int(sum(np.count_nonzero(mean[i, c] < 0) for i, c in enumerate(cut))),
        }
    return out


def peer_versions() -> dict:
    from importlib.metadata import version

    names = ("statsforecast", "mlforecast", "lightgbm", "coreforecast", "utilsforecast", "numba", "numpy", "pandas", "scikit-learn", "scipy")
    return {"python": platform.python_version(), **{name: version(name) for name in names}}


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/reference.py",
        description="Rolling-origin backtest of the original KNN forecaster, baselines and library peers "
        "(one day ahead: the last N UTC days, or the origins of --origins).",
    )
    parser.add_argument("--series", required=True, type=Path, help="hourly series: hourly_counts.tsv or aggregate/hourly.tsv")
    parser.add_argument("--days", type=int, help="origins: the last N complete UTC days (default 300)")
    parser.add_argument(
        "--origins",
        type=Path,
        help='origins from a JSON file {"origins": [{"day": "2024-03-31", "index": ROW, "hours": 23|24|25}, ...]} instead of --days',
    )
    parser.add_argument(
        "--model",
        action="append",
        choices=MODELS + PEERS + ("peers",),
        help="a model to run; repeat for several; 'peers' is every peer (default: the original model and the "
        "baselines, and every peer with --peer-forecasts)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--forecasts", type=Path, help="write the seed model's forecasts as JSON {origin_day: [hours floats]}")
    parser.add_argument(
        "--peer-forecasts",
        type=Path,
        help='write the peers\' forecasts as JSON {"models": {name: {"seconds", "settings", "forecasts": '
        '{origin_day: {"point", "lo", "hi"}}}}, "versions": {...}}',
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for the peers (default 2; 1 runs them in this process)")
    parser.add_argument(
        "--index",
        choices=("period", "range"),
        default="period",
        help="the pandas index of the seed model's training series: hourly PeriodIndex (default) or RangeIndex",
    )
    args = parser.parse_args(argv)
    if args.days is not None and args.origins is not None:
        parser.error("argument --days: not allowed with --origins (the origins file sets the days)")
    if args.days is None:
        args.days = 300
    if args.days < 1:
        parser.error(f"argument --days: {args.days} is not a positive number of days")
    if args.workers < 1:
        parser.error(f"argument --workers: {args.workers} is not a positive number of processes")
    if args.model:
        chosen = [name for m in args.model for name in (PEERS if m == "peers" else (m,))]
    else:
        chosen = list(MODELS) + (list(PEERS) if args.peer_forecasts is not None else [])
    args.models = list(dict.fromkeys(chosen))
    if args.forecasts is not None and "seed" not in args.models:
        parser.error("argument --forecasts: needs the seed model (add --model seed)")
    if args.peer_forecasts is not None and not any(m in PEERS for m in args.models):
        parser.error("argument --peer-forecasts: needs a peer model (add --model peers or --model NAME)")
    return args


def run(args: argparse.Namespace) -> dict:
    import numpy as np
    import sklearn
    import sktime

    series = load_series(args.series)
    origins = load_origins(args.origins, series) if args.origins is not None else complete_day_origins(series, args.days)
    models = args.models
    first = origins[0]
    for name in models:
        if first.index < MIN_HISTORY[name]:
            what = f"--origins {args.origins}" if args.origins is not None else f"--days {args.days}"
            raise Failure(
                2,
                f"{what}: the first origin {first.day} has {first.index} hours of history, "
                f"model {name} needs {MIN_HISTORY[name]}",
            )

    result = {
        "days": len(origins),
        "origins": [o.day for o in origins],
        "models": {},
        "python": platform.python_version(),
        "sktime": sktime.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": __import__("pandas").__version__,
    }
    seed_forecasts = None
    for name in (m for m in models if m in MODELS):
        forecast = seed_model(series, args.index) if name == "seed" else baseline(name, series.values)
        clipped = 0
        forecasts = []
        started = time.perf_counter()
        for _, o, hours in origins:
            raw = forecast(o, hours)
            clipped += int(np.count_nonzero(raw < 0))
            forecasts.append(np.maximum(raw, 0.0))
        seconds = time.perf_counter() - started
        if any(f.shape != (o.hours,) or not np.all(np.isfinite(f)) for o, f in zip(origins, forecasts)):
            raise Failure(1, f"model {name} produced a forecast that is not one finite number per hour of its day")
        result["models"][name] = {**scores(series.values, origins, forecasts), "seconds": seconds, "clipped": clipped}
        if name == "seed":
            seed_forecasts = {o.day: [float(v) for v in f] for o, f in zip(origins, forecasts)}
    if args.forecasts is not None:
        args.forecasts.write_text(json.dumps(seed_forecasts, indent=None) + "\n", encoding="utf-8")

    peers = [m for m in models if m in PEERS]
    if peers:
        started = time.perf_counter()
        ran = run_peers(series, origins, peers, args.workers)
        wall = time.perf_counter() - started
        for name, p in ran.items():
            print(f"bench/reference.py: {name:<20} {p['seconds']:8.1f} s ({p['cpu_seconds']:.1f} s CPU)", file=sys.stderr)
        print(f"bench/reference.py: peers: {len(origins)} origins, {args.workers} worker(s), {wall:.1f} s wall-clock", file=sys.stderr)
        for name, p in ran.items():
            result["models"][name] = {
                **scores(series.values, origins, p["point"]),
                "cover80": coverage(series.values, origins, p["lo"], p["hi"]),
                "seconds": p["seconds"],
                "clipped": p["clipped"],
            }
        if args.peer_forecasts is not None:
            rounded = lambda a: [round(float(v), 6) for v in a]  # noqa: E731
            document = {
                "models": {
                    name: {
                        "seconds": round(p["seconds"], 3),
                        "cpu_seconds": round(p["cpu_seconds"], 3),
                        "settings": p["settings"],
                        "forecasts": {
                            o.day: {"point": rounded(p["point"][i]), "lo": rounded(p["lo"][i]), "hi": rounded(p["hi"][i])}
                            for i, o in enumerate(origins)
                        },
                    }
                    for name, p in ran.items()
                },
                "versions": peer_versions(),
            }
            args.peer_forecasts.write_text(json.dumps(document) + "\n", encoding="utf-8")
    return result


def table(result: dict, args: argparse.Namespace, total: float) -> str:
    origins = result["origins"]
    if args.origins is not None:
        what = f"{len(origins)} origins of {args.origins}, {origins[0]} .. {origins[-1]}, each day's hours ahead"
    else:
        what = f"{len(origins)} complete UTC days, {origins[0]} .. {origins[-1]}, 24 h ahead"
    peers = any(name in PEERS for name in result["models"])
    width = max([11] + [len(name) for name in result["models"]])
    lines = [
        f"series   {args.series}",
        f"origins  {what}, mean of per-origin scores",
        f"versions python {result['python']}, sktime {result['sktime']}, scikit-learn {result['sklearn']}, "
        f"pandas {result['pandas']}, numpy {result['numpy']}",
        "",
        f"{'model':<{width}} {'sMAPE':>7} {'MAE':>7} {'RMSE':>7} {'MASE':>7} {'seconds':>8} {'clipped':>7}" + (f" {'cover80':>7}" if peers else ""),
    ]
    for name, m in result["models"].items():
        lines.append(
            f"{name:<{width}} {m['smape']:7.4f} {m['mae']:7.4f} {m['rmse']:7.4f} {m['mase']:7.4f} "
            f"{m['seconds']:8.3f} {m['clipped']:7d}" + (f" {m['cover80']:7.4f}" if "cover80" in m else "")
        )
    lines += ["", f"total {total:.1f} s"]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # sktime and pandas deprecation notices are not results; keep stderr for real failures
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            result = run(args)
    except Failure as failure:
        print(f"bench/reference.py: {failure}", file=sys.stderr)
        return failure.code
    if args.json:
        print(json.dumps(result))
    else:
        print(table(result, args, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
