import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// The pids of every process below `root` (its Chromium and Chromium's own children).
async function descendants(root: number): Promise<number[]> {
  const { stdout } = await execa('ps', ['-eo', 'pid=,ppid='], { reject: false });
  const children = new Map<number, number[]>();
  for (const line of stdout.trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) for (const c of children.get(stack.pop()!) ?? []) out.push(c), stack.push(c);
  return out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Killing `render` (or a task timeout) must not leave headless Chromium running.
describe('Chromium started by render', () => {
  it('dies with its parent, even on kill -9', async () => {
    const script = `
      const { renderPngs } = await import(${JSON.stringify(join(ROOT, 'dist', 'io', 'browser.js'))});
      const fig = { data: [{ type: 'bar', x: [1, 2, 3], y: [1, 2, 3] }], layout: {} };
      process.stdout.write('rendering\\n');
      for (;;) await renderPngs(Array(20).fill(fig), { width: 400, height: 300 });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let started = false;
    child.stdout.on('data', () => (started = true));
    let mine: number[] = [];
    for (let i = 0; i < 120 && mine.length < 2; i++) {
      await sleep(250);
      mine = await descendants(child.pid!); // the browser and its zygote, renderer, GPU processes
    }
    expect(started).toBe(true);
    expect(mine.length).toBeGreaterThan(1);
    child.kill('SIGKILL');
    let left = mine;
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await sleep(250);
      left = left.filter(alive);
    }
    expect(left, `Chromium processes still running 10 s after their parent was killed: ${left.join(', ')}`).toEqual([]);
  });
});
