import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../tasks/core/pipeline.js';
import { REGISTRY } from '../../tasks/commands/registry.js';

describe('the command registry', () => {
  it('lists every command once, in the pipeline order', () => {
    expect(REGISTRY.map((e) => e.name)).toEqual([...COMMANDS]);
  });

  it("loads each command's own module, whose name and help line it repeats", async () => {
    for (const entry of REGISTRY) {
      const { default: def } = await entry.load();
      expect({ name: def.name, describe: def.describe }).toEqual({ name: entry.name, describe: entry.describe });
      expect(typeof def.run).toBe('function');
    }
  });
});
