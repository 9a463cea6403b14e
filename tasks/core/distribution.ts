// The quantile levels every forecast hour carries: 5%, 10%, …, 95%.
export const LEVELS = Array.from({ length: 19 }, (_, i) => Math.round((i + 1) * 5) / 100);
// Where the 10%, 50% and 90% quantiles sit in LEVELS.
export const Q10 = 1;
export const Q50 = 9;
export const Q90 = 17;

// One forecast day: per hour the predictive distribution's mean, P(0), quantiles at LEVELS and the
// sMAPE-optimal point, and the day's expected total with an 80% range.
export interface DayForecast {
  mean: Float64Array;
  median: Float64Array; // the 50% quantile (a baseline's own centre for the baselines)
  p0: Float64Array;
  q: Float64Array; // hour h, level l at h * LEVELS.length + l
  point: Float64Array;
  total: { mean: number; lo: number; hi: number };
}

// The τ-quantile of a weighted sample sorted by value: the smallest value whose cumulative weight
// reaches τ (the inverse CDF, so a quantile of counts is a count). Weights sum to 1.
export function weightedQuantile(sorted: ArrayLike<number>, weights: ArrayLike<number>, tau: number): number {
  let acc = 0;
  for (let i = 0; i < sorted.length; i++) {
    acc += weights[i];
    if (acc >= tau - 1e-9) return sorted[i];
  }
  return sorted[sorted.length - 1];
}

// Expected sMAPE (sktime's: 2|y − c| / (|y| + |c|), 0 when both are 0) of the point c under a
// weighted sample.
export function expectedSmape(sorted: ArrayLike<number>, weights: ArrayLike<number>, c: number): number {
  let e = 0;
  for (let i = 0; i < sorted.length; i++) {
    const y = sorted[i];
    const d = y + c;
    if (d > 0) e += (weights[i] * 2 * Math.abs(y - c)) / d;
  }
  return e;
}

// The point with the least expected sMAPE, searched among 0 and the distribution's quantiles (sMAPE
// is flat near its optimum): 0 for an hour that is probably silent, near the median for a busy one.
export function smapeOptimal(sorted: ArrayLike<number>, weights: ArrayLike<number>, quantiles: ArrayLike<number>): number {
  let best = 0;
  let bestLoss = expectedSmape(sorted, weights, 0);
  let previous = -1;
  for (let i = 0; i < quantiles.length; i++) {
    const c = quantiles[i];
    if (c <= 0 || c === previous) continue;
    previous = c;
    const loss = expectedSmape(sorted, weights, c);
    if (loss < bestLoss - 1e-12) {
      best = c;
      bestLoss = loss;
    }
  }
  return best;
}

// A forecast day from weighted analogue days: `sample(h)` gives hour h's values and weights
// (unsorted; weights need not sum to 1), `totals` each analogue's day total with its weight.
export function summarise(
  hours: number,
  sample: (h: number) => { values: Float64Array; weights: Float64Array },
  totals: { values: Float64Array; weights: Float64Array },
  withPoint = true,
): DayForecast {
  const L = LEVELS.length;
  const out: DayForecast = {
    mean: new Float64Array(hours),
    median: new Float64Array(hours),
    p0: new Float64Array(hours),
    q: new Float64Array(hours * L),
    point: new Float64Array(hours),
    total: { mean: 0, lo: 0, hi: 0 },
  };
  for (let h = 0; h < hours; h++) {
    const { values, weights } = normalised(sample(h));
    let mean = 0;
    let p0 = 0;
    for (let i = 0; i < values.length; i++) {
      mean += values[i] * weights[i];
      if (values[i] <= 0) p0 += weights[i];
    }
    out.mean[h] = mean;
    out.p0[h] = p0;
    for (let l = 0; l < L; l++) out.q[h * L + l] = weightedQuantile(values, weights, LEVELS[l]);
    out.median[h] = out.q[h * L + Q50];
    if (withPoint) out.point[h] = smapeOptimal(values, weights, out.q.subarray(h * L, (h + 1) * L));
  }
  const t = normalised(totals);
  out.total = {
    mean: out.mean.reduce((s, v) => s + v, 0),
    lo: weightedQuantile(t.values, t.weights, 0.1),
    hi: weightedQuantile(t.values, t.weights, 0.9),
  };
  return out;
}

// A point forecast as a distribution: every quantile, the mean and the point are the value.
export function pointMass(values: ArrayLike<number>): DayForecast {
  const L = LEVELS.length;
  const hours = values.length;
  const v = Float64Array.from(values, (x) => Math.max(0, x));
  const q = new Float64Array(hours * L);
  for (let h = 0; h < hours; h++) q.fill(v[h], h * L, (h + 1) * L);
  const total = v.reduce((s, x) => s + x, 0);
  return { mean: v, median: Float64Array.from(v), p0: v.map((x) => (x <= 0 ? 1 : 0)), q, point: Float64Array.from(v), total: { mean: total, lo: total, hi: total } };
}

// Sorted by value, equal values merged, weights scaled to sum to 1 (counts repeat a lot: merging
// first makes every pass after it short). Whole counts below 1,024 are merged by a table, others by
// a map and a sort.
const TABLE = new Float64Array(1024);
function normalised(s: { values: Float64Array; weights: Float64Array }): { values: Float64Array; weights: Float64Array } {
  let sum = 0;
  let small = true;
  for (let i = 0; i < s.values.length; i++) {
    const v = s.values[i];
    sum += s.weights[i];
    if (!(v >= 0 && v < TABLE.length && Number.isInteger(v))) small = false;
  }
  if (small) {
    let top = 0;
    for (let i = 0; i < s.values.length; i++) {
      TABLE[s.values[i]] += s.weights[i];
      if (s.values[i] > top) top = s.values[i];
    }
    const values: number[] = [];
    const weights: number[] = [];
    for (let v = 0; v <= top; v++) {
      if (TABLE[v] > 0) {
        values.push(v);
        weights.push(TABLE[v] / sum);
        TABLE[v] = 0;
      }
    }
    return { values: Float64Array.from(values), weights: Float64Array.from(weights) };
  }
  const merged = new Map<number, number>();
  for (let i = 0; i < s.values.length; i++) merged.set(s.values[i], (merged.get(s.values[i]) ?? 0) + s.weights[i]);
  const values = Float64Array.from(merged.keys()).sort();
  return { values, weights: values.map((v) => merged.get(v)! / sum) };
}
