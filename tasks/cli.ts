#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ChatcastError, isChatcastError } from './core/errors.js';
import { COMMANDS } from './core/pipeline.js';
import { createLogger, scrub } from './io/log.js';
import { settleLease } from './io/lease.js';
import type { CommandDef, Context } from './commands/command.js';
import init from './commands/init.js';
import login from './commands/login.js';
import pull from './commands/pull.js';
import ingest from './commands/ingest.js';
import aggregate from './commands/aggregate.js';
import evaluate from './commands/evaluate.js';
import train from './commands/train.js';
import forecast from './commands/forecast.js';
import render from './commands/render.js';
import report from './commands/report.js';
import push from './commands/push.js';
import track from './commands/track.js';
import run from './commands/run.js';
import demo from './commands/demo.js';
import backtest from './commands/backtest.js';

// Every command, in the order `--help` lists them (the pipeline's order).
export const DEFINITIONS = [init, login, pull, ingest, aggregate, evaluate, train, forecast, render, report, push, track, run, demo, backtest] as CommandDef[];

function unknownStep(name: string): ChatcastError {
  return new ChatcastError('USAGE', `Unknown step "${name}": expected one of ${COMMANDS.join(', ')}`);
}

// yargs' own words, completed with the rule: what --date must be, which flags the step takes.
function usageMessage(message: string, step: string | undefined): string {
  if (message === 'Missing required argument: date') return "Missing --date: expected YYYY-MM-DD, the day that ended in the chat's time zone";
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  const def = DEFINITIONS.find((d) => d.name === step);
  if (unknown && def) {
    const flags = Object.keys(def.args).map((a) => `--${a}`).join(', ');
    return `Unknown flag ${unknown[1].split(', ').map((f) => `"${f.length === 1 ? '-' : '--'}${f}"`).join(', ')} for ${def.name}: expected ${flags ? `one of ${flags}, ` : ''}--help`;
  }
  return message;
}

// Parses argv, runs one command, and turns any failure into a clear message and a non-zero exit code.
export async function main(argv: string[], ctx: Context): Promise<number> {
  const [first] = argv;
  try {
    if (first !== undefined && !first.startsWith('-') && !(COMMANDS as readonly string[]).includes(first)) throw unknownStep(first);
    let cli: Argv = yargs(argv)
      .scriptName('chatcast')
      .usage('$0 <step> --date YYYY-MM-DD [--workspace DIR]\n\nHour-by-hour activity of a Telegram chat: ingest, aggregate, evaluate, train, forecast, render, report.')
      .strict()
      .demandCommand(1, `Missing step: expected one of ${COMMANDS.join(', ')}`)
      .recommendCommands()
      .help()
      .version(false)
      .wrap(Math.min(110, process.stdout.columns || 110))
      .fail((message, error) => {
        throw error ?? new ChatcastError('USAGE', usageMessage(message, first));
      });
    for (const def of DEFINITIONS) {
      cli = cli.command(
        def.name,
        def.describe,
        (y) => y.options(def.args as Record<string, never>),
        async (args) => {
          await def.run(args as never, ctx);
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

const log = createLogger();
const code = await main(hideBin(process.argv), { log, now: () => Date.now(), interactive: Boolean(process.stderr.isTTY) });
process.exitCode = code;
