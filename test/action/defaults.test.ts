import fs from 'node:fs';
import path from 'node:path';
import {describe, expect, test} from '@jest/globals';
import {parse} from 'yaml';
import {ActionIO} from '../../src/shared/action/io.js';
import {readAuditInputs} from '../../src/shared/audit/inputs.js';
import {readCleanupInputs} from '../../src/shared/cleanup/inputs.js';
import {readPushInputs} from '../../src/shared/push/inputs.js';
import {readScanInputs} from '../../src/shared/scan/inputs.js';
import {readSignInputs} from '../../src/shared/sign/inputs.js';
import {readSyncInputs} from '../../src/shared/sync/inputs.js';
import {readTagInputs} from '../../src/shared/tag/run.js';
import {ROOT} from '../helpers/run-action.js';

/**
 * The runner and the command-line tool both give every input its action.yml default, but the input
 * readers are also called without them (by tests that drive the library, and by code that reads an
 * action's inputs for another): their own defaults must mean what action.yml's do. Each action's inputs
 * are read once with nothing but what the case needs, and once with every literal action.yml default
 * added (expression defaults such as ${{ github.token }} are the runner's); the options must be equal.
 */
const DIGEST = `sha256:${'a'.repeat(64)}`;
const CASES: Array<[string, Record<string, string>, (io: ActionIO, env: NodeJS.ProcessEnv) => unknown]> = [
  ['tag', {images: 'ghcr.io/acme/app'}, io => readTagInputs(io)],
  [
    'push-multi',
    {source: 'registry.example/acme/app:v1', destinations: 'ghcr.io/acme/app\nregistry.example/acme/copy', tags: 'v1'},
    (io, env) => readPushInputs(io, env)
  ],
  ['sign', {images: `ghcr.io/acme/app@${DIGEST}`}, (io, env) => readSignInputs(io, env)],
  ['scan', {images: `ghcr.io/acme/app@${DIGEST}`}, (io, env) => readScanInputs(io, env)],
  [
    'ghcr-cleanup',
    {owner: 'acme', packages: 'app', 'github-token': 'ghs_example', 'keep-n-tagged': '3'},
    (io, env) => readCleanupInputs(io, env)
  ],
  [
    'sync',
    {config: 'images:\n  - source: docker.io/library/alpine\n    destinations: [ghcr.io/acme/alpine]\n'},
    (io, env) => readSyncInputs(io, env)
  ],
  ['audit', {owner: 'acme', packages: 'app', 'github-token': 'ghs_example'}, (io, env) => readAuditInputs(io, env)]
];

/** action.yml's literal defaults of an action. */
function literalDefaults(action: string): Record<string, string> {
  const yml = parse(fs.readFileSync(path.join(ROOT, action, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, {default?: unknown}>;
  };
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(yml.inputs ?? {})) {
    if (spec.default === undefined || String(spec.default).includes('${{')) continue;
    out[name] = String(spec.default);
  }
  return out;
}

function ioOf(inputs: Record<string, string>): {io: ActionIO; warnings: string[]} {
  const warnings: string[] = [];
  const log = {
    info: () => undefined,
    warning: (m: string) => void warnings.push(m),
    debug: () => undefined,
    error: () => undefined,
    group: <T>(_n: string, f: () => Promise<T>) => f()
  };
  return {
    warnings,
    io: {
      input: (name, opts) => {
        const v = inputs[name] ?? '';
        return opts?.trimWhitespace === false ? v : v.trim();
      },
      output: () => undefined,
      mask: () => undefined,
      log,
      raw: () => undefined,
      saveState: () => undefined,
      exportVariable: () => undefined,
      getIdToken: async () => ''
    }
  };
}

/** A comparable picture of what a reader returned: regular expressions by source, maps and sets by entries, functions by name. */
function picture(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => {
      if (v instanceof RegExp) return `/${v.source}/${v.flags}`;
      if (v instanceof Map) return [...v.entries()];
      if (v instanceof Set) return [...v];
      if (typeof v === 'function') return `[function ${v.name}]`;
      return v;
    })
  );
}

describe("every action.yml default is the code's default", () => {
  test.each(CASES.map(c => [c[0], c] as const))('%s', (action, [, given, read]) => {
    const env = {GITHUB_REPOSITORY: 'acme/app', GITHUB_ACTOR: 'octocat', RUNNER_TEMP: '/tmp'};
    const bare = ioOf(given);
    const defaults = literalDefaults(action);
    const runner = ioOf({...defaults, ...given});
    expect(Object.keys(defaults).length).toBeGreaterThan(0);
    expect(picture(read(runner.io, env))).toEqual(picture(read(bare.io, env)));
    expect(runner.warnings).toEqual(bare.warnings);
  });
});
