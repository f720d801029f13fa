import {ChildProcess, spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type {DestinationResult} from '../../src/shared/push/push.js';

/** The repository root: the nearest directory above this file with the project's package.json. */
export const ROOT = (() => {
  let dir = import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname);
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'src'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
})();

export interface ActionRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  env: Record<string, string>;
  summary: string;
  dir: string;
}

/** Parses a GITHUB_OUTPUT / GITHUB_ENV file (name=value and heredoc forms). */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = lines[i].match(/^([^=<]+)<<(.+)$/);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]);
      out[heredoc[1]] = value.join('\n');
      continue;
    }
    const kv = lines[i].match(/^([^=]+)=(.*)$/);
    if (kv) out[kv[1]] = kv[2];
  }
  return out;
}

/**
 * The defaults action.yml gives, as the runner applies them (an input not given is set to its default).
 * Expression defaults (`${{ github.token }}`) are the runner's to evaluate: left out here, as a step
 * outside a workflow has no such context.
 */
function actionDefaults(action: string): Record<string, string> {
  const meta = YAML.parse(fs.readFileSync(path.join(ROOT, action, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, {default?: unknown}>;
  };
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(meta.inputs ?? {})) {
    if (spec.default === undefined) continue;
    const value = String(spec.default);
    if (!value.includes('${{')) out[name] = value;
  }
  return out;
}

/**
 * Runs a bundled action the way the runner does: `node dist/<action>/<entry>.js` with INPUT_* variables
 * (action.yml's defaults for those not given, as the runner sets them), GITHUB_OUTPUT/GITHUB_ENV/
 * GITHUB_STEP_SUMMARY files, and the given environment.
 */
export async function runBundledAction(
  action: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  /** cwd: the job's workspace (default: a fresh empty directory). */
  opts: {entry?: string; node?: string; cwd?: string; onSpawn?: (child: ChildProcess) => void} = {}
): Promise<ActionRun> {
  const entry = opts.entry ?? 'index';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `run-${action}-`));
  const files = {
    GITHUB_OUTPUT: path.join(dir, 'output'),
    GITHUB_ENV: path.join(dir, 'env'),
    GITHUB_STEP_SUMMARY: path.join(dir, 'summary'),
    GITHUB_STATE: path.join(dir, 'state')
  };
  for (const f of Object.values(files)) fs.writeFileSync(f, '');
  const full: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    RUNNER_TEMP: dir,
    ...files,
    ...env
  };
  for (const [k, v] of Object.entries({...actionDefaults(action), ...inputs}))
    full[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  const node = opts.node ?? process.execPath;
  return new Promise(resolve => {
    const child = spawn(node, [path.join(ROOT, 'dist', action, `${entry}.js`)], {env: full, cwd: opts.cwd ?? dir});
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => (stdout += d));
    child.stderr.on('data', d => (stderr += d));
    child.on('close', code => {
      resolve({
        code: code ?? 1,
        stdout,
        stderr,
        outputs: parseCommandFile(fs.readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        env: parseCommandFile(fs.readFileSync(files.GITHUB_ENV, 'utf8')),
        summary: fs.readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
        dir
      });
    });
  });
}

/** The push-multi action's per-destination results output. */
export function pushResults(run: ActionRun): DestinationResult[] {
  return JSON.parse(run.outputs.results ?? '[]') as DestinationResult[];
}

/** The ::error:: lines a run printed. */
export function errorLines(run: ActionRun): string[] {
  return run.stdout.split('\n').filter(l => l.startsWith('::error'));
}
