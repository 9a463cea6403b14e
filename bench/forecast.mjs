// Benchmark: train + forecast (the daily model work, in process) on 1 and 10 years of hourly history.
// Targets, for the model `train` uses (default): under 100 ms warm on 1 year, under 1 s on 10 years.
// The original model (seed) is timed too, for comparison only. Run: npm run bench:forecast
import { initTf } from '../dist/io/tf.js';
import { daysFrom, dayHours } from '../dist/core/dates.js';
import { simulateDay } from '../dist/core/simulate.js';
import { describeModel, predictDay } from '../dist/core/forecast.js';
import { SEED_KNN } from '../dist/core/knn.js';
import { defaultParams } from '../dist/core/params.js';

const { backend } = await initTf();
const zone = 'Europe/Berlin';
const TARGETS = { 1: 100, 10: 1000 };

function history(years) {
  const days = daysFrom('2016-01-01', `${2016 + years - 1}-12-31`);
  const values = [];
  const starts = [];
  const dayOfHour = [];
  for (const day of days) {
    const hours = dayHours(day, zone);
    const counts = new Map();
    for (const m of simulateDay(day, zone)) {
      const start = hours.findLast((h) => h.start <= m.at).start;
      counts.set(start, (counts.get(start) ?? 0) + 1);
    }
    for (const h of hours) {
      values.push(counts.get(h.start) ?? 0);
      starts.push(h.start);
      dayOfHour.push(day);
    }
  }
  return { values: Float32Array.from(values), starts, dayOfHour, last: days.at(-1) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

console.log(`train + forecast, tfjs backend ${backend}, ${process.version}, median of 15 warm runs after 3 warm-ups`);
console.log('history   hours   model           ms   target   result');
let failed = false;
for (const years of [1, 10]) {
  const h = history(years);
  const next = dayHours('2017-01-01', zone);
  for (const [name, params] of [['default', defaultParams().train], ['seed', SEED_KNN]]) {
    const run = () => {
      const card = describeModel(h.values, h.starts, h.dayOfHour, params, h.last, zone);
      return predictDay(card, h.values, next, h.last, 'next');
    };
    for (let i = 0; i < 3; i++) run();
    const times = Array.from({ length: 15 }, () => {
      const t = performance.now();
      run();
      return performance.now() - t;
    });
    const ms = median(times);
    const target = name === 'default';
    const ok = ms < TARGETS[years];
    if (target) failed ||= !ok;
    console.log(`${String(years).padStart(2)} year${years > 1 ? 's' : ' '}  ${String(h.values.length).padStart(6)}   ${name.padEnd(8)}  ${ms.toFixed(1).padStart(8)}   ${target ? `< ${String(TARGETS[years]).padStart(4)}   ${ok ? 'PASS' : 'FAIL'}` : '  (comparison only)'}`);
  }
}
process.exitCode = failed ? 1 : 0;
