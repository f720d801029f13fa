import crypto from 'node:crypto';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Fixture, layoutTarball, multiPlatformFixture} from '../helpers/images.js';
import {
  PASSWORD,
  Registry,
  TokenServer,
  USER,
  manifestDigest,
  skopeo,
  startRegistry,
  startTokenServer
} from '../helpers/registry.js';
import {pushResults, runBundledAction} from '../helpers/run-action.js';
import {nodeRuntimes, requireTool} from '../helpers/tools.js';
import {startForwardProxy, startProxy} from '../helpers/proxy.js';

const ready = !!requireTool('docker-registry') && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;

let anon: Registry;
let basic: Registry;
let tokenReg: Registry;
let tokens: TokenServer;
let fixture: Fixture;

const rawDigest = manifestDigest;
const results = pushResults;

const creds = `${USER}:${PASSWORD}`;

beforeAll(async () => {
  if (!ready) return;
  tokens = await startTokenServer();
  [anon, basic, tokenReg] = (await Promise.all([
    startRegistry('none'),
    startRegistry('htpasswd'),
    startRegistry({token: tokens})
  ])) as Registry[];
  fixture = multiPlatformFixture({platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7']});
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${fixture.dir}:v1`, `docker://${anon.host}/app:v1`]);
  const sigTag = `${fixture.digest.replace(':', '-')}.sig`;
  await skopeo([
    'copy',
    '--dest-tls-verify=false',
    `oci:${fixture.dir}:${sigTag}`,
    `docker://${anon.host}/app:${sigTag}`
  ]);
}, 60000);

afterAll(async () => {
  await Promise.all([anon, basic, tokenReg].filter(Boolean).map(r => r.stop()));
  await tokens?.stop();
});

describe('push-multi against real registries', () => {
  maybe(
    'copies every platform and the signature to anonymous, htpasswd and token registries, then a rerun writes nothing',
    async () => {
      const inputs = {
        source: `${anon.host}/app:v1`,
        destinations: [
          `${basic.host}/team/app,username=${USER},password-env=BASIC_PASSWORD`,
          `${tokenReg.host}/team/app,username=${USER},password-env=TOKEN_PASSWORD`,
          `${anon.host}/mirror/app`
        ].join('\n'),
        tags: `v1\n${basic.host}/team/app:only-basic`
      };
      const env = {BASIC_PASSWORD: PASSWORD, TOKEN_PASSWORD: PASSWORD};
      const first = await runBundledAction('push-multi', inputs, env);
      expect({code: first.code, errors: first.stdout.split('\n').filter(l => l.startsWith('::error'))}).toEqual({
        code: 0,
        errors: []
      });
      expect(first.outputs.digest).toBe(fixture.digest);
      expect(first.stdout).toContain(`::add-mask::${PASSWORD}`);

      const sigTag = `${fixture.digest.replace(':', '-')}.sig`;
      for (const [host, repo, c] of [
        [basic.host, 'team/app', creds],
        [tokenReg.host, 'team/app', creds],
        [anon.host, 'mirror/app', undefined]
      ] as const) {
        expect(await rawDigest(`${host}/${repo}:v1`, c)).toBe(fixture.digest);
        for (const m of fixture.manifests) expect(await rawDigest(`${host}/${repo}@${m.digest}`, c)).toBe(m.digest);
        expect(await rawDigest(`${host}/${repo}:${sigTag}`, c)).toBe(fixture.signature.digest);
        const tags = JSON.parse(
          await skopeo(['list-tags', '--tls-verify=false', ...(c ? ['--creds', c] : []), `docker://${host}/${repo}`])
        ).Tags as string[];
        expect(tags.sort()).toEqual((host === basic.host ? ['only-basic', sigTag, 'v1'] : [sigTag, 'v1']).sort());
      }
      const byDest = Object.fromEntries(results(first).map(r => [r.destination, r]));
      // Within one registry the blobs are mounted, not uploaded.
      expect(byDest[`${anon.host}/mirror/app`].counters).toMatchObject({blobsMounted: 11, blobsUploaded: 0});
      expect(byDest[`${basic.host}/team/app`].counters).toMatchObject({
        blobsUploaded: 11,
        manifestsWritten: 5,
        tagsWritten: 3
      });

      const refs = first.outputs.refs.split('\n');
      expect(refs).toContain(`${basic.host}/team/app:only-basic`);
      expect(refs).toContain(`${tokenReg.host}/team/app@${fixture.digest}`);
      expect(refs).not.toContain(`${tokenReg.host}/team/app:only-basic`);

      const again = await runBundledAction('push-multi', inputs, env);
      expect(again.code).toBe(0);
      for (const r of results(again)) {
        expect({
          d: r.destination,
          status: r.status,
          up: r.counters.blobsUploaded,
          m: r.counters.manifestsWritten,
          t: r.counters.tagsWritten
        }).toEqual({
          d: r.destination,
          status: 'up-to-date',
          up: 0,
          m: 0,
          t: 0
        });
      }
    }
  );

  maybe('a mount within a token registry asks for both scopes in one token request', async () => {
    const env = {P: PASSWORD};
    const seed = await runBundledAction(
      'push-multi',
      {
        source: `oci:${fixture.dir}:v1`,
        destinations: `${tokenReg.host}/src/app,username=${USER},password-env=P`,
        tags: 'v1'
      },
      env
    );
    expect(seed.code).toBe(0);
    tokens.requests.length = 0;
    const run = await runBundledAction(
      'push-multi',
      {
        source: `${tokenReg.host}/src/app:v1`,
        'source-username': USER,
        'source-password': PASSWORD,
        destinations: `${tokenReg.host}/dst/app,username=${USER},password-env=P`,
        tags: 'v1'
      },
      env
    );
    expect(run.code).toBe(0);
    expect(results(run)[0].counters).toMatchObject({blobsMounted: 11, blobsUploaded: 0});
    expect(
      tokens.requests.some(
        r => r.scopes.includes('repository:dst/app:pull,push') && r.scopes.includes('repository:src/app:pull')
      )
    ).toBe(true);
  });

  maybe('a destination that refuses the credentials fails by name while the others complete', async () => {
    const run = await runBundledAction(
      'push-multi',
      {
        source: `oci:${fixture.dir}:v1`,
        destinations: `${basic.host}/refused/app,username=${USER},password-env=WRONG\n${anon.host}/partial/app`,
        tags: 'v1'
      },
      {WRONG: 'not-the-password'}
    );
    expect(run.code).toBe(1);
    const byDest = Object.fromEntries(results(run).map(r => [r.destination, r]));
    expect(byDest[`${anon.host}/partial/app`].status).toBe('copied');
    expect(byDest[`${basic.host}/refused/app`].status).toBe('failed');
    expect(byDest[`${basic.host}/refused/app`].error).toMatch(/credentials were refused/);
    expect(run.stdout).toMatch(
      new RegExp(`::error::1 of 2 destination\\(s\\) failed: ${basic.host.replace(/\./g, '\\.')}/refused/app`)
    );
    await expect(
      skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${basic.host}/refused/app:v1`])
    ).rejects.toThrow();
  });

  maybe('an OCI layout tarball is a source, and a layout directory a destination, byte for byte', async () => {
    const tarball = layoutTarball(fixture.dir);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'out-')), 'layout');
    const run = await runBundledAction('push-multi', {
      source: `oci:${tarball}:v1`,
      destinations: `oci:${out}\n${anon.host}/from-tar/app`,
      tags: 'v1'
    });
    expect({code: run.code, errors: run.stdout.split('\n').filter(l => l.startsWith('::error'))}).toEqual({
      code: 0,
      errors: []
    });
    expect(await rawDigest(`${anon.host}/from-tar/app:v1`)).toBe(fixture.digest);
    const raw = await skopeo(['inspect', '--raw', `oci:${out}:v1`]);
    expect(`sha256:${crypto.createHash('sha256').update(raw).digest('hex')}`).toBe(fixture.digest);
    const sig = await skopeo(['inspect', '--raw', `oci:${out}:${fixture.digest.replace(':', '-')}.sig`]);
    expect(`sha256:${crypto.createHash('sha256').update(sig).digest('hex')}`).toBe(fixture.signature.digest);
  });

  maybe('platforms picks a subset: a new index with only those platforms, each platform byte for byte', async () => {
    const run = await runBundledAction('push-multi', {
      source: `${anon.host}/app:v1`,
      destinations: `${anon.host}/subset/app`,
      tags: 'arm',
      platforms: 'linux/arm64, linux/arm/v7'
    });
    expect({code: run.code, errors: run.stdout.split('\n').filter(l => l.startsWith('::error'))}).toEqual({
      code: 0,
      errors: []
    });
    expect(run.outputs.digest).not.toBe(fixture.digest);
    expect(run.stdout).toContain(`the source is ${fixture.digest}`);
    const raw = JSON.parse(
      await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${anon.host}/subset/app:arm`])
    ) as {
      manifests: Array<{digest: string; platform: {architecture: string}}>;
    };
    expect(raw.manifests.map(m => m.digest)).toEqual(fixture.manifests.slice(1).map(m => m.digest));
    expect(await manifestDigest(`${anon.host}/subset/app:arm`)).toBe(run.outputs.digest);
    // Every platform the source has, named (in another order): the source's index as it is, not a
    // rewritten copy. Its bytes pretty-printed, as Docker Hub serves many: re-serialising would change the digest.
    const index = await (
      await fetch(`${anon.url}/v2/app/manifests/v1`, {headers: {accept: 'application/vnd.oci.image.index.v1+json'}})
    ).json();
    const pretty = Buffer.from(JSON.stringify(index, null, 3));
    const put = await fetch(`${anon.url}/v2/app/manifests/pretty`, {
      method: 'PUT',
      headers: {'content-type': 'application/vnd.oci.image.index.v1+json'},
      body: pretty
    });
    expect(put.status).toBe(201);
    const prettyDigest = `sha256:${crypto.createHash('sha256').update(pretty).digest('hex')}`;
    const every = await runBundledAction('push-multi', {
      source: `${anon.host}/app:pretty`,
      destinations: `${anon.host}/subset/every`,
      tags: 'all',
      platforms: 'linux/arm/v7, linux/amd64, linux/arm64'
    });
    expect({code: every.code, digest: every.outputs.digest}).toEqual({code: 0, digest: prettyDigest});
    expect(await manifestDigest(`${anon.host}/subset/every:all`)).toBe(prettyDigest);
    const none = await runBundledAction('push-multi', {
      source: `${anon.host}/app:v1`,
      destinations: `${anon.host}/subset/none`,
      platforms: 'windows/amd64'
    });
    expect(none.code).not.toBe(0);
    expect(none.stdout).toContain(
      'platforms: none of windows/amd64 is in the source (it has linux/amd64, linux/arm64, linux/arm/v7)'
    );
  });

  maybe('bad input is refused before anything is copied, naming the input', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        {source: 'ghcr.io/Acme/app:1', destinations: `${anon.host}/x`},
        /source: "ghcr.io\/Acme\/app:1" is not a valid image reference: repository names must be lowercase/
      ],
      [
        {source: `${anon.host}/app:v1`, destinations: `${anon.host}/x,provider=quay`},
        /destinations: unknown provider "quay"/
      ],
      [
        {source: `${anon.host}/app:v1`, destinations: `${anon.host}/x,username=u,password-env=NOPE`},
        /reads its password from \$NOPE, which is empty or unset/
      ],
      [{source: `${anon.host}/app:missing`, destinations: `${anon.host}/x`}, /source: cannot read .*app:missing/]
    ];
    for (const [inputs, message] of cases) {
      const run = await runBundledAction('push-multi', inputs);
      const errors = run.stdout.split('\n').filter(l => l.startsWith('::error::'));
      expect({code: run.code, errors}).toEqual({code: 1, errors: [expect.stringMatching(message)]});
      expect(run.stdout).not.toMatch(/\n\s+at /);
    }
  });
});

