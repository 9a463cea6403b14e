import seedrandom from 'seedrandom';
import { DateTime } from 'luxon';
import { dayHours, daysFrom } from './dates.js';
import type { SeriesRow } from './series.js';
import { poisson } from './simulate.js';

// How a synthetic chat behaves: the knobs that make chats differ in the ways real ones do.
export interface ChatCharacter {
  name: string;
  zone: string;
  first: string;
  last: string;
  seed: number;
  perDay: number; // messages on an average day at level 1
  hourly: number[]; // relative activity by local hour (24 values)
  weekday: number[]; // Monday … Sunday
  level: (t: number) => number; // growth or decline over the chat's life, t from 0 to 1
  periods: { from: string; to: string; factor: number }[]; // MM-DD ranges every year: holidays, exams, seasons
  dayNoise: number; // gamma shape of the day-to-day factor (small = days differ a lot)
  dispersion: number; // negative binomial size of an hour's count (small = clumpy hours)
  bursts: { perDay: number; mean: number; tail: number; hours: number }; // discussions: chance per day, mean size, Pareto tail, length
  dormancy?: { sleep: number; wake: number; factor: number }; // daily chances to fall asleep and wake up, activity while asleep
  rituals?: { weekday: number; from: number; to: number; factor: number }[]; // weekly fixtures (1 = Monday; local hours [from, to))
}

const EVENING = [0.25, 0.12, 0.05, 0.03, 0.03, 0.05, 0.15, 0.35, 0.6, 0.8, 0.9, 1, 1.1, 1.05, 1, 1, 1.1, 1.3, 1.6, 1.9, 2.1, 2, 1.5, 0.7];
const OFFICE = [0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.3, 0.9, 1.8, 2.4, 2.5, 2.3, 1.8, 2.2, 2.4, 2.3, 2.0, 1.5, 0.9, 0.6, 0.5, 0.4, 0.25, 0.1];
const TWO_PEAKS = [0.6, 0.3, 0.12, 0.05, 0.05, 0.15, 0.5, 1.2, 1.6, 1.4, 1.0, 0.8, 0.9, 1.0, 0.9, 0.8, 0.9, 1.1, 1.4, 1.7, 1.9, 1.8, 1.5, 1.1];

// The chats the forecaster is judged on besides the real one: one of each character chatcast must
// serve, in different zones, each two years long so that 300 scored days have a year of history.
export const TEST_CHATS: ChatCharacter[] = [
  {
    // A study group: mostly silent, evenings, a term rhythm with holidays and an exam rush.
    name: 'quiet',
    zone: 'Europe/Berlin',
    first: '2023-01-01',
    last: '2024-12-31',
    seed: 11,
    perDay: 9,
    hourly: EVENING,
    weekday: [1.2, 1.2, 1.15, 1.1, 0.9, 0.6, 0.85],
    level: () => 1,
    periods: [
      { from: '01-20', to: '02-12', factor: 2.2 },
      { from: '07-10', to: '09-30', factor: 0.15 },
      { from: '12-22', to: '12-31', factor: 0.2 },
      { from: '01-01', to: '01-07', factor: 0.2 },
    ],
    dayNoise: 2,
    dispersion: 0.6,
    bursts: { perDay: 0.12, mean: 12, tail: 2.2, hours: 2 },
    // A Tuesday seminar and the Sunday-night rush before Monday's deadline.
    rituals: [
      { weekday: 2, from: 18, to: 20, factor: 4 },
      { weekday: 7, from: 20, to: 23, factor: 5 },
    ],
  },
  {
    // A hobby chat in India (UTC+05:30: its hours start at :30 UTC) that slowly fades.
    name: 'ordinary',
    zone: 'Asia/Kolkata',
    first: '2023-01-01',
    last: '2024-12-31',
    seed: 22,
    perDay: 70,
    hourly: TWO_PEAKS,
    weekday: [0.85, 0.85, 0.9, 0.9, 1.0, 1.3, 1.35],
    level: (t) => Math.exp(-1.2 * t),
    periods: [{ from: '10-20', to: '11-15', factor: 1.4 }],
    dayNoise: 4,
    dispersion: 1.2,
    bursts: { perDay: 0.3, mean: 25, tail: 2.5, hours: 2 },
  },
  {
    // A busy work chat in New York that grows: hundreds of messages an hour at its peak.
    name: 'busy',
    zone: 'America/New_York',
    first: '2023-01-01',
    last: '2024-12-31',
    seed: 33,
    perDay: 2600,
    hourly: OFFICE,
    weekday: [1.1, 1.15, 1.15, 1.1, 0.95, 0.35, 0.25],
    level: (t) => 0.6 + 1.4 / (1 + Math.exp(-8 * (t - 0.55))),
    periods: [
      { from: '12-23', to: '12-31', factor: 0.3 },
      { from: '01-01', to: '01-02', factor: 0.3 },
      { from: '07-01', to: '08-20', factor: 0.8 },
    ],
    dayNoise: 12,
    dispersion: 15,
    bursts: { perDay: 0.08, mean: 900, tail: 3, hours: 3 },
  },
  {
    // A community in Sydney that lives in spells: active weeks, dormant weeks, heavy discussions.
    name: 'bursty',
    zone: 'Australia/Sydney',
    first: '2023-01-01',
    last: '2024-12-31',
    seed: 44,
    perDay: 35,
    hourly: EVENING,
    weekday: [1, 1, 1, 1, 1.1, 1.1, 0.8],
    level: () => 1,
    periods: [],
    dayNoise: 1.5,
    dispersion: 0.8,
    bursts: { perDay: 0.35, mean: 30, tail: 1.8, hours: 3 },
    dormancy: { sleep: 0.04, wake: 0.07, factor: 0.1 },
  },
];

