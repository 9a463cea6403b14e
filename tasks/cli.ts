#!/usr/bin/env node
import type { Argv } from 'yargs';
import type { Logger } from 'pino';
import { ChatcastError, isChatcastError } from './core/errors.js';
import { COMMANDS } from './core/pipeline.js';
import { createLogger, scrub } from './io/log.js';
import { settleLease } from './io/lease.js';
import type { CommandDef, Context } from './commands/command.js';
import { REGISTRY } from './commands/registry.js';
import { helpWidth, savedHelp, USAGE } from './help.js';

// The command modules loaded in this process, by name: a step loads only its own.
const loaded = new Map<string, CommandDef>();

// A command's definition, its module imported on first use.
async function definition(name: string): Promise<CommandDef> {
  let def = loaded.get(name);
  if (!def) {
    def = (await REGISTRY.find((e) => e.name === name)!.load()).default as CommandDef;
    loaded.set(name, def);
  }
  return def;
}

function unknownStep(name: string): ChatcastError {
  return new ChatcastError('USAGE', `Unknown step "${name}": expected one of ${COMMANDS.join(', ')}`);
}

// yargs' own words, completed with the rule: what --date must be, which flags the step takes.
function usageMessage(message: string, step: string | undefined): string {
  if (message === 'Missing required argument: date') return "Missing --date: expected YYYY-MM-DD, the day that ended in the chat's time zone";
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  const def = step === undefined ? undefined : loaded.get(step);
  if (unknown && def) {
    const flags = Object.keys(def.args).map((a) => `--${a}`).join(', ');
    return `Unknown flag ${unknown[1].split(', ').map((f) => `"${f.length === 1 ? '-' : '--'}${f}"`).join(', ')} for ${def.name}: expected ${flags ? `one of ${flags}, ` : ''}--help`;
  }
  return message;
}

// Parses argv, runs one command, and turns any failure into a clear message and a non-zero exit code.
export async function main(argv: string[], ctx: Context): Promise<number> {
  const [first] = argv;
  // Plain `chatcast --help` prints the help the build saved; CHATCAST_HELP=yargs has yargs print it (the build, tests).
  const saved = argv.length === 1 && first === '--help' && helpWidth() === 110 && process.env.CHATCAST_HELP !== 'yargs' ? savedHelp() : undefined;
  if (saved !== undefined) {
    process.stdout.write(saved);
    return 0;
  }
  try {
    if (first !== undefined && !first.startsWith('-') && !(COMMANDS as readonly string[]).includes(first)) throw unknownStep(first);
    // Loaded before parsing so that a usage error of the step can list the step's flags.
    if (first !== undefined && !first.startsWith('-')) await definition(first);
    const { default: yargs } = await import('yargs');
    let cli: Argv = yargs(argv)
      .scriptName('chatcast')
      .usage(USAGE)
      .strict()
      .demandCommand(1, `Missing step: expected one of ${COMMANDS.join(', ')}`)
      .recommendCommands()
      .help()
      .version(false)
      .wrap(helpWidth())
      .fail((message, error) => {
        throw error ?? new ChatcastError('USAGE', usageMessage(message, first));
      });
    for (const entry of REGISTRY) {
      cli = cli.command(
        entry.name,
        entry.describe,
        async (y) => y.options((await definition(entry.name)).args as Record<string, never>),
        async (args) => {
          await (await definition(entry.name)).run(args as never, ctx);
        },
      );
    }
    await cli.parseAsync();
    await settleLease(true, ctx.now());
    return 0;
  } catch (error) {
    await settleLease(false, ctx.now());
    const known = isChatcastError(error);
    const message = scrub(known ? error.message : `Unexpected failure: ${(error as Error)?.stack ?? String(error)}`);
    const cause = known ? (error.cause as Error | undefined)?.message : undefined;
    ctx.log.error({ code: known ? error.code : 'BUG', step: first, ...(known ? { cause } : { err: error }) }, message);
    process.stderr.write(`chatcast${first && !first.startsWith('-') ? ` ${first}` : ''}: ${message}\n`);
    return known ? error.exitCode : 1;
  }
}

let log: Logger | undefined;
const ctx: Context = {
  // Made on first use: `chatcast --help` needs no logger.
  get log() {
    return (log ??= createLogger());
  },
  now: () => Date.now(),
  interactive: Boolean(process.stderr.isTTY),
};
const code = await main(process.argv.slice(2), ctx);
process.exitCode = code;
