import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {ROOT, runBundledAction} from '../helpers/run-action.js';
import {mapLimit} from '../../src/shared/registry/limit.js';
import {nodeRuntimes} from '../helpers/tools.js';

/**
 * Drop-in compatibility with docker/metadata-action, checked on that project's own test cases
 * (test/fixtures/metadata-action, with their origin in ORIGIN.md): each case runs through our bundled
 * tag action as a runner runs it (its event fixture and environment, INPUT_* variables, the clock at
 * SOURCE_DATE_EPOCH, the repository answer served as the GitHub API), and every output metadata-action
 * gives for it (golden.json) must be ours too.
 */
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'metadata-action');

interface Case {
  group: string;
  name: string;
  envFile: string;
  inputs?: {
    images?: string[];
    tags?: string[];
    flavor?: string[];
    labels?: string[];
    annotations?: string[];
    sepTags?: string;
    sepLabels?: string;
    sepAnnotations?: string;
    context?: string;
  };
}

const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'golden.json'), 'utf8')) as Record<
  string,
  Record<string, unknown>
>;
// The Bake-file cases test an output the tag action does not write.
const CASES = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8')) as Case[]).filter(
  c => !c.group.startsWith('bakeFile') && golden[`${c.group}/${c.name}`]
);

const RUNNER_FILES = new Set([
  'GITHUB_OUTPUT',
  'GITHUB_ENV',
  'GITHUB_STEP_SUMMARY',
  'GITHUB_STATE',
  'GITHUB_PATH',
  'RUNNER_TEMP',
  'HOME',
  'PATH'
]);

/** A runner's environment file (KEY=value lines). */
function dotenv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(FIXTURES, file), 'utf8').split('\n')) {
    const m = line.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    // The runner's own files and paths are this run's (the harness gives them), not the recorded ones.
    if (m && !RUNNER_FILES.has(m[1])) env[m[1]] = m[2];
  }
  return env;
}

let api: http.Server;
let apiUrl = '';
beforeAll(async () => {
  // GitHub's repository answer, for the OCI labels (description, licence, URLs).
  const repo = fs.readFileSync(path.join(FIXTURES, 'repo.json'));
  api = http.createServer((req, res) => {
    const found = /^\/repos\/[^/]+\/[^/]+\/?$/.test((req.url ?? '').split('?')[0]);
    res.writeHead(found ? 200 : 404, {'content-type': 'application/json'});
    res.end(found ? repo : '{"message":"Not Found"}');
  });
  await new Promise<void>(r => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(api.address() as net.AddressInfo).port}`;
});
afterAll(async () => new Promise<void>(r => api.close(() => r())));

async function differences(c: Case, node: string): Promise<string[]> {
  const env = dotenv(c.envFile);
  const event = env.GITHUB_EVENT_PATH ? path.join(FIXTURES, path.basename(env.GITHUB_EVENT_PATH)) : undefined;
  const i = c.inputs ?? {};
  const inputs: Record<string, string | undefined> = {
    images: (i.images ?? []).join('\n'),
    tags: (i.tags ?? []).join('\n'),
    flavor: (i.flavor ?? []).join('\n'),
    labels: (i.labels ?? []).join('\n'),
    annotations: (i.annotations ?? []).join('\n'),
    'sep-tags': i.sepTags,
    'sep-labels': i.sepLabels,
    'sep-annotations': i.sepAnnotations,
    context: i.context ?? 'workflow',
    'github-token': 'parity-token'
  };
  const run = await runBundledAction(
    'tag',
    Object.fromEntries(Object.entries(inputs).filter((e): e is [string, string] => e[1] !== undefined)),
    {
      ...env,
      TZ: 'UTC',
      GITHUB_EVENT_PATH: event ?? path.join(FIXTURES, 'no-such-event.json'),
      GITHUB_API_URL: apiUrl,
      SOURCE_DATE_EPOCH: '1578616200',
      ...(c.group === 'pr-head-sha' ? {DOCKER_METADATA_PR_HEAD_SHA: 'true'} : {})
    },
    {node}
  );
  const diffs: string[] = [];
  for (const [k, want] of Object.entries(golden[`${c.group}/${c.name}`])) {
    const got = run.outputs[k];
    if (k === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(got ?? '');
      } catch {
        diffs.push(`json is not JSON: ${String(got).slice(0, 80)}`);
        continue;
      }
      if (JSON.stringify(parsed) !== JSON.stringify(want)) diffs.push(`json differs: ${String(got).slice(0, 300)}`);
    } else if ((got ?? '') !== want)
      diffs.push(`${k}: want ${JSON.stringify(want)} got ${JSON.stringify(got ?? null)}`);
  }
  return diffs.length ? [`${c.group}/${c.name} (exit ${run.code}): ${diffs.join(' | ').slice(0, 600)}`] : [];
}

describe.each(nodeRuntimes())('metadata-action compatibility on %s', (_runtime, node) => {
  test(`every one of its ${CASES.length} cases gives the outputs metadata-action gives`, async () => {
    expect(node).toBeDefined();
    expect(CASES).toHaveLength(121);
    const failures = (await mapLimit(CASES, 2, c => differences(c, node as string))).flat();
    expect(failures).toEqual([]);
  }, 240000);
});