describe.each(nodeRuntimes())('push-multi on %s (action.yml declares node24)', (_label, node) => {
  const run = node && ready ? test : test.skip;
  run('copies to a token-auth registry, in chunks, through a proxy; the rerun uploads nothing', async () => {
    const big = multiPlatformFixture({platforms: ['linux/amd64'], layers: 1, layerSize: 600000, seed: 'node-runtime'});
    const source = `${anon.host}/big-${crypto.randomBytes(3).toString('hex')}`;
    await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${big.dir}:v1`, `docker://${source}:v1`]);
    const fwd = await startForwardProxy();
    const front = await startProxy(tokenReg.host);
    try {
      const repo = `node-runtime-${crypto.randomBytes(3).toString('hex')}`;
      const inputs = {
        source: `${source}:v1`,
        destinations: `${front.host}/${repo},username=${USER},password-env=P,chunk-size=256KiB`,
        tags: 'v1'
      };
      const env = {P: PASSWORD, HTTP_PROXY: fwd.url};
      const first = await runBundledAction('push-multi', inputs, env, {node});
      expect({code: first.code, errors: first.stdout.split('\n').filter(l => l.startsWith('::error'))}).toEqual({
        code: 0,
        errors: []
      });
      expect(fwd.log.length).toBeGreaterThan(0);
      // The 600 kB layer went as three chunks of at most 256 KiB.
      expect(results(first)[0].counters).toMatchObject({blobsUploaded: 2});
      expect(front.log.filter(l => l.method === 'PATCH' && l.status === 202).map(l => l.range)).toEqual([
        '0-262143',
        '262144-524287',
        expect.stringMatching(/^524288-\d+$/)
      ]);
      expect(await rawDigest(`${tokenReg.host}/${repo}:v1`, creds)).toBe(big.digest);
      const again = await runBundledAction('push-multi', inputs, env, {node});
      expect(again.code).toBe(0);
      expect(results(again)[0].counters).toMatchObject({blobsUploaded: 0, manifestsWritten: 0, tagsWritten: 0});
    } finally {
      await fwd.stop();
      await front.stop();
    }
  });
});
