import { clockMap, type ChatDay, type ClockHour } from './calendar.js';
import { LEVELS, pointMass, summarise, type DayForecast } from './distribution.js';
import { ChatcastError } from './errors.js';
import { nearestDays, recursiveKnn, type DirectKnnParams, type RecursiveKnnParams } from './knn.js';

// The baselines every model must beat.
export const BASELINES = ['zeros', 'naive_day', 'naive_week', 'median_7d', 'mean_14d'] as const;
export type Baseline = (typeof BASELINES)[number];

// A different family from the KNN: the chat's recent days themselves, weighted by recency and by
// whether they fall on the same weekday, optionally rescaled to the chat's current level.
export interface ProfileParams {
  model: 'profile';
  days: number; // how far back analogue days go
  halflife: number; // days after which a day's weight halves
  weekday: number; // weight of a day on another weekday, relative to the same weekday (0…1)
  level: boolean; // rescale each day by the chat's last week against the week before that day
  jitter?: number; // hours on either side of the clock hour an analogue day also lends
}

// Several analogue models at once: their analogue days pooled, each model's weights scaled to its share.
export interface PoolParams {
  model: 'pool';
  members: { share: number; spec: DirectKnnParams | ProfileParams }[];
}

// A forecaster: one of the KNNs, the profile, a pool of them, or a baseline.
export type ModelSpec = DirectKnnParams | RecursiveKnnParams | ProfileParams | PoolParams | { model: Baseline };

// A day to forecast: its chat day, the hours of its clock, and where its history ends in the series.
export interface Target {
  day: string;
  end: number; // only values[0, end) may be used
  hours: ClockHour[];
}

// Hours of history a model needs before a target.
export function historyNeeded(spec: ModelSpec): number {
  switch (spec.model) {
    case 'knn_recursive':
      return spec.window + spec.k;
    case 'knn_direct':
      return spec.window + 48 + (spec.level ? 24 * 7 : 0);
    case 'profile':
      // A day a week back when only the same weekday counts; a week before the oldest day with level.
      return 24 * Math.max(spec.weekday === 0 ? 7 : 1, spec.level ? 8 : 1);
    case 'pool':
      return Math.max(...spec.members.map((m) => historyNeeded(m.spec)));
    case 'zeros':
      return 0;
    case 'naive_day':
      return 24;
    case 'naive_week':
      return 168;
    case 'median_7d':
      return 24 * 7;
    case 'mean_14d':
      return 24 * 14;
  }
}

// Weighted analogue days of a target: positions in `days`, weights, and factors their counts are scaled by.
interface Analogues {
  days: number[];
  weights: number[];
  scales?: number[];
  jitters?: number[]; // hours on either side each day also lends (see fromAnalogues)
}

// The days that ended before a target, i.e. before its history's end.
function daysBefore(days: ChatDay[], end: number): number {
  let lo = 0;
  let hi = days.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (days[mid].start + days[mid].hours.length <= end) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// The forecast day that weighted analogue days give: hour by hour their counts at the same clock
// hour, and their day totals for the 80% range of the total.
function fromAnalogues(values: ArrayLike<number>, days: ChatDay[], target: Target, a: Analogues, withPoint: boolean): DayForecast {
  const maps = a.days.map((d) => clockMap(target.hours, days[d].hours));
  const scale = (i: number) => a.scales?.[i] ?? 1;
  // With jitter, an analogue day also lends the hours next to the clock hour (half the weight on the
  // hour itself, the rest spread evenly), so a discussion that came an hour early still counts.
  const spreads = new Map<number, number[]>();
  const spreadOf = (jitter: number) => {
    if (!spreads.has(jitter)) spreads.set(jitter, jitter > 0 ? Array.from({ length: 2 * jitter + 1 }, (_, o) => (o === jitter ? 0.5 : 0.5 / (2 * jitter))) : [1]);
    return spreads.get(jitter)!;
  };
  const n = a.days.length;
  const jitters = Int32Array.from(a.days, (_, i) => a.jitters?.[i] ?? 0);
  const scales = Float64Array.from(a.days, (_, i) => scale(i));
  const width = Math.max(1, ...Array.from(jitters, (j) => 2 * j + 1));
  const perHour = target.hours.map((_, h) => {
    const vs = new Float64Array(n * width);
    const ws = new Float64Array(n * width);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const j = maps[i][h];
      if (j < 0) continue;
      const day = days[a.days[i]];
      const spread = spreadOf(jitters[i]);
      for (let o = 0; o < spread.length; o++) {
        const at = j + o - jitters[i];
        if (at < 0 || at >= day.hours.length) continue;
        vs[m] = values[day.start + at] * scales[i];
        ws[m] = a.weights[i] * spread[o];
        m++;
      }
    }
    return { values: vs.subarray(0, m), weights: ws.subarray(0, m) };
  });
  // An hour no analogue day has (every one of them a spring day without its 02:00) is lent by the hour
  // before it, or after it at midnight.
  perHour.forEach((s, h) => {
    if (s.values.length > 0) return;
    const near = [h - 1, h + 1].find((n) => perHour[n]?.values.length);
    if (near === undefined) throw new ChatcastError('STATE', `No past day has the hours around ${target.hours[h].local} of ${target.day}`);
    perHour[h] = perHour[near];
  });
  // A day that lacks an hour of the target (the spring gap) gets that hour's mean in its total.
  const hourMean = perHour.map((s) => {
    const w = s.weights.reduce((x, y) => x + y, 0);
    return w > 0 ? s.values.reduce((x, v, i) => x + v * s.weights[i], 0) / w : 0;
  });
  const totals = Float64Array.from(a.days, (d, i) => target.hours.reduce((sum, _, h) => sum + (maps[i][h] >= 0 ? values[days[d].start + maps[i][h]] * scale(i) : hourMean[h]), 0));
  return summarise(target.hours.length, (h) => perHour[h], { values: totals, weights: Float64Array.from(a.weights) }, withPoint);
}

