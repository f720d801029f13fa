import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {Fixture, multiPlatformFixture} from '../helpers/images.js';
import {Proxy, ProxyOptions, startForwardProxy, startProxy} from '../helpers/proxy.js';
import {Registry, manifestDigest, skopeo, startRegistry} from '../helpers/registry.js';
import {errorLines, pushResults, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';

const ready = !!requireTool('docker-registry') && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;

let src: Registry;
let dst: Registry;
let srcProxy: Proxy;
let dstProxy: Proxy;
let fixture: Fixture;

const results = pushResults;
const digestOf = (ref: string): Promise<string> => manifestDigest(ref);

beforeAll(async () => {
  if (!ready) return;
  [src, dst] = (await Promise.all([startRegistry('none'), startRegistry('none')])) as Registry[];
  [srcProxy, dstProxy] = await Promise.all([startProxy(src.host), startProxy(dst.host)]);
  fixture = multiPlatformFixture({platforms: ['linux/amd64', 'linux/arm64'], layerSize: 300000, seed: 'faults'});
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${fixture.dir}:v1`, `docker://${src.host}/app:v1`]);
}, 60000);

afterAll(async () => {
  await Promise.all([srcProxy, dstProxy, src, dst].filter(Boolean).map(x => x.stop()));
});

describe('push-multi through a faulty network', () => {
  maybe(
    '429 with Retry-After, 503 on uploads and a connection reset mid-blob: the copy completes, verified',
    async () => {
      dstProxy.rules.push(
        {
          method: 'HEAD',
          path: /\/manifests\//,
          fault: {kind: 'status', status: 429, headers: {'retry-after': '1'}},
          times: 2
        },
        {method: 'POST', path: /\/blobs\/uploads\/$/, fault: {kind: 'status', status: 503}, times: 2}
      );
      srcProxy.rules.push({
        method: 'GET',
        path: /\/blobs\/sha256:/,
        fault: {kind: 'reset-response', afterBytes: 50000},
        times: 1
      });
      const run = await runBundledAction('push-multi', {
        source: `${srcProxy.host}/app:v1`,
        destinations: `${dstProxy.host}/faults/app`,
        tags: 'v1'
      });
      expect({code: run.code, errors: run.stdout.split('\n').filter(l => l.startsWith('::error'))}).toEqual({
        code: 0,
        errors: []
      });
      expect(dstProxy.log.filter(l => l.faulted).map(l => l.status)).toEqual([429, 429, 503, 503]);
      expect(srcProxy.log.filter(l => l.faulted).map(l => l.status)).toEqual(['reset']);
      expect(results(run)[0].retries).toBeGreaterThanOrEqual(4);
      expect(await digestOf(`${dst.host}/faults/app:v1`)).toBe(fixture.digest);
      for (const m of fixture.manifests) expect(await digestOf(`${dst.host}/faults/app@${m.digest}`)).toBe(m.digest);
    }
  );

  maybe(
    'three destinations share one download of each blob; a failed upload on one leaves the others alone',
    async () => {
      const third = (await startRegistry('none')) as Registry;
      const thirdProxy = await startProxy(third.host);
      try {
        const before = srcProxy.log.length;
        // One destination's first blob upload fails: it retries with a download of its own.
        thirdProxy.rules.push({
          method: 'PUT',
          path: /\/blobs\/uploads\//,
          fault: {kind: 'status', status: 503},
          times: 1
        });
        const run = await runBundledAction('push-multi', {
          source: `${srcProxy.host}/app:v1`,
          destinations: [`${dstProxy.host}/shared/a`, `${dst.host}/shared/b`, `${thirdProxy.host}/shared/c`].join('\n'),
          tags: 'v1'
        });
        expect({code: run.code, errors: run.stdout.split('\n').filter(l => l.startsWith('::error'))}).toEqual({
          code: 0,
          errors: []
        });
        const blobGets = srcProxy.log.slice(before).filter(l => l.method === 'GET' && /\/blobs\/sha256:/.test(l.path));
        const blobs = new Set(blobGets.map(l => l.path));
        // Each blob read once for the three destinations, plus one more read for the retried upload.
        expect(blobGets.length).toBe(blobs.size + 1);
        for (const repo of [`${dst.host}/shared/a`, `${dst.host}/shared/b`, `${third.host}/shared/c`]) {
          expect(await digestOf(`${repo}:v1`)).toBe(fixture.digest);
          for (const m of fixture.manifests) expect(await digestOf(`${repo}@${m.digest}`)).toBe(m.digest);
        }
      } finally {
        await thirdProxy.stop();
        await third.stop();
      }
    }
  );

  describe('a registry behind a request size limit (413 on large bodies, as nginx client_max_body_size)', () => {
    const MiB = 1048576;
    let big: Fixture;
    let limited: Registry;
    beforeAll(async () => {
      if (!ready) return;
      limited = (await startRegistry('none')) as Registry;
      big = multiPlatformFixture({platforms: ['linux/amd64', 'linux/arm64'], layerSize: 1.5 * MiB, seed: 'big'});
      await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${big.dir}:v1`, `docker://${src.host}/big:v1`]);
    }, 60000);
    afterAll(async () => {
      await limited?.stop();
    });

    /** Runs fn with a proxy in front of the limited registry, stopped afterwards whatever happens. */
    async function throughLimit(opts: ProxyOptions, fn: (proxy: Proxy) => Promise<void>): Promise<void> {
      const proxy = await startProxy(limited.host, opts);
      try {
        await fn(proxy);
      } finally {
        await proxy.stop();
      }
    }

    /** Every upload session's PATCHes start at 0 and follow each other without gaps or overlaps. */
    function expectContiguous(log: Proxy['log']): void {
      const sessions = new Map<string, string[]>();
      for (const l of log.filter(x => x.method === 'PATCH' && x.status === 202)) {
        const uuid = l.path.match(/\/blobs\/uploads\/([^/?]+)/)?.[1] ?? '';
        sessions.set(uuid, [...(sessions.get(uuid) ?? []), l.range ?? '']);
      }
      expect(sessions.size).toBeGreaterThan(0);
      for (const ranges of sessions.values()) {
        let next = 0;
        for (const r of ranges) {
          const [start, end] = r.split('-').map(Number);
          expect({start, end: end >= start}).toEqual({start: next, end: true});
          next = end + 1;
        }
      }
    }

    maybe(
      'a refused whole-blob PUT switches that registry to chunked uploads; the other destination keeps its shared download',
      async () => {
        await throughLimit({maxBodyBytes: MiB}, async proxy => {
          const before = srcProxy.log.length;
          const run = await runBundledAction('push-multi', {
            source: `${srcProxy.host}/big:v1`,
            destinations: `${proxy.host}/chunked/app\n${dst.host}/unlimited/app`,
            tags: 'v1'
          });
          expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
          const refused = proxy.log.filter(l => l.status === 413);
          // The four 1.5 MiB layers were refused whole, once each, and then sent in chunks under the limit.
          expect(refused.map(l => [l.method, (l.length ?? 0) > MiB])).toEqual(Array(4).fill(['PUT', true]));
          const patches = proxy.log.filter(l => l.method === 'PATCH');
          expect(patches.length).toBeGreaterThanOrEqual(8);
          expect(patches.every(l => l.status === 202 && (l.length ?? 0) <= MiB)).toBe(true);
          expectContiguous(proxy.log);
          expect(run.stdout).toMatch(/refused as too large \(HTTP 413\); uploading in chunks of 786432 bytes/);
          // Each refused layer was read twice: once shared by both destinations, once more for the restart.
          const gets = srcProxy.log.slice(before).filter(l => l.method === 'GET' && /\/blobs\/sha256:/.test(l.path));
          const layers = refused.map(l => decodeURIComponent(l.path.match(/digest=([^&]+)/)?.[1] ?? ''));
          expect(new Set(layers).size).toBe(4);
          for (const d of layers) expect([d, gets.filter(l => l.path.endsWith(`/blobs/${d}`)).length]).toEqual([d, 2]);
          const byDest = Object.fromEntries(results(run).map(r => [r.destination, r]));
          expect(byDest[`${proxy.host}/chunked/app`].counters).toMatchObject({blobsUploaded: 6, tagsWritten: 1});
          expect(byDest[`${dst.host}/unlimited/app`].counters).toMatchObject({blobsUploaded: 6, tagsWritten: 1});
          for (const repo of [`${limited.host}/chunked/app`, `${dst.host}/unlimited/app`]) {
            expect(await digestOf(`${repo}:v1`)).toBe(big.digest);
            for (const m of big.manifests) expect(await digestOf(`${repo}@${m.digest}`)).toBe(m.digest);
          }
        });
      }
    );

    maybe(
      'a proxy that answers 413 and closes at once (the answer lost to the upload): chunks all the same',
      async () => {
        await throughLimit({maxBodyBytes: MiB, closeOnRefuse: true}, async proxy => {
          const run = await runBundledAction('push-multi', {
            source: `${src.host}/big:v1`,
            destinations: `${proxy.host}/abrupt/app`,
            tags: 'v1'
          });
          expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
          expect(run.stdout).toMatch(
            /(refused as too large \(HTTP 413\)|cut off while being sent).*; uploading in chunks of/
          );
          expect(proxy.log.filter(l => l.method === 'PATCH' && l.status === 202).length).toBeGreaterThanOrEqual(8);
          expectContiguous(proxy.log);
          expect(await digestOf(`${limited.host}/abrupt/app:v1`)).toBe(big.digest);
        });
      }
    );

    maybe('chunk-size= sends chunks from the start, and a chunk refused with 413 is split in place', async () => {
      await throughLimit({maxBodyBytes: 700000}, async proxy => {
        const run = await runBundledAction('push-multi', {
          source: `${src.host}/big:v1`,
          destinations: `${proxy.host}/forced/app,chunk-size=1MiB`,
          tags: 'v1'
        });
        expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
        // No whole-blob PUT was tried; 1 MiB chunks were refused and split into 512 KiB ones.
        expect(proxy.log.filter(l => l.method === 'PUT' && (l.length ?? 0) > 700000)).toEqual([]);
        const refused = proxy.log.filter(l => l.status === 413);
        expect(refused.length).toBeGreaterThan(0);
        expect(refused.every(l => l.method === 'PATCH' && l.length === MiB)).toBe(true);
        const sent = proxy.log.filter(l => l.method === 'PATCH' && l.status === 202);
        expect(sent.every(l => (l.length ?? 0) <= 512 * 1024)).toBe(true);
        expectContiguous(proxy.log);
        expect(await digestOf(`${limited.host}/forced/app:v1`)).toBe(big.digest);
      });
    });

    maybe('a long copy logs progress (bytes, blobs, rate) and folds each destination into a group', async () => {
      await throughLimit({bandwidth: 2 * MiB}, async slow => {
        const run = await runBundledAction(
          'push-multi',
          {source: `${src.host}/big:v1`, destinations: `${slow.host}/progress/app`, tags: 'v1'},
          {REGISTRY_ACTIONS_PROGRESS_SECONDS: '0.25'}
        );
        expect(run.code).toBe(0);
        const lines = run.stdout.split('\n');
        const progress = lines.filter(l => l.startsWith(`${slow.host}/progress/app: `) && l.includes('MiB sent'));
        expect(progress.length).toBeGreaterThan(0);
        for (const l of progress)
          expect(l).toMatch(/: \d+\.\d of 6\.0 MiB sent, [0-5] of 6 blobs done \(\d+ MiB\/s\)$/);
        const group = lines.indexOf(
          lines.find(l => l.startsWith(`::group::${slow.host}/progress/app: copied, 6.0 MiB sent in `)) ?? ''
        );
        expect(group).toBeGreaterThan(-1);
        expect(lines.slice(group + 1, group + 8)).toEqual([
          'tags: v1',
          `digest: ${big.digest}`,
          'blobs: 0 present, 0 mounted, 6 uploaded',
          'manifests: 3 written, 0 present',
          'tags: 1 written, 0 already right',
          expect.stringMatching(/^requests: \d+$/),
          '::endgroup::'
        ]);
      });
    });

    maybe('a limit too small to chunk under fails that destination, naming the fix, with no tag written', async () => {
      await throughLimit({maxBodyBytes: 100000}, async proxy => {
        const run = await runBundledAction('push-multi', {
          source: `${src.host}/big:v1`,
          destinations: `${proxy.host}/tiny/app\n${dst.host}/fine/app`,
          tags: 'v1',
          retries: '1'
        });
        expect(run.code).toBe(1);
        const byDest = Object.fromEntries(results(run).map(r => [r.destination, r]));
        expect(byDest[`${proxy.host}/tiny/app`].status).toBe('failed');
        expect(byDest[`${proxy.host}/tiny/app`].error).toMatch(
          /refuses a request of \d+ bytes \(HTTP 413\).*client_max_body_size.*chunk-size=/
        );
        expect(byDest[`${dst.host}/fine/app`].status).toBe('copied');
        await expect(
          skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${limited.host}/tiny/app:v1`])
        ).rejects.toThrow(/manifest unknown|not found/i);
      });
    });
  });

  maybe('behind a proxy: HTTP_PROXY carries every registry request; NO_PROXY hosts go direct', async () => {
    const fwd = await startForwardProxy();
    try {
      const inputs = {source: `${src.host}/app:v1`, destinations: `${dst.host}/proxied/app`, tags: 'v1'};
      const run = await runBundledAction('push-multi', inputs, {HTTP_PROXY: fwd.url});
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      // Absolute-URI requests or CONNECT tunnels (undici tunnels plain HTTP too): either names the host.
      const hostOf = (l: string): string => l.split(' ')[1].replace(/^http:\/\/([^/]+).*$/, '$1');
      const hosts = new Set(fwd.log.map(hostOf));
      expect([...hosts].sort()).toEqual([src.host, dst.host].sort());
      expect(fwd.log.length).toBeGreaterThan(1);
      expect(await digestOf(`${dst.host}/proxied/app:v1`)).toBe(fixture.digest);
      for (const m of fixture.manifests) expect(await digestOf(`${dst.host}/proxied/app@${m.digest}`)).toBe(m.digest);

      fwd.log.length = 0;
      const direct = await runBundledAction(
        'push-multi',
        {...inputs, destinations: `${dst.host}/proxied/again`},
        {HTTP_PROXY: fwd.url, NO_PROXY: src.host}
      );
      expect(direct.code).toBe(0);
      expect(fwd.log.length).toBeGreaterThan(0);
      expect(new Set(fwd.log.map(hostOf))).toEqual(new Set([dst.host]));
    } finally {
      await fwd.stop();
    }
  });

  maybe('two destinations in one registry each report their own requests', async () => {
    const before = dstProxy.log.length;
    const run = await runBundledAction('push-multi', {
      source: `${src.host}/app:v1`,
      destinations: `${dstProxy.host}/counts/a\n${dstProxy.host}/counts/b`,
      tags: 'v1'
    });
    expect(run.code).toBe(0);
    const seen = dstProxy.log.slice(before);
    const own = (repo: string): number => seen.filter(l => l.path.startsWith(`/v2/${repo}/`)).length;
    expect(own('counts/a')).toBeGreaterThan(10);
    expect(results(run).map(r => [r.destination, r.requests])).toEqual([
      [`${dstProxy.host}/counts/a`, own('counts/a')],
      [`${dstProxy.host}/counts/b`, own('counts/b')]
    ]);
  });

  maybe('a refused mount (401) falls back to an upload', async () => {
    srcProxy.rules.push({
      method: 'POST',
      path: /mount=/,
      fault: {kind: 'status', status: 401, body: '{"errors":[{"code":"UNAUTHORIZED"}]}'},
      times: 100
    });
    const run = await runBundledAction('push-multi', {
      source: `${srcProxy.host}/app:v1`,
      destinations: `${srcProxy.host}/mounted/app`,
      tags: 'v1'
    });
    expect(run.code).toBe(0);
    expect(results(run)[0].counters).toMatchObject({blobsMounted: 0, blobsUploaded: 6});
    expect(srcProxy.log.filter(l => l.faulted && l.method === 'POST').length).toBe(6);
    expect(await digestOf(`${src.host}/mounted/app:v1`)).toBe(fixture.digest);
  });

  maybe('a destination that keeps failing is reported and left with no tag', async () => {
    dstProxy.rules.push({method: 'PUT', path: /\/manifests\//, fault: {kind: 'status', status: 500}, times: 1000});
    const run = await runBundledAction(
      'push-multi',
      {
        source: `${srcProxy.host}/app:v1`,
        destinations: `${dstProxy.host}/broken/app\n${dst.host}/healthy/app`,
        tags: 'v1',
        retries: '1'
      },
      {}
    );
    dstProxy.rules.length = 0;
    expect(run.code).toBe(1);
    const byDest = Object.fromEntries(results(run).map(r => [r.destination, r]));
    expect(byDest[`${dstProxy.host}/broken/app`]).toMatchObject({status: 'failed'});
    expect(byDest[`${dstProxy.host}/broken/app`].error).toMatch(/PUT .*\/manifests\/sha256:.* answered 500/);
    // The counters say what was done although the destination failed: every blob went up before the manifest PUT.
    expect(byDest[`${dstProxy.host}/broken/app`].counters).toMatchObject({blobsUploaded: 6, manifestsWritten: 0});
    // Each failure is told once: its error line, then the step's failure naming the destination only.
    const lines = errorLines(run);
    expect(lines.filter(l => l.includes('answered 500'))).toHaveLength(1);
    expect(lines.filter(l => l.includes('broken/app'))).toHaveLength(2);
    expect(byDest[`${dst.host}/healthy/app`]).toMatchObject({status: 'copied'});
    await expect(
      skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${dst.host}/broken/app:v1`])
    ).rejects.toThrow(/manifest unknown|not found/i);
    // The rerun, with the network healthy, uploads nothing again.
    const rerun = await runBundledAction('push-multi', {
      source: `${srcProxy.host}/app:v1`,
      destinations: `${dstProxy.host}/broken/app`,
      tags: 'v1'
    });
    expect(rerun.code).toBe(0);
    expect(results(rerun)[0].counters).toMatchObject({blobsUploaded: 0, tagsWritten: 1});
  });
});
