import seedrandom from 'seedrandom';
import { DateTime } from 'luxon';
import { dayHours } from './dates.js';
import type { Message, MessageKind } from './messages.js';

// Relative activity by local hour: quiet nights, a working-day plateau, an evening peak.
const HOURLY = [
  0.3, 0.15, 0.08, 0.05, 0.05, 0.08, 0.2, 0.5, 0.9, 1.3, 1.6, 1.7, 1.8, 1.7, 1.6, 1.5, 1.5, 1.6, 1.8,
  2.0, 2.1, 1.8, 1.2, 0.6,
];
// Monday … Sunday.
const WEEKDAY = [1.1, 1.15, 1.1, 1.05, 0.95, 0.6, 0.55];
const KINDS: [MessageKind, number][] = [
  ['text', 0.78],
  ['photo', 0.08],
  ['sticker', 0.06],
  ['video', 0.02],
  ['voice', 0.02],
  ['document', 0.02],
  ['service', 0.02],
];
const EPOCH = DateTime.fromISO('2000-01-01', { zone: 'UTC' });

// The knobs of the synthetic chat; defaults give about 50 messages a day and ~70% silent hours.
export interface SimulationProfile {
  seed: number;
  base: number; // messages per hour at relative activity 1
  quietWeekShare: number; // share of weeks in which the chat almost sleeps
  burstShare: number; // share of days with a burst of discussion
  burstSize: number; // extra messages per hour during a two-hour burst
  senders: number;
}

// Used when params.yaml does not override the simulation.
export const DEFAULT_PROFILE: SimulationProfile = {
  seed: 42,
  base: 0.4,
  quietWeekShare: 0.15,
  burstShare: 0.55,
  burstSize: 36,
  senders: 40,
};

// A deterministic synthetic day of a chat: the same seed and day give the same messages on any machine.
export function simulateDay(
  day: string,
  zone: string,
  profile: SimulationProfile = DEFAULT_PROFILE,
  storeText = false,
): Message[] {
  const local = DateTime.fromISO(day, { zone });
  const week = `${local.weekYear}-W${local.weekNumber}`;
  const quiet = seedrandom(`${profile.seed}:week:${week}`)() < profile.quietWeekShare;
  const rng = seedrandom(`${profile.seed}:day:${day}`);
  const dayFactor = WEEKDAY[local.weekday - 1] * (quiet ? 0.08 : 1) * (0.6 + 0.8 * rng());
  const slots = dayHours(day, zone);
  const burstAt = rng() < profile.burstShare ? Math.floor(9 + rng() * 14) : -1;

  const instants: number[] = [];
  slots.forEach((slot, index) => {
    const hour = Number(slot.local.slice(0, 2));
    let rate = profile.base * HOURLY[hour] * dayFactor;
    if (burstAt >= 0 && (index === burstAt || index === burstAt + 1)) rate += quiet ? 4 : profile.burstSize;
    const count = poisson(rate, rng);
    const startMs = Date.parse(slot.start);
    for (let i = 0; i < count; i++) instants.push(startMs + Math.floor(rng() * 3_600_000));
  });
  instants.sort((a, b) => a - b);

  const idBase = Math.round(local.startOf('day').setZone('UTC', { keepLocalTime: true }).diff(EPOCH, 'days').days) * 10_000;
  return instants.map((ms, i) => {
    const id = idBase + i + 1;
    const kind = pickKind(rng());
    const replies = i > 0 && rng() < 0.3;
    const message: Message = {
      id,
      at: new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
      sender: kind === 'service' ? null : String(1 + Math.floor(profile.senders * rng() ** 2)),
      kind,
      reply_to: replies ? idBase + 1 + Math.floor(rng() * i) : null,
    };
    if (storeText && kind === 'text') message.text = `сообщение ${id}`;
    return message;
  });
}

function pickKind(u: number): MessageKind {
  let acc = 0;
  for (const [kind, share] of KINDS) {
    acc += share;
    if (u < acc) return kind;
  }
  return 'text';
}

// Knuth's method: exact for the small rates of one chat hour.
export function poisson(lambda: number, rng: () => number): number {
  if (lambda <= 0) return 0;
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng();
  while (p > limit) {
    k++;
    p *= rng();
  }
  return k;
}
