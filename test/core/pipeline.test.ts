import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { COMMANDS, PATHS, STEPS } from '../../tasks/core/pipeline.js';
import { ROOT } from '../helpers.js';

describe('one verb per step', () => {
  const pipeline = YAML.parse(readFileSync(join(ROOT, 'dvc.yaml'), 'utf8'));

  it('names the DVC stages, their commands and their artifact folders', () => {
    expect(Object.keys(pipeline.stages)).toEqual([...STEPS]);
    for (const step of STEPS) {
      expect(pipeline.stages[step].cmd).toBe(`chatcast ${step} --date $CHATCAST_DATE`);
      const outs = pipeline.stages[step].outs.map((o: string | object) => (typeof o === 'string' ? o : Object.keys(o)[0]));
      expect(outs.every((o: string) => o.split('/')[0] === step)).toBe(true);
    }
    expect(COMMANDS).toEqual(expect.arrayContaining([...STEPS, 'pull', 'push']));
  });

  it('declares the shared artifacts where the steps read and write them', () => {
    expect(pipeline.stages.evaluate.metrics).toEqual([{ [PATHS.metrics]: { cache: false } }]);
    expect(pipeline.stages.train.deps).toEqual([PATHS.series]);
    expect(pipeline.stages.track.metrics).toEqual([{ [PATHS.trackMetrics]: { cache: false } }]);
    // A plot names its files under y, or is itself a folder of files (the hourly series' months).
    const plotted = pipeline.plots.flatMap((p: Record<string, { y: Record<string, string[]> | string }>) => Object.entries(p).flatMap(([id, spec]) => (typeof spec.y === 'string' ? [id] : Object.keys(spec.y))));
    expect(new Set(plotted)).toEqual(new Set([PATHS.trackHistory, PATHS.history, PATHS.series]));
  });
});
