// One contender in test/io/lease.test.ts's race: at each agreed instant it tries to take the lease of
// its trial's workspace for its own day and prints whether it got it.
// usage: node lease-race.mjs DIST_LEASE_JS ROOT TRIALS START_MS STEP_MS DAY
const [leaseModule, root, trials, startMs, stepMs, day] = process.argv.slice(2);
const { acquireLease } = await import(leaseModule);
const { mkdirSync } = await import('node:fs');
const results = [];
for (let i = 0; i < Number(trials); i++) {
  const dir = `${root}/trial-${i}`;
  mkdirSync(dir, { recursive: true });
  const at = Number(startMs) + i * Number(stepMs);
  while (Date.now() < at); // spin, so both contenders start within microseconds of each other
  try {
    await acquireLease(dir, day, Date.now());
    results.push('won');
  } catch (error) {
    results.push(error.exitCode === 7 ? 'busy' : `error: ${error.message}`);
  }
}
// Stay alive until the other contender is surely done: a holder that exits is dead, and its lease is
// rightly taken over at once.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startMs) + Number(trials) * Number(stepMs) + 3000 - Date.now())));
process.stdout.write(JSON.stringify(results) + '\n');
process.exit(0);
