import * as core from '@actions/core';
import {UserError} from '../errors.js';
import {Logger} from '../log.js';

/** A Logger backed by the runner's workflow commands. */
export const coreLogger: Logger = {
  info: m => core.info(m),
  warning: m => core.warning(m),
  debug: m => core.debug(m),
  group: (name, fn) => core.group(name, fn)
};

/**
 * Runs an action's main function: a user error fails the step with its message only; anything else
 * is a bug in the action and keeps its stack for the report.
 */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (err instanceof UserError) {
      core.setFailed(err.message);
    } else if (err instanceof Error) {
      core.error(err.stack ?? err.message);
      core.setFailed(`${err.message} (this is a bug in registry-actions; please report it with the log above)`);
    } else {
      core.setFailed(String(err));
    }
  }
}

/** Reads a multi-line list input, one entry per line, # comments allowed. */
export function getMultiline(name: string): string[] {
  return core
    .getInput(name)
    .split(/\r?\n/)
    .map(s => s.trim())
    .filter(s => s && !s.startsWith('#'));
}
