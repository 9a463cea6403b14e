import { execa, type Options } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ChatcastError } from '../core/errors.js';
import { scrub } from './log.js';
import { PACKAGE_ROOT } from './package.js';


// DVC from $CHATCAST_DVC, else the project's own venv (npm run venv), else PATH (the image).
export function dvcBinary(): string {
  if (process.env.CHATCAST_DVC) return process.env.CHATCAST_DVC;
  const local = join(PACKAGE_ROOT, '.venv', 'bin', 'dvc');
  return existsSync(local) ? local : 'dvc';
}

const QUIET_ENV = { DVC_NO_ANALYTICS: '1', DVC_NO_UPDATE_CHECK: '1', GIT_TERMINAL_PROMPT: '0' };

async function tool(binary: string, name: string, cwd: string, args: string[], options: Options = {}) {
  try {
    const result = await execa(binary, args, { cwd, stdin: 'ignore', ...options, env: { ...QUIET_ENV, ...options.env } });
    return String(result.stdout ?? '');
  } catch (error) {
    const e = error as { code?: string; exitCode?: number; stderr?: string; stdout?: string };
    if (e.code === 'ENOENT') {
      throw new ChatcastError(
        'EXTERNAL',
        name === 'dvc'
          ? `DVC is not installed ("${binary}" not found): run "npm run venv" in the chatcast checkout, put dvc on PATH, or set CHATCAST_DVC`
          : `${name} is not installed ("${binary}" not found)`,
        { cause: error },
      );
    }
    const detail = scrub(reason(`${e.stderr ?? ''}\n${e.stdout ?? ''}`));
    throw new ChatcastError(
      'EXTERNAL',
      `${name} ${args.join(' ')} failed in "${cwd}" (exit ${e.exitCode ?? '?'}): ${detail}`,
      { cause: error },
    );
  }
}

// The tool's own words for why it failed: its `ERROR:`/`fatal:`/`error:` lines (with the line after
// each, which often names the file), else its last lines; never DVC's support footer.
export function reason(output: string): string {
  const lines = output.split('\n').map((l) => l.trimEnd()).filter((l) => l && !/^Having any troubles\?/.test(l));
  const said = lines.flatMap((l, i) => (/^(ERROR|fatal|error):/.test(l) ? [l, ...(lines[i + 1] && !/^(ERROR|fatal|error):/.test(lines[i + 1]) ? [lines[i + 1]] : [])] : []));
  return (said.length > 0 ? said : lines.slice(-4)).join(' ').slice(0, 1000) || 'no output';
}

// Runs DVC in the workspace and returns its stdout.
export function dvc(cwd: string, args: string[], options: Options = {}): Promise<string> {
  return tool(dvcBinary(), 'dvc', cwd, args, options);
}

// Runs git in the workspace and returns its stdout.
export function git(cwd: string, args: string[], options: Options = {}): Promise<string> {
  return tool('git', 'git', cwd, args, options);
}
