import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {Fixture, multiPlatformFixture} from '../helpers/images.js';
import {Proxy, startProxy} from '../helpers/proxy.js';
import {Registry, manifestDigest, skopeo, startRegistry} from '../helpers/registry.js';
import {pushResults, runBundledAction} from '../helpers/run-action.js';
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
