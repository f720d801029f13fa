import {execFile} from 'node:child_process';
import fs from 'node:fs';
import {promisify} from 'node:util';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import YAML from 'yaml';
import {Fixture, multiPlatformFixture} from '../helpers/images.js';
import {HUB_LIMIT_MESSAGE, HubLike, startHubLike} from '../helpers/dockerhub.js';
import {Proxy, startProxy} from '../helpers/proxy.js';
import {Registry, allImplementations, manifestDigest, skopeo, startRegistry} from '../helpers/registry.js';
import {ActionRun, ROOT, errorLines, runBundledAction} from '../helpers/run-action.js';
import {nodeRuntimes, requireTool} from '../helpers/tools.js';
import {renderSummary} from '../helpers/render.js';

/**
 * The sync action run as the runner runs it, from a source that behaves like Docker Hub (token flow,
 * pull budget spent by manifest GETs, ratelimit headers, 429 when spent) in front of a real registry,
 * into distribution 2.8 and olareg, counting requests on both sides.
 */
const cosign = requireTool('cosign');
const ready = allImplementations() && !!requireTool('skopeo') && !!requireTool('chromium') && !!cosign;
const maybe = ready ? test : test.skip;

let backend: Registry;
let hub: HubLike;
let dest: Registry;
let destProxy: Proxy;
let olareg: Registry;
let work: string;
const images: Record<string, Fixture> = {};

const writes = (p: Proxy): number => p.log.filter(l => !['GET', 'HEAD'].includes(l.method)).length;

async function seed(fixture: Fixture, repository: string, tags: string[]): Promise<void> {
  for (const tag of tags) {
    await skopeo([
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${fixture.dir}:v1`,
      `docker://${backend.host}/${repository}:${tag}`
    ]);
  }
  const sig = `${fixture.digest.replace(':', '-')}.sig`;
  await skopeo([
    'copy',
    '--dest-tls-verify=false',
    `oci:${fixture.dir}:${sig}`,
    `docker://${backend.host}/${repository}:${sig}`
  ]);
}

function sync(config: object | string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runBundledAction('sync', {
    config: typeof config === 'string' ? config : YAML.stringify(config),
    ...inputs
  });
}

/** Distinct manifests of a fixture read when it is copied with its signature: index, platforms, signature. */
const manifestsOf = (f: Fixture): number => 1 + f.manifests.length + 1;

beforeAll(async () => {
  if (!ready) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-test-'));
  backend = (await startRegistry()) as Registry;
  hub = await startHubLike(backend.host, 1000);
  dest = (await startRegistry()) as Registry;
  destProxy = await startProxy(dest.host);
  olareg = (await startRegistry('none', 'olareg')) as Registry;
  for (const [name, seedName] of [
    ['v1250', 'nginx-1.25.0'],
    ['v1260', 'nginx-1.26.0'],
    ['v1261', 'nginx-1.26.1'],
    ['perl', 'nginx-1.26.1-perl'],
    ['v1262', 'nginx-1.26.2']
  ])
    images[name] = multiPlatformFixture({seed: seedName, layers: 2, layerSize: 4096});
  await seed(images.v1250, 'library/nginx', ['1.25.0']);
  await seed(images.v1260, 'library/nginx', ['1.26.0']);
  await seed(images.v1261, 'library/nginx', ['1.26.1', '1.26', 'latest']);
  await seed(images.perl, 'library/nginx', ['1.26.1-perl']);
  await seed(images.v1250, 'library/alpine', ['3.19', '3.19.1']);
}, 120_000);

afterAll(async () => {
  await destProxy?.stop();
  await Promise.all([backend, dest, olareg].filter(Boolean).map(r => r.stop()));
  await hub?.stop();
});

