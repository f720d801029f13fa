import * as core from '@actions/core';
import {UserError, externalFailure} from '../errors.js';
import {parseItems, parseLines} from '../inputs.js';
import {Logger} from '../log.js';

/** A Logger backed by the runner's workflow commands. */
export const coreLogger: Logger = {
  info: m => core.info(m),
  warning: m => core.warning(m),
  debug: m => core.debug(m),
  group: (name, fn) => core.group(name, fn)
};

/**
 * Runs an action's main function: a user error, or a failure of a registry, an API, the network or an
 * external tool, fails the step with its message only; anything else is a bug in the action and keeps
 * its stack for the report.
 */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    const external = externalFailure(err);
    if (err instanceof UserError) {
      core.setFailed(err.message);
    } else if (external !== undefined) {
      // A registry, API, network or tool failure: its message and what to do; the stack only in debug.
      core.debug((err as Error).stack ?? '');
      core.setFailed(external);
    } else if (err instanceof Error) {
      core.error(err.stack ?? err.message);
      core.setFailed(`${err.message} (this is a bug in registry-actions; please report it with the log above)`);
    } else {
      core.setFailed(String(err));
    }
  }
}

/** Reads a list input with one entry per line (# comments allowed): parseLines. */
export function getMultiline(name: string): string[] {
  return parseLines(core.getInput(name));
}

/** Reads a list input whose entries may also be comma-separated: parseItems. */
export function getItems(name: string): string[] {
  return parseItems(core.getInput(name));
}
