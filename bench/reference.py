#!/usr/bin/env python3
"""Reference backtest: the original system's forecaster and simple baselines, in Python.

The TypeScript backtest implements the same protocol; this script gives the numbers (and the
seed model's forecasts) to compare it with, scores and speed, in one benchmark run.

Protocol (rolling origin, 24 hours ahead):
  * origins: the last N complete UTC days of the series (all 24 hours present); origin o is the
    index of that day's 00:00 UTC hour;
  * every model sees only y[:o] and forecasts the 24 hours o .. o+23; forecasts are clipped at 0;
  * per origin: sMAPE (sktime ``mean_absolute_percentage_error(symmetric=True)``: a fraction,
    2|y-f|/(|y|+|f|), 0 where both are 0), MAE, RMSE and MASE (sktime
    ``mean_absolute_scaled_error(sp=24, y_train=y[:o])``: MAE over the in-sample
    same-hour-yesterday naive MAE);
  * a model's score is the mean over origins of its per-origin scores;
  * seconds: wall-clock for all origins, in this process (for ``seed``: build, fit and predict).

Models:
  seed        make_reduction(KNeighborsRegressor(n_neighbors=1), window_length=168,
              strategy="recursive"), refitted at every origin on y[:o], fh = 1..24
  zeros       0 for every hour
  naive_day   y[o-24+h]
  naive_week  y[o-168+h]
  median_7d   median of y[o-24d+h], d = 1..7
  mean_14d    mean of y[o-24d+h], d = 1..14

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
"rmse", "mase", "seconds", "clipped"}}, "python", "sktime", "sklearn", "numpy", "pandas"}.

Series formats (tab-separated, header first, consecutive UTC hours):
  datetime  txt_cnt                           the original system's all_messages_cnt.csv
  start  day  local  offset  messages         chatcast's aggregate/hourly.tsv

Exit codes: 0 ok, 2 bad usage (including --days needing more history than the series has),
4 malformed series file, 6 series file missing.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

HORIZON = 24
WINDOW = 168
MODELS = ("seed", "zeros", "naive_day", "naive_week", "median_7d", "mean_14d")
# Hours of history each model needs before an origin.
MIN_HISTORY = {
    "seed": WINDOW + 1,  # one pattern and the hour after it
    "zeros": 0,
    "naive_day": 24,
    "naive_week": 168,
    "median_7d": 7 * 24,
    "mean_14d": 14 * 24,
}
FORMATS = {
    "datetime\ttxt_cnt": ("datetime", 2, 0, 1),  # name, fields, time column, count column
    "start\tday\tlocal\toffset\tmessages": ("aggregate", 5, 0, 4),
}
HOUR = timedelta(hours=1)
COUNT = re.compile(r"^[0-9]+$")


class Failure(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- series


@dataclass
class Series:
    start: datetime  # UTC instant of the first hour
    values: "np.ndarray"  # float64 counts, one per consecutive hour


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
    _, fields, time_col, count_col = FORMATS[header]

    def bad(number: int, line: str, rule: str) -> Failure:
        return Failure(4, f'Invalid series file "{path}" line {number} {line!r}: {rule}')

    values: list[int] = []
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
        if instant.minute or instant.second or instant.microsecond:
            raise bad(number, line, f'time "{stamp}" is not the start of an hour')
        if previous is not None and instant != previous + HOUR:
            what = "a gap" if instant > previous + HOUR else "out of order or a duplicate"
            raise bad(number, line, f"{what}: expected the hour after {previous:%Y-%m-%dT%H:%MZ}")
        if not COUNT.match(count):
            raise bad(number, line, f'count "{count}" is not a non-negative integer')
        values.append(int(count))
        first = first or instant
        previous = instant
    if not values:
        raise Failure(4, f'Invalid series file "{path}": no hours after the header')
    return Series(start=first, values=np.asarray(values, dtype=np.float64))


def complete_day_origins(series: Series, days: int) -> list[tuple[str, int]]:
    """The last `days` complete UTC days as (YYYY-MM-DD, index of their 00:00 hour)."""
    n = len(series.values)
    skip = (24 - series.start.hour) % 24  # hours before the first UTC midnight
    origins = []
    o = skip
    while o + 24 <= n:
        origins.append(((series.start + o * HOUR).strftime("%Y-%m-%d"), o))
        o += 24
    if len(origins) < days:
        raise Failure(2, f"--days {days}: the series has only {len(origins)} complete UTC days")
    return origins[len(origins) - days :]


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
    fh = ForecastingHorizon(np.arange(1, HORIZON + 1), is_relative=True)

    def forecast(o: int) -> "np.ndarray":
        y = pd.Series(series.values[:o], index=full_index[:o], name="messages")
        with quiet_sktime():
            forecaster = make_reduction(KNeighborsRegressor(n_neighbors=1), window_length=WINDOW, strategy="recursive")
            forecaster.fit(y, fh=fh)
            return np.asarray(forecaster.predict(), dtype=np.float64)

    return forecast


def baseline(name: str, values: "np.ndarray"):
    import numpy as np

    def lagged_days(o: int, days: int) -> "np.ndarray":  # rows d = 1..days: y[o-24d .. o-24d+23]
        return np.stack([values[o - 24 * d : o - 24 * d + HORIZON] for d in range(1, days + 1)])

    return {
        "zeros": lambda o: np.zeros(HORIZON),
        "naive_day": lambda o: values[o - 24 : o - 24 + HORIZON].copy(),
        "naive_week": lambda o: values[o - 168 : o - 168 + HORIZON].copy(),
        "median_7d": lambda o: np.median(lagged_days(o, 7), axis=0),
        "mean_14d": lambda o: np.mean(lagged_days(o, 14), axis=0),
    }[name]


# --------------------------------------------------------------------------- scoring


def scores(values: "np.ndarray", origins: list[tuple[str, int]], forecasts: list["np.ndarray"]) -> dict:
    import numpy as np
    from sktime.performance_metrics.forecasting import (
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_absolute_scaled_error,
        mean_squared_error,
    )

    rows = []
    for (_, o), f in zip(origins, forecasts):
        y = values[o : o + HORIZON]
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


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/reference.py",
        description="Rolling-origin backtest of the original KNN forecaster and baselines (24 h ahead, UTC days).",
    )
    parser.add_argument("--series", required=True, type=Path, help="hourly series: hourly_counts.tsv or aggregate/hourly.tsv")
    parser.add_argument("--days", type=int, default=300, help="origins: the last N complete UTC days (default 300)")
    parser.add_argument("--model", action="append", choices=MODELS, help="a model to run; repeat for several (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--forecasts", type=Path, help="write the seed model's forecasts as JSON {origin_day: [24 floats]}")
    parser.add_argument(
        "--index",
        choices=("period", "range"),
        default="period",
        help="the pandas index of the seed model's training series: hourly PeriodIndex (default) or RangeIndex",
    )
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error(f"argument --days: {args.days} is not a positive number of days")
    if args.forecasts is not None and "seed" not in (args.model or MODELS):
        parser.error("argument --forecasts: needs the seed model (add --model seed)")
    return args


def run(args: argparse.Namespace) -> dict:
    import numpy as np
    import sklearn
    import sktime

    series = load_series(args.series)
    origins = complete_day_origins(series, args.days)
    models = list(dict.fromkeys(args.model or MODELS))
    first_day, first_o = origins[0]
    for name in models:
        if first_o < MIN_HISTORY[name]:
            raise Failure(
                2,
                f"--days {args.days}: the first origin {first_day} has {first_o} hours of history, "
                f"model {name} needs {MIN_HISTORY[name]}",
            )

    result = {
        "days": args.days,
        "origins": [day for day, _ in origins],
        "models": {},
        "python": platform.python_version(),
        "sktime": sktime.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": __import__("pandas").__version__,
    }
    seed_forecasts = None
    for name in models:
        forecast = seed_model(series, args.index) if name == "seed" else baseline(name, series.values)
        clipped = 0
        forecasts = []
        started = time.perf_counter()
        for _, o in origins:
            raw = forecast(o)
            clipped += int(np.count_nonzero(raw < 0))
            forecasts.append(np.maximum(raw, 0.0))
        seconds = time.perf_counter() - started
        if any(f.shape != (HORIZON,) or not np.all(np.isfinite(f)) for f in forecasts):
            raise Failure(1, f"model {name} produced a forecast that is not {HORIZON} finite numbers")
        result["models"][name] = {**scores(series.values, origins, forecasts), "seconds": seconds, "clipped": clipped}
        if name == "seed":
            seed_forecasts = {day: [float(v) for v in f] for (day, _), f in zip(origins, forecasts)}
    if args.forecasts is not None:
        args.forecasts.write_text(json.dumps(seed_forecasts, indent=None) + "\n", encoding="utf-8")
    return result


def table(result: dict, series: Path, total: float) -> str:
    origins = result["origins"]
    lines = [
        f"series   {series}",
        f"origins  {len(origins)} complete UTC days, {origins[0]} .. {origins[-1]}, 24 h ahead, mean of per-origin scores",
        f"versions python {result['python']}, sktime {result['sktime']}, scikit-learn {result['sklearn']}, "
        f"pandas {result['pandas']}, numpy {result['numpy']}",
        "",
        f"{'model':<11} {'sMAPE':>7} {'MAE':>7} {'RMSE':>7} {'MASE':>7} {'seconds':>8} {'clipped':>7}",
    ]
    for name, m in result["models"].items():
        lines.append(
            f"{name:<11} {m['smape']:7.4f} {m['mae']:7.4f} {m['rmse']:7.4f} {m['mase']:7.4f} "
            f"{m['seconds']:8.3f} {m['clipped']:7d}"
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
        print(table(result, args.series, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
