import zlib from 'node:zlib';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import YAML from 'yaml';
import {LayoutBuilder, pseudoRandom, tar} from '../helpers/images.js';
import {Proxy, startProxy} from '../helpers/proxy.js';
import {Registry, manifestDigest, skopeo, startRegistry} from '../helpers/registry.js';
import {errorLines, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';

/**
 * Images built FROM one base share its layers. Mirrored several at once, each distinct blob is put
 * once per destination repository (the copies in flight wait for the one putting it), and each index
 * is written once, by its first tag, after its platforms.
 */
const ready = !!requireTool('docker-registry') && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;
const IMAGES = 6;

let upstream: Registry;
let dest: Registry;
let proxy: Proxy;
const base: string[] = [];
const digests: string[] = [];

beforeAll(async () => {
  if (!ready) return;
  [upstream, dest] = (await Promise.all([startRegistry(), startRegistry()])) as Registry[];
  proxy = await startProxy(dest.host);
  const b = new LayoutBuilder();
  const layer = (seed: string) =>
    b.blob(
      zlib.gzipSync(tar([{name: `base/${seed}`, data: pseudoRandom(seed, 256 * 1024)}]), {level: 1}),
      'application/vnd.oci.image.layer.v1.tar+gzip'
    );
  const amd = layer('base-amd64');
  const arm = layer('base-arm64');
  base.push(amd.digest, arm.digest);
  for (let i = 0; i < IMAGES; i++) {
    const index = b.index([
      b.imageOn({os: 'linux', architecture: 'amd64'}, [amd], `app${i}-amd64`),
      b.imageOn({os: 'linux', architecture: 'arm64'}, [arm], `app${i}-arm64`)
    ]);
    b.tag(index, `1.0.${i}`);
    digests.push(index.digest);
    await skopeo([
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${b.dir}:1.0.${i}`,
      `docker://${upstream.host}/team/app:1.0.${i}`
    ]);
  }
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([upstream, dest].filter(Boolean).map(r => r.stop()));
});

describe('sync: layers shared by the images in flight', () => {
  maybe('each shared base layer is put once, each index written once by its tag, every image whole', async () => {
    const run = await runBundledAction('sync', {
      config: YAML.stringify({
        images: [{source: `${upstream.host}/team/app`, destinations: [`${proxy.host}/mirror/app`]}]
      }),
      concurrency: '4'
    });
    expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
    const writes = proxy.log.filter(l => !['GET', 'HEAD'].includes(l.method));
    // Blob uploads end with a PUT naming the digest: one per distinct blob, the base layers included.
    const puts = writes.filter(l => l.method === 'PUT' && l.path.includes('/blobs/uploads/'));
    for (const d of base)
      expect({
        base: d,
        puts: puts.filter(l => l.path.includes(`digest=${encodeURIComponent(d)}`) || l.path.includes(`digest=${d}`))
          .length
      }).toEqual({base: d, puts: 1});
    const distinct = new Set(puts.map(l => /digest=([^&]+)/.exec(l.path)?.[1]));
    expect(puts.length).toBe(distinct.size);
    // Manifests: two platforms and the index (by its tag) per image; no index written by digest.
    const manifestPuts = writes.filter(l => l.method === 'PUT' && l.path.includes('/manifests/'));
    expect(manifestPuts.length).toBe(IMAGES * 3);
    for (const d of digests) expect(manifestPuts.some(l => l.path.endsWith(`/manifests/${d}`))).toBe(false);
    for (let i = 0; i < IMAGES; i++) expect(await manifestDigest(`${dest.host}/mirror/app:1.0.${i}`)).toBe(digests[i]);
  });
});
