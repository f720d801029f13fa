import * as core from '@actions/core';
import {Logger} from '../log.js';

/**
 * Everything an action's main function exchanges with the outside: its inputs, its outputs, the log,
 * secrets to mask, the job summary. The GitHub Action gives one backed by @actions/core (githubIO);
 * the command-line tool gives one built from its flags and environment that prints plain text, so the
 * same main runs in both with no INPUT_* variables and no rewriting of workflow commands.
 */
export interface ActionIO {
  /** An input's value as given ('' when not given), trimmed unless asked; action.yml defaults already applied. */
  input(name: string, opts?: {trimWhitespace?: boolean}): string;
  output(name: string, value: string): void;
  /** Hide a secret in every later line of the log (core.setSecret). */
  mask(secret: string): void;
  log: Logger & {error(message: string): void};
  /** A tool's own output, passed through as it comes. */
  raw(chunk: string): void;
  /** Appends HTML to the job summary, where there is one (GitHub Actions, or a file the CLI is given). */
  summary?: (html: string) => Promise<void>;
  /** State for the action's post step (GitHub Actions). */
  saveState(name: string, value: string): void;
  /** An environment variable for the later steps of the job (GitHub Actions). */
  exportVariable(name: string, value: string): void;
  /** An OIDC token for the audience (GitHub Actions' id-token permission). */
  getIdToken(audience: string): Promise<string>;
}

/** The runner's side: @actions/core. */
export function githubIO(): ActionIO {
  return {
    input: (name, opts) => core.getInput(name, opts),
    output: (name, value) => core.setOutput(name, value),
    mask: secret => core.setSecret(secret),
    log: {
      info: m => core.info(m),
      warning: m => core.warning(m),
      error: m => core.error(m),
      debug: m => core.debug(m),
      group: (name, fn) => core.group(name, fn)
    },
    raw: chunk => process.stdout.write(chunk),
    summary: process.env.GITHUB_STEP_SUMMARY
      ? async html => {
          await core.summary.addRaw(html, true).write();
        }
      : undefined,
    saveState: (name, value) => core.saveState(name, value),
    exportVariable: (name, value) => core.exportVariable(name, value),
    getIdToken: audience => core.getIDToken(audience)
  };
}
