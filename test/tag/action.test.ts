import http from 'node:http';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {githubApiDescription} from '../helpers/openapi.js';
import {ROOT, runBundledAction} from '../helpers/run-action.js';
import {nodeRuntimes} from '../helpers/tools.js';

const SHA = '90dd6032fac8bda1b6c4436a2e65de27961ed071';
let api: http.Server;
let apiUrl = '';
const requests: string[] = [];
const description = githubApiDescription();
const violations: string[] = [];

beforeAll(async () => {
  api = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.setHeader('content-type', 'application/json');
    if (req.url === '/repos/acme/app') {
      // Built from GitHub's own example of the route and checked against its schema.
      const example = description.example<Record<string, unknown>>('full-repository-default-response');
      // The example is of a fork (parent, source) and lacks language, which the schema requires.
      delete example.parent;
      delete example.source;
      const body = {
        ...example,
        language: 'TypeScript',
        name: 'app',
        full_name: 'acme/app',
        description: 'The app',
        html_url: 'https://github.com/acme/app',
        default_branch: 'main',
        license: {...(example.license as object), key: 'apache-2.0', name: 'Apache License 2.0', spdx_id: 'Apache-2.0'}
      };
      violations.push(...description.check('GET', '/repos/acme/app', 200, body));
      res.end(JSON.stringify(body));
    } else {
      res.statusCode = 404;
      const body = {message: 'Not Found', documentation_url: 'https://docs.github.com/rest'};
      violations.push(...description.check(req.method ?? 'GET', req.url ?? '/', 404, body));
      res.end(JSON.stringify(body));
    }
  });
  await new Promise<void>(r => api.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(api.address() as {port: number}).port}`;
});
afterAll(() => {
  api.close();
  // Every answer fit GitHub's published API description.
  expect(violations).toEqual([]);
});

function runnerEnv(event: string, ref: string): Record<string, string> {
  return {
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: path.join(ROOT, 'test', 'fixtures', 'events', event),
    GITHUB_REF: ref,
    GITHUB_SHA: SHA,
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_API_URL: apiUrl,
    SOURCE_DATE_EPOCH: '1767225600'
  };
}

describe.each(nodeRuntimes())('the bundled tag action on %s', (_runtime, node) => {
  const maybe = node ? test : test.skip;
  const runBundled = (inputs: Record<string, string>, env: Record<string, string>) =>
    runBundledAction('tag', inputs, env, {node});

  maybe('writes every output to GITHUB_OUTPUT for a release tag', async () => {
    const run = await runBundled(
      {
        images: 'ghcr.io/Acme/App\ndocker.io/acme/app',
        tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=sha',
        labels: 'org.opencontainers.image.vendor=Acme',
        'github-token': 'ghs_secret_token_value'
      },
      runnerEnv('push-tag.json', 'refs/tags/v1.2.3')
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.outputs.version).toBe('1.2.3');
    expect(run.outputs.tags.split('\n')).toEqual([
      'ghcr.io/acme/app:1.2.3',
      'ghcr.io/acme/app:1.2',
      'ghcr.io/acme/app:sha-90dd603',
      'ghcr.io/acme/app:latest',
      'docker.io/acme/app:1.2.3',
      'docker.io/acme/app:1.2',
      'docker.io/acme/app:sha-90dd603',
      'docker.io/acme/app:latest'
    ]);
    expect(run.outputs['tag-names']).toBe('1.2.3\n1.2\nsha-90dd603\nlatest');
    expect(run.outputs.labels.split('\n')).toEqual([
      'org.opencontainers.image.created=2026-01-01T00:00:00.000Z',
      'org.opencontainers.image.description=The app',
      'org.opencontainers.image.licenses=Apache-2.0',
      `org.opencontainers.image.revision=${SHA}`,
      'org.opencontainers.image.source=https://github.com/acme/app',
      'org.opencontainers.image.title=app',
      'org.opencontainers.image.url=https://github.com/acme/app',
      'org.opencontainers.image.vendor=Acme',
      'org.opencontainers.image.version=1.2.3'
    ]);
    expect(run.outputs.annotations.split('\n')[0]).toBe(
      'manifest:org.opencontainers.image.created=2026-01-01T00:00:00.000Z'
    );
    const json = JSON.parse(run.outputs.json);
    expect(Object.keys(json)).toEqual(['tags', 'tag-names', 'labels', 'annotations']);
    const classified = JSON.parse(run.outputs['tags-json']) as Array<{ref: string; kind: string}>;
    expect(classified.filter(t => t.kind === 'immutable').map(t => t.ref)).toEqual([
      'ghcr.io/acme/app:1.2.3',
      'ghcr.io/acme/app:sha-90dd603',
      'docker.io/acme/app:1.2.3',
      'docker.io/acme/app:sha-90dd603'
    ]);
    for (const key of ['bake-file', 'bake-file-tags', 'bake-file-labels', 'bake-file-annotations']) {
      expect(run.outputs[key]).toMatch(/\.json$/);
    }
    // metadata-action also exports its outputs as environment variables.
    expect(run.env.DOCKER_METADATA_OUTPUT_VERSION).toBe('1.2.3');
    // The token is masked and used for the repository read.
    expect(run.stdout).toContain('::add-mask::ghs_secret_token_value');
    // Through @actions/github's getOctokit, which sends the token in GitHub's 'token' scheme.
    expect(requests).toContain('GET /repos/acme/app token ghs_secret_token_value');
    expect(run.summary).toContain('ghcr.io/acme/app:1.2.3');
  });

  maybe('reads the commit date from the push payload', async () => {
    const run = await runBundled(
      {
        images: 'acme/app',
        tags: "type=raw,value=c-{{commit_date 'YYYYMMDD-HHmmss'}}\ntype=raw,value=d-{{date 'YYYYMMDD'}}"
      },
      runnerEnv('push-main.json', 'refs/heads/main')
    );
    expect(run.code).toBe(0);
    expect(run.outputs['tag-names']).toBe('c-20260203-040506\nd-20260101');
  });

  maybe.each([
    [
      'an unknown tag type',
      {tags: 'type=versoin,pattern={{version}}'},
      {},
      /tags: unknown tag type "versoin" in "type=versoin,pattern=\{\{version\}\}"/
    ],
    [
      'an invalid image name',
      {images: 'ghcr.io/acme/my app'},
      {},
      /images: "ghcr.io\/acme\/my app" is not a valid image name/
    ],
    [
      'an invalid SOURCE_DATE_EPOCH',
      {},
      {SOURCE_DATE_EPOCH: 'now'},
      /SOURCE_DATE_EPOCH: "now" is not a Unix timestamp/
    ],
    ['a malformed flavor', {flavor: 'latest'}, {}, /flavor: "latest" is not key=value/]
  ])('fails on %s with the offending input and no stack trace', async (_name, inputs, env, message) => {
    const run = await runBundled(
      {images: 'acme/app', ...inputs},
      {...runnerEnv('push-main.json', 'refs/heads/main'), ...env}
    );
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter(l => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(run.stdout).not.toMatch(/\n\s+at /);
    expect(run.outputs).toEqual({});
  });

  maybe('falls back when the repository API cannot be read', async () => {
    const run = await runBundled(
      {images: 'acme/app'},
      {...runnerEnv('push-main.json', 'refs/heads/main'), GITHUB_REPOSITORY: 'acme/private'}
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/::warning::could not read repository data for acme\/private/);
    expect(run.outputs.labels).toContain('org.opencontainers.image.source=https://github.com/acme/private');
  });
});
