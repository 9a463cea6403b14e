import cliProgress from 'cli-progress';

// A progress bar on a terminal; nothing at all in a pipe or an Airflow log, where log lines tell the story.
export function progressBar(label: string, total: number, interactive: boolean) {
  if (!interactive) return { tick: (_day: string) => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {day}`, hideCursor: true, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { day: '' });
  return { tick: (day: string) => bar.increment(1, { day }), stop: () => bar.stop() };
}
