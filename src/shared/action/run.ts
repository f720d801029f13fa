import * as core from '@actions/core';
import {UserError, externalFailure} from '../errors.js';
import {parseItems, parseLines} from '../inputs.js';
import {ActionIO} from './io.js';

/** How a failure is told: its message, and whether it is a bug of ours (then with its stack). */
export interface Failure {
  message: string;
  /** For the debug log: the stack of a failure that is not ours. */
  debug?: string;
  /** Our own bug: the stack is shown and a report asked for. */
  stack?: string;
}

/**
 * Sorts a failure: a user error, or a failure of a registry, an API, the network or an external tool,
 * is its message only (what was wrong and what to do); anything else is a bug in registry-actions and
 * keeps its stack for the report. Pure.
 */
export function describeFailure(err: unknown): Failure {
  if (err instanceof UserError) return {message: err.message};
  const external = externalFailure(err);
  if (external !== undefined) return {message: external, debug: (err as Error).stack};
  if (err instanceof Error) {
    return {
      message: `${err.message} (this is a bug in registry-actions; please report it with the log above)`,
      stack: err.stack ?? err.message
    };
  }
  return {message: String(err)};
}

/** Runs an action's main function on the runner: a failure fails the step, as describeFailure tells it. */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    const f = describeFailure(err);
    if (f.debug) core.debug(f.debug);
    if (f.stack) core.error(f.stack);
    core.setFailed(f.message);
  }
}

/** Reads a list input with one entry per line (# comments allowed): parseLines. */
export function getMultiline(io: Pick<ActionIO, 'input'>, name: string): string[] {
  return parseLines(io.input(name));
}

/** Reads a list input whose entries may also be comma-separated: parseItems. */
export function getItems(io: Pick<ActionIO, 'input'>, name: string, fallback: string[] = []): string[] {
  const items = parseItems(io.input(name));
  return items.length ? items : fallback;
}