const weekdayOf = (day: string) => new Date(`${day}T00:00:00Z`).getUTCDay();

// Messages in the week before day index `d` (the chat's level then).
function weekBefore(values: ArrayLike<number>, days: ChatDay[], d: number): number {
  const first = Math.max(0, d - 7);
  if (first >= d) return 0;
  let sum = 0;
  for (let i = days[first].start; i < days[d - 1].start + days[d - 1].hours.length; i++) sum += values[i];
  return sum;
}

// A level factor: how many more messages the chat had in the week before the target than in the week
// before an analogue day. The pseudo-count keeps a quiet chat's few messages from swinging it (a busy
// chat's thousands make it exact), and no factor goes beyond 4 either way.
const PSEUDO_MESSAGES = 100;
function levelFactor(values: ArrayLike<number>, days: ChatDay[], target: number, analogue: number): number {
  if (analogue < 7) return 1;
  const f = (weekBefore(values, days, target) + PSEUDO_MESSAGES) / (weekBefore(values, days, analogue) + PSEUDO_MESSAGES);
  return Math.min(4, Math.max(0.25, f));
}

function profileAnalogues(values: ArrayLike<number>, days: ChatDay[], target: Target, p: ProfileParams): Analogues {
  const before = daysBefore(days, target.end);
  const weekday = weekdayOf(target.day);
  const out: Analogues = { days: [], weights: [], scales: p.level ? [] : undefined };
  for (let d = before - 1; d >= Math.max(0, before - p.days); d--) {
    const age = before - d;
    const w = Math.pow(0.5, (age - 1) / p.halflife) * (weekdayOf(days[d].day) === weekday ? 1 : p.weekday);
    if (w <= 0) continue;
    out.days.push(d);
    out.weights.push(w);
    if (p.level) {
      out.scales!.push(levelFactor(values, days, before, d));
    }
  }
  if (out.days.length === 0) throw new ChatcastError('STATE', `No past day to forecast ${target.day} from`);
  return out;
}

// The value at the same clock hour `back` days before the target; where that day lacks the hour (the
// spring gap), the value 24·back hours before it.
function sameClockHour(values: ArrayLike<number>, days: ChatDay[], target: Target, before: number, back: number): Float64Array {
  const d = before - back;
  const map = clockMap(target.hours, days[d].hours);
  return Float64Array.from(target.hours, (_, h) => {
    const j = map[h];
    const at = j >= 0 ? days[d].start + j : target.end + h - 24 * back;
    return values[Math.max(0, at)];
  });
}