describe('sync from a Docker Hub-like source', () => {
  maybe(
    'first run: selected tags copied whole (signatures too), one GET per distinct manifest; a rerun spends no pulls and writes nothing',
    async () => {
      const config = {
        defaults: {destinations: [`${destProxy.host}/mirror/{repository}`]},
        images: [{source: `${hub.host}/library/nginx`, tags: {semver: '>=1.26', deny: ['*-perl']}}]
      };
      hub.reset();
      const first = await sync(config);
      expect(errorLines(first)).toEqual([]);
      expect(first.code).toBe(0);
      expect(first.outputs.outcome).toBe('complete');
      const result = JSON.parse(first.outputs.result) as {entries: Array<{selected: string[]; copied: string[]}>};
      expect(result.entries[0].selected).toEqual(['1.26.1', '1.26', '1.26.0']);
      expect(result.entries[0].copied).toEqual(['1.26.1', '1.26', '1.26.0']);
      // Two distinct images (1.26 is an alias of 1.26.1): each manifest read once, aliases not again.
      expect(hub.stats.manifestGets).toBe(manifestsOf(images.v1261) + manifestsOf(images.v1260));
      expect(hub.stats.tagLists).toBe(1);
      expect(hub.stats.writes).toBe(0);
      // Each selected tag is looked up once at the destination: planning reuses what the HEAD found.
      const tagHeads = destProxy.log.filter(l => l.method === 'HEAD' && /\/manifests\/1\.26/.test(l.path));
      expect(tagHeads.map(l => l.path.split('/').pop()).sort()).toEqual(['1.26', '1.26.0', '1.26.1']);
      for (const [tag, f] of [
        ['1.26.1', images.v1261],
        ['1.26', images.v1261],
        ['1.26.0', images.v1260]
      ] as const) {
        expect(await manifestDigest(`${dest.host}/mirror/library/nginx:${tag}`)).toBe(f.digest);
      }
      // The signature travelled with its image.
      const sig = `${images.v1261.digest.replace(':', '-')}.sig`;
      expect(await manifestDigest(`${dest.host}/mirror/library/nginx:${sig}`)).toBe(images.v1261.signature.digest);

      hub.reset();
      destProxy.log.length = 0;
      const again = await sync(config);
      expect(again.code).toBe(0);
      expect({
        outcome: again.outputs.outcome,
        copied: again.outputs.copied,
        unchanged: again.outputs.unchanged
      }).toEqual({outcome: 'complete', copied: '0', unchanged: '3'});
      // Nothing changed: one tag list, one HEAD per selected tag per side, no pull spent, no write.
      expect(hub.stats).toEqual(expect.objectContaining({manifestGets: 0, tagLists: 1, manifestHeads: 3, blobGets: 0}));
      expect(writes(destProxy)).toBe(0);
      expect(destProxy.log.filter(l => l.method === 'HEAD' && l.path.includes('/manifests/'))).toHaveLength(3);
    }
  );

  maybe('upstream moves a tag and adds one: only the new image is read and written', async () => {
    const config = {
      images: [
        {
          source: `${hub.host}/library/nginx`,
          destinations: [`${dest.host}/moves/{name}`],
          tags: {allow: ['1.26*'], deny: ['*-perl']}
        }
      ]
    };
    expect((await sync(config)).code).toBe(0);
    await seed(images.v1262, 'library/nginx', ['1.26.2', '1.26']);
    hub.reset();
    const run = await sync(config);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.outputs.result) as {entries: Array<{copied: string[]; unchanged: string[]}>};
    expect(result.entries[0].copied).toEqual(['1.26.2', '1.26']);
    expect(result.entries[0].unchanged).toEqual(['1.26.1', '1.26.0']);
    expect(hub.stats.manifestGets).toBe(manifestsOf(images.v1262));
    expect(await manifestDigest(`${dest.host}/moves/nginx:1.26`)).toBe(images.v1262.digest);
    // Put 1.26 back for the other tests.
    await seed(images.v1261, 'library/nginx', ['1.26']);
  });

  maybe(
    'upstream rebuilds a release tag: the image is refused (copied nowhere, no pull spent) unless move-immutable-tags',
    async () => {
      const config = {
        images: [
          {
            source: `${hub.host}/library/redis`,
            destinations: [`${dest.host}/guard/{name}`, `${olareg.host}/guard/{name}`]
          }
        ]
      };
      await seed(images.v1250, 'library/redis', ['7.2.4', 'latest']);
      expect((await sync(config)).code).toBe(0);
      // The same version, another image (a rebuild upstream), with latest on it.
      await seed(images.v1260, 'library/redis', ['7.2.4', 'latest']);
      hub.reset();
      const refused = await sync(config);
      expect(refused.code).toBe(0);
      expect(refused.outputs.refused).toBe('1');
      const warning = refused.stdout.split('\n').find(l => l.startsWith('::warning::') && l.includes('refused'));
      expect(warning).toContain(
        `(7.2.4, latest) refused: immutable-tags: ${dest.host}/guard/redis:7.2.4 is ${images.v1250.digest}, the copy is ${images.v1260.digest}; ${olareg.host}/guard/redis:7.2.4 is ${images.v1250.digest}, the copy is ${images.v1260.digest}.`
      );
      expect(hub.stats.manifestGets).toBe(0);
      for (const host of [dest.host, olareg.host])
        for (const tag of ['7.2.4', 'latest'])
          expect(await manifestDigest(`${host}/guard/redis:${tag}`)).toBe(images.v1250.digest);

      const moved = await sync(config, {'move-immutable-tags': 'true'});
      expect(moved.code).toBe(0);
      expect(moved.outputs.copied).toBe('2');
      expect(moved.stdout).toContain(
        `::warning::move-immutable-tags: moving ${dest.host}/guard/redis:7.2.4 from ${images.v1250.digest} to ${images.v1260.digest}.`
      );
      for (const host of [dest.host, olareg.host])
        expect(await manifestDigest(`${host}/guard/redis:7.2.4`)).toBe(images.v1260.digest);
    }
  );

  maybe('shard k/n: the parts of a matrix mirror disjoint sets of entries that together are all of them', async () => {
    const config = {
      defaults: {destinations: [`${dest.host}/sharded/{repository}`]},
      images: [
        {source: `${hub.host}/library/nginx`, tags: {allow: ['1.26.0']}},
        {source: `${hub.host}/library/alpine`, tags: {allow: ['3.19']}},
        {source: `${hub.host}/library/redis`, tags: {allow: ['latest']}}
      ]
    };
    const entries: string[][] = [];
    for (const shard of ['1/2', '2/2']) {
      const run = await sync(config, {shard, 'dry-run': 'true'});
      expect({shard, code: run.code, errors: errorLines(run)}).toEqual({shard, code: 0, errors: []});
      const result = JSON.parse(run.outputs.result) as {shard: string; entries: Array<{entry: string}>};
      entries.push(result.entries.map(e => e.entry));
      expect(result.shard).toBe(`shard ${shard}: ${result.entries.length} of 3 entries`);
      expect(run.stdout).toContain(`shard ${shard}: ${result.entries.length} of 3 entries`);
    }
    expect(entries.flat().sort()).toEqual(
      ['library/alpine', 'library/nginx', 'library/redis'].map(r => `${hub.host}/${r}`).sort()
    );
    const bad = await sync(config, {shard: '3/2'});
    expect(errorLines(bad)).toEqual([
      '::error::shard: "3/2" is not a shard. Write k/n with 1 ≤ k ≤ n ≤ 256, e.g. in a matrix: shard: [1/4, 2/4, 3/4, 4/4].'
    ]);
  });

  maybe(
    'the pull budget runs under the floor: no new copy starts, whole images only, the rest listed as left; the next run finishes',
    async () => {
      const config = {
        images: [
          {
            source: `${hub.host}/library/nginx`,
            destinations: [`${dest.host}/budget/nginx`],
            tags: {allow: ['1.2*'], deny: ['*-perl']}
          }
        ]
      };
      hub.reset();
      // Enough for one image (4 manifests) and a little: the second image must not start.
      hub.budget = 14;
      const run = await sync(config, {'rate-limit-floor': '10', concurrency: '1'});
      expect(run.code).toBe(1);
      expect(run.outputs.outcome).toBe('incomplete');
      expect(errorLines(run).join('\n')).toMatch(
        /incomplete: rate limit: 127\.0\.0\.1:\d+ reports \d+ pull\(s\) left, under the floor of 10/
      );
      const left = JSON.parse(run.outputs.left) as Array<{tags: string[]}>;
      expect(left.length).toBeGreaterThanOrEqual(1);
      const result = JSON.parse(run.outputs.result) as {entries: Array<{copied: string[]}>};
      expect(result.entries[0].copied.length).toBeGreaterThanOrEqual(1);
      // Every tag written resolves completely at the destination (index, platforms, blobs).
      for (const tag of result.entries[0].copied) {
        await skopeo([
          'copy',
          '--all',
          '--src-tls-verify=false',
          `docker://${dest.host}/budget/nginx:${tag}`,
          `oci:${path.join(work, `check-${tag}`)}:x`
        ]);
      }
      // No tag of an image that was left.
      for (const l of left)
        for (const tag of l.tags) await expect(manifestDigest(`${dest.host}/budget/nginx:${tag}`)).rejects.toThrow();
      // The summary says it stopped, and why.
      const page = await renderSummary(run.summary);
      expect(page.visibleText).toMatch(/stopped early for 127\.0\.0\.1:\d+: rate limit/);
      expect(page.tables[0].scrolls).toBe(false);

      // With allow-incomplete the step passes; with the budget back the next run completes.
      hub.budget = 1000;
      const next = await sync(config, {'rate-limit-floor': '10'});
      expect({code: next.code, outcome: next.outputs.outcome}).toEqual({code: 0, outcome: 'complete'});
    }
  );

  maybe(
    'a 429 mid-run (budget spent, floor 0) stops new copies: what was not copied is left, nothing half-written',
    async () => {
      const config = {
        images: [
          {
            source: `${hub.host}/library/nginx`,
            destinations: [`${dest.host}/spent/nginx`],
            tags: {allow: ['1.26.*'], deny: ['*-perl']}
          }
        ]
      };
      hub.reset();
      hub.budget = 2;
      const run = await sync(config, {
        'rate-limit-floor': '0',
        concurrency: '1',
        retries: '0',
        'allow-incomplete': 'true'
      });
      expect(run.code).toBe(0);
      expect(run.outputs.outcome).toBe('incomplete');
      expect(run.stdout).toContain('::warning::incomplete: rate limit');
      expect(run.stdout).toContain(HUB_LIMIT_MESSAGE.slice(0, 40));
      expect(hub.stats.refused).toBeGreaterThanOrEqual(1);
      const left = JSON.parse(run.outputs.left) as Array<{tags: string[]}>;
      expect(left.flatMap(l => l.tags).sort()).toEqual(['1.26.0', '1.26.1', '1.26.2']);
      for (const tag of ['1.26.0', '1.26.1', '1.26.2'])
        await expect(manifestDigest(`${dest.host}/spent/nginx:${tag}`)).rejects.toThrow();
      hub.budget = 1000;
    }
  );

  maybe('dry run: tag lists and HEADs only; platform subset: a marked index, current on the next run', async () => {
    const config = {
      images: [
        {
          source: `${hub.host}/library/alpine`,
          destinations: [`${dest.host}/subset/{name}`, `${olareg.host}/subset/{name}`],
          platforms: ['linux/amd64'],
          referrers: false
        }
      ]
    };
    hub.reset();
    const dry = await sync(config, {'dry-run': 'true'});
    expect({code: dry.code, copied: dry.outputs.copied}).toEqual({code: 0, copied: '2'});
    expect(hub.stats.manifestGets).toBe(0);
    await expect(manifestDigest(`${dest.host}/subset/alpine:3.19`)).rejects.toThrow();

    const run = await sync(config);
    expect(run.code).toBe(0);
    const mirrored = await skopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${dest.host}/subset/alpine:3.19`
    ]);
    const index = JSON.parse(mirrored) as {
      manifests: Array<{platform: {architecture: string}}>;
      annotations: Record<string, string>;
    };
    expect(index.manifests.map(m => m.platform.architecture)).toEqual(['amd64']);
    expect(index.annotations['dev.registry-actions.mirror.source-digest']).toBe(images.v1250.digest);
    expect(await manifestDigest(`${olareg.host}/subset/alpine:3.19`)).toBe(
      await manifestDigest(`${dest.host}/subset/alpine:3.19`)
    );

    hub.reset();
    const again = await sync(config);
    expect({copied: again.outputs.copied, unchanged: again.outputs.unchanged}).toEqual({copied: '0', unchanged: '2'});
    expect(hub.stats.manifestGets).toBe(0);
  });

  maybe('one failing entry never stops the others; the summary lists the failure', async () => {
    const run = await sync({
      defaults: {destinations: [`${dest.host}/many/{name}`]},
      images: [
        {source: `${hub.host}/library/missing`},
        {source: `${hub.host}/library/alpine`, tags: {allow: ['3.19.1']}}
      ]
    });
    expect(run.code).toBe(1);
    expect(run.outputs.outcome).toBe('failed');
    expect(errorLines(run).join('\n')).toContain(
      `${hub.host}/library/missing has no tags: the repository does not exist`
    );
    expect(await manifestDigest(`${dest.host}/many/alpine:3.19.1`)).toBe(images.v1250.digest);
    const page = await renderSummary(run.summary);
    expect(page.visibleText).toContain('entry failed');
    expect(page.disallowed).toEqual([]);
  });

  maybe(
    'verify: only images whose signature verifies with the key are mirrored; the others are refused, reported, not copied',
    async () => {
      const keys = fs.mkdtempSync(path.join(work, 'keys-'));
      const env = {PATH: process.env.PATH ?? '', HOME: keys, COSIGN_PASSWORD: 'sync-test'};
      await promisify(execFile)(cosign as string, ['generate-key-pair'], {cwd: keys, env});
      await promisify(execFile)(
        cosign as string,
        [
          'sign',
          '--key',
          'cosign.key',
          '--tlog-upload=false',
          '--new-bundle-format=true',
          '--use-signing-config=false',
          '--allow-http-registry',
          '--yes',
          `${backend.host}/library/nginx@${images.v1261.digest}`
        ],
        {cwd: keys, env}
      );
      const run = await sync(
        {
          images: [
            {
              source: `${hub.host}/library/nginx`,
              destinations: [`${dest.host}/verified/nginx`],
              tags: {allow: ['1.26.0', '1.26.1']},
              verify: {key: path.join(keys, 'cosign.pub'), 'ignore-tlog': true}
            }
          ]
        },
        {'cosign-path': cosign as string}
      );
      expect(errorLines(run)).toEqual([]);
      expect({code: run.code, outcome: run.outputs.outcome, refused: run.outputs.refused}).toEqual({
        code: 0,
        outcome: 'complete',
        refused: '1'
      });
      expect(await manifestDigest(`${dest.host}/verified/nginx:1.26.1`)).toBe(images.v1261.digest);
      await expect(manifestDigest(`${dest.host}/verified/nginx:1.26.0`)).rejects.toThrow();
      expect(run.stdout).toMatch(
        new RegExp(`::warning::.*@${images.v1260.digest} \\(1\\.26\\.0\\) refused: signature: `)
      );
      // The signature travelled with the image: cosign verifies the mirror on its own.
      await promisify(execFile)(
        cosign as string,
        [
          'verify',
          '--key',
          'cosign.pub',
          '--insecure-ignore-tlog=true',
          '--allow-http-registry',
          `${dest.host}/verified/nginx@${images.v1261.digest}`
        ],
        {cwd: keys, env}
      );
    }
  );

  maybe('the command line: the same run from a config file, outputs printed, --json, exit codes', async () => {
    const file = path.join(work, 'mirror.yaml');
    fs.writeFileSync(
      file,
      YAML.stringify({images: [{source: `${hub.host}/library/alpine`, destinations: [`${dest.host}/cli/alpine`]}]})
    );
    const cli = (args: string[]): Promise<{code: number; stdout: string; stderr: string}> =>
      promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'registry-actions.js'), 'sync', ...args], {
        env: {PATH: process.env.PATH ?? '', HOME: work}
      })
        .then(r => ({code: 0, stdout: r.stdout, stderr: r.stderr}))
        .catch((e: {code: number; stdout: string; stderr: string}) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr
        }));
    const dry = await cli(['--config-file', file, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect((JSON.parse(dry.stdout) as {outputs: Record<string, string>}).outputs).toEqual(
      expect.objectContaining({outcome: 'complete', copied: '2'})
    );
    const real = await cli(['--config-file', file]);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('copied: 2');
    expect(await manifestDigest(`${dest.host}/cli/alpine:3.19`)).toBe(images.v1250.digest);
    const bad = await cli(['--config-file', path.join(work, 'missing.yaml')]);
    expect({code: bad.code, stderr: bad.stderr}).toEqual({code: 1, stderr: expect.stringContaining('config-file:')});
  });

  maybe("newest by creation time reads each candidate's config; pinned digests are mirrored by digest", async () => {
    const made: Record<string, Fixture> = {};
    for (const [tag, created] of [
      ['1.0', '2026-03-01T00:00:00Z'],
      ['2.0', '2026-01-01T00:00:00Z'],
      ['edge', '2026-05-01T00:00:00Z']
    ]) {
      made[tag] = multiPlatformFixture({seed: `busybox-${tag}`, created, layerSize: 1024});
      await seed(made[tag], 'library/busybox', [tag]);
    }
    const run = await sync({
      images: [
        {
          source: `${hub.host}/library/busybox`,
          destinations: [`${dest.host}/created/busybox`],
          tags: {newest: 2, 'newest-by': 'created'}
        },
        {
          source: `${hub.host}/library/nginx`,
          destinations: [`${dest.host}/pinned/nginx`],
          tags: {allow: ['none'], digests: [images.v1260.digest]}
        }
      ]
    });
    expect(errorLines(run)).toEqual([]);
    const result = JSON.parse(run.outputs.result) as {entries: Array<{selected: string[]}>};
    expect(result.entries[0].selected).toEqual(['edge', '1.0']);
    expect(await manifestDigest(`${dest.host}/created/busybox:edge`)).toBe(made.edge.digest);
    await expect(manifestDigest(`${dest.host}/created/busybox:2.0`)).rejects.toThrow();
    expect(await manifestDigest(`${dest.host}/pinned/nginx@${images.v1260.digest}`)).toBe(images.v1260.digest);
    // Already there: the next run reads nothing of it (a HEAD by digest at the destination decides).
    hub.reset();
    const again = await sync({
      images: [
        {
          source: `${hub.host}/library/nginx`,
          destinations: [`${dest.host}/pinned/nginx`],
          tags: {allow: ['none'], digests: [images.v1260.digest]}
        }
      ]
    });
    expect({code: again.code, outcome: again.outputs.outcome}).toEqual({code: 0, outcome: 'complete'});
    expect(hub.stats.manifestGets).toBe(0);
  });

  maybe('bad configuration fails before any request, naming the key', async () => {
    hub.reset();
    const cases: Array<[string, string]> = [
      [
        `images:\n  - source: ${hub.host}/library/nginx\n    destinations: ['x/{repo}']\n`,
        'has an unknown placeholder'
      ],
      [
        `images:\n  - source: ${hub.host}/library/nginx\n    tag: {allow: [1]}\n`,
        'config: images[0]: unknown key "tag"'
      ],
      [
        `images:\n  - source: ${hub.host}/library/nginx\n    destinations: [r.example/m]\n    tags: {allow: ['/(/']}\n`,
        'images[0].tags.allow: /(/ is not a regular expression'
      ],
      [
        `images:\n  - source: ${hub.host}/library/nginx:1.26\n    destinations: [r.example/m]\n`,
        'names a tag or digest'
      ],
      [`images: []\n`, 'give at least one entry']
    ];
    for (const [text, message] of cases) {
      const run = await sync(text);
      expect({code: run.code, error: errorLines(run).join('\n')}).toEqual({
        code: 1,
        error: expect.stringContaining(message)
      });
    }
    expect(hub.stats.tokens + hub.stats.tagLists).toBe(0);
  });
});

describe.each(nodeRuntimes())('sync on %s (action.yml declares node24)', (label, node) => {
  (ready && node ? test : test.skip)('mirrors, then finds nothing changed', async () => {
    const config = YAML.stringify({
      images: [
        {
          source: `${hub.host}/library/alpine`,
          destinations: [`${dest.host}/runtime-${label.replace(/\W/g, '')}/alpine`]
        }
      ]
    });
    const first = await runBundledAction('sync', {config}, {}, {node});
    expect({code: first.code, errors: errorLines(first), copied: first.outputs.copied}).toEqual({
      code: 0,
      errors: [],
      copied: '2'
    });
    const again = await runBundledAction('sync', {config}, {}, {node});
    expect({code: again.code, copied: again.outputs.copied, unchanged: again.outputs.unchanged}).toEqual({
      code: 0,
      copied: '0',
      unchanged: '2'
    });
  });
});