// An hour of a synthetic chat with what the generator expected of it: the mean count given everything
// it knew before drawing the day (regime, season, weekday, level; not the day's own luck or burst).
export interface SyntheticRow extends SeriesRow {
  expected: number;
}

// The hourly series of a synthetic chat, hour by hour on its own clock: the same character gives the
// same counts on every machine.
export function syntheticChat(c: ChatCharacter): SyntheticRow[] {
  const rng = seedrandom(`synthetic:${c.name}:${c.seed}`);
  const days = daysFrom(c.first, c.last);
  const shapeSum = c.hourly.reduce((s, v) => s + v, 0);
  const rows: SyntheticRow[] = [];
  let asleep = false;
  days.forEach((day, i) => {
    const local = DateTime.fromISO(day, { zone: c.zone });
    if (c.dormancy) asleep = asleep ? rng() >= c.dormancy.wake : rng() < c.dormancy.sleep;
    const md = day.slice(5);
    const period = c.periods.reduce((f, p) => (md >= p.from && md <= p.to ? f * p.factor : f), 1);
    const dayFactor = gamma(c.dayNoise, rng) / c.dayNoise;
    const base = (c.perDay / shapeSum) * c.weekday[local.weekday - 1] * c.level(i / (days.length - 1)) * period * (asleep ? c.dormancy!.factor : 1);
    const hours = dayHours(day, c.zone);
    const burstChance = c.bursts.perDay * (asleep ? 0.3 : 1);
    const burst = rng() < burstChance ? pickBurst(c, rng, hours.length) : undefined;
    const burstAt = burstPositions(c, hours.length);
    hours.forEach((slot, h) => {
      const hour = Number(slot.local.slice(0, 2));
      const ritual = (c.rituals ?? []).reduce((f, r) => (r.weekday === local.weekday && hour >= r.from && hour < r.to ? f * r.factor : f), 1);
      const shape = base * c.hourly[hour] * (period >= 0.5 ? ritual : 1);
      let mean = shape * dayFactor;
      if (burst && h >= burst.at && h < burst.at + c.bursts.hours) mean += burst.size / c.bursts.hours;
      // P(a burst covers hour h) · its mean size per hour.
      const covering = burstAt.reduce((p, q, at) => (h >= at && h < at + c.bursts.hours ? p + q : p), 0);
      rows.push({ ...slot, day, messages: negativeBinomial(mean, c.dispersion, rng), expected: shape + (burstChance * covering * c.bursts.mean) / c.bursts.hours });
    });
  });
  return rows;
}

// Where a day's burst may start, with its probability (as pickBurst draws it).
function burstPositions(c: ChatCharacter, hours: number): number[] {
  const out = new Array(hours).fill(0);
  const peak = c.hourly.indexOf(Math.max(...c.hourly));
  const steps = 900;
  for (let i = 0; i < steps; i++) out[Math.max(0, Math.min(hours - c.bursts.hours, Math.round(peak - 6 + ((i + 0.5) / steps) * 9)))] += 1 / steps;
  return out;
}

function pickBurst(c: ChatCharacter, rng: () => number, hours: number) {
  // Pareto sizes with the given mean: most discussions are short, a few are huge.
  const a = c.bursts.tail;
  const scale = (c.bursts.mean * (a - 1)) / a;
  const size = scale / Math.pow(1 - rng(), 1 / a);
  const peak = c.hourly.indexOf(Math.max(...c.hourly));
  const at = Math.max(0, Math.min(hours - c.bursts.hours, Math.round(peak - 6 + rng() * 9)));
  return { at, size };
}

// Marsaglia–Tsang; shape < 1 through the boost u^(1/shape).
function gamma(shape: number, rng: () => number): number {
  if (shape < 1) return gamma(shape + 1, rng) * Math.pow(rng(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function normal(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

// A gamma–Poisson mixture: mean `mean`, variance mean + mean²/size.
function negativeBinomial(mean: number, size: number, rng: () => number): number {
  if (mean <= 0) return 0;
  return count((gamma(size, rng) * mean) / size, rng);
}

// Knuth's exact method for an ordinary hour; a busy hour's count is close enough to normal.
function count(lambda: number, rng: () => number): number {
  return lambda > 30 ? Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rng))) : poisson(lambda, rng);
}