function baseline(name: Baseline, values: ArrayLike<number>, days: ChatDay[], target: Target, withPoint: boolean): DayForecast {
  const before = daysBefore(days, target.end);
  const hours = target.hours.length;
  switch (name) {
    case 'zeros':
      return pointMass(new Float64Array(hours));
    case 'naive_day':
      return pointMass(sameClockHour(values, days, target, before, 1));
    case 'naive_week':
      return pointMass(sameClockHour(values, days, target, before, 7));
    case 'median_7d':
    case 'mean_14d': {
      // One number per hour (the median of 7 days, the mean of 14) is the point, median and mean; the
      // band is its sample's 10% and 90% quantiles.
      const n = name === 'median_7d' ? 7 : 14;
      const d = Array.from({ length: n }, (_, i) => before - 1 - i);
      const f = fromAnalogues(values, days, target, { days: d, weights: d.map(() => 1) }, withPoint);
      const centre = Float64Array.from(target.hours, (_, h) => {
        const sample = d.map((x) => clockMap(target.hours, days[x].hours)[h]).flatMap((j, i) => (j >= 0 ? [values[days[d[i]].start + j]] : [])).sort((a, b) => a - b);
        return name === 'median_7d' ? linearQuantile(sample, 0.5) : sample.reduce((s, v) => s + v, 0) / sample.length;
      });
      return { ...f, mean: centre, median: centre, point: Float64Array.from(centre), total: { ...f.total, mean: centre.reduce((s, v) => s + v, 0) } };
    }
  }
}

// The analogue days of each target for the analogue models.
function analoguesOf(spec: DirectKnnParams | ProfileParams | PoolParams, values: ArrayLike<number>, days: ChatDay[], targets: Target[]): Analogues[] {
  switch (spec.model) {
    case 'knn_direct': {
      const nearest = nearestDays(values, days.map((d) => d.start), days.map((d) => d.hours.length), targets.map((t) => t.end), spec);
      return targets.map((t, i) => {
        if (nearest[i].length === 0) throw new ChatcastError('STATE', `No past day of ${t.hours.length} hours before ${t.day}: the direct KNN needs at least one`);
        const chosen = Array.from(nearest[i]);
        const jitters = chosen.map(() => spec.jitter ?? 0);
        if (!spec.level) return { days: chosen, weights: chosen.map(() => 1), jitters };
        const before = daysBefore(days, t.end);
        return { days: chosen, weights: chosen.map(() => 1), jitters, scales: chosen.map((d) => levelFactor(values, days, before, d)) };
      });
    }
    case 'profile':
      return targets.map((t) => {
        const a = profileAnalogues(values, days, t, spec);
        return { ...a, jitters: a.days.map(() => spec.jitter ?? 0) };
      });
    case 'pool': {
      const parts = spec.members.map((m) => analoguesOf(m.spec, values, days, targets));
      return targets.map((_, i) => {
        const out: Analogues = { days: [], weights: [], scales: [], jitters: [] };
        spec.members.forEach((m, j) => {
          const a = parts[j][i];
          const sum = a.weights.reduce((x, y) => x + y, 0);
          a.days.forEach((d, n) => {
            out.days.push(d);
            out.weights.push((m.share * a.weights[n]) / sum);
            out.scales!.push(a.scales?.[n] ?? 1);
            out.jitters!.push(a.jitters?.[n] ?? 0);
          });
        });
        return out;
      });
    }
  }
}

// numpy's default ("linear") quantile of a sorted sample: how the baselines' medians are defined.
export function linearQuantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

// Forecasts each target day with one model. Batched where the model is (the KNNs: one matrix product
// for all targets), so a backtest over hundreds of days costs about as much as one day. `withPoint`
// false skips the sMAPE-optimal point (not needed to choose a model).
export function forecastTargets(spec: ModelSpec, values: ArrayLike<number>, days: ChatDay[], targets: Target[], withPoint = true): DayForecast[] {
  const need = historyNeeded(spec);
  const short = targets.find((t) => t.end < need);
  if (short !== undefined) {
    throw new ChatcastError('STATE', `Model ${spec.model} needs ${need} hours of history before ${short.day}, got ${short.end}`);
  }
  switch (spec.model) {
    case 'knn_recursive': {
      const horizon = Math.max(...targets.map((t) => t.hours.length));
      const paths = recursiveKnn(values, targets.map((t) => t.end), horizon, spec);
      return paths.map((p, i) => pointMass(p.subarray(0, targets[i].hours.length)));
    }
    case 'knn_direct':
    case 'profile':
    case 'pool': {
      const analogues = analoguesOf(spec, values, days, targets);
      return targets.map((t, i) => fromAnalogues(values, days, t, analogues[i], withPoint));
    }
    default:
      return targets.map((t) => baseline(spec.model as Baseline, values, days, t, withPoint));
  }
}

// The target of every day in a series from `first` on (its own hours; history before its start).
export function dayTargets(days: ChatDay[], first = 0): Target[] {
  return days.slice(first).map((d) => ({ day: d.day, end: d.start, hours: d.hours }));
}

export { LEVELS };
