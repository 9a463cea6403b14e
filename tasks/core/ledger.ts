// What was posted to the channel, per day: the reason a rerun never posts twice.
export interface Ledger {
  days: Record<string, { chat: string; message_ids: number[]; sent_at: string }>;
  // Posts begun but never recorded as sent (the process stopped mid-post): a rerun must not post blind.
  pending?: Record<string, { chat: string; since: string }>;
}

// An empty ledger.
export function emptyLedger(): Ledger {
  return { days: {} };
}

// Posts are facts about the world: combining two ledgers keeps every day either one recorded, and
// every post begun that neither records as sent (`pending` is left out when there is none).
export function mergeLedgers(a: Ledger, b: Ledger): Ledger {
  const days = { ...b.days, ...a.days };
  const begun = { ...b.pending, ...a.pending };
  const pending = Object.keys(begun).filter((d) => !(d in days)).sort();
  const merged: Ledger = { days: Object.fromEntries(Object.keys(days).sort().map((d) => [d, days[d]])) };
  if (pending.length > 0) merged.pending = Object.fromEntries(pending.map((d) => [d, begun[d]]));
  return merged;
}

// The ledger file's text: sorted, so equal ledgers are equal bytes.
export function formatLedger(ledger: Ledger): string {
  return JSON.stringify(mergeLedgers(ledger, emptyLedger()), null, 2) + '\n';
}
