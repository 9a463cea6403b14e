// What was posted to the channel, per day: the reason a rerun never posts twice.
export interface Ledger {
  days: Record<string, { chat: string; message_ids: number[]; sent_at: string }>;
}

// An empty ledger.
export function emptyLedger(): Ledger {
  return { days: {} };
}

// Posts are facts about the world: combining two ledgers keeps every day either one recorded.
export function mergeLedgers(a: Ledger, b: Ledger): Ledger {
  const days = { ...b.days, ...a.days };
  return { days: Object.fromEntries(Object.keys(days).sort().map((d) => [d, days[d]])) };
}

// The ledger file's text: sorted, so equal ledgers are equal bytes.
export function formatLedger(ledger: Ledger): string {
  return JSON.stringify(mergeLedgers(ledger, emptyLedger()), null, 2) + '\n';
}
