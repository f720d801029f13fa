// Sync benchmark: 50 repositories × 20 tags (15 two-platform images and 5 alias tags each) behind a
// source that behaves like Docker Hub (every manifest GET spends one pull), mirrored into a local
// registry by ours (the bundled sync action), regsync and skopeo sync, each into its own registry:
// a first run, then a rerun with nothing changed; then ours with a pull budget that runs out.
import {spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import {Clients} from '../src/shared/registry/clients.js';
import {RegistryClient} from '../src/shared/registry/client.js';
import {mapLimit} from '../src/shared/registry/limit.js';
import {MEDIA} from '../src/shared/registry/media.js';
import {DEFAULT_RETRY} from '../src/shared/registry/retry.js';
import {HubLike, startHubLike} from '../test/helpers/dockerhub.js';
import {Proxy, startProxy} from '../test/helpers/proxy.js';
import {Registry, startRegistry} from '../test/helpers/registry.js';
import {ROOT} from '../test/helpers/run-action.js';
import {which} from '../test/helpers/tools.js';

const REPOS = Number(process.env.BENCH_SYNC_REPOS || 50);
const IMAGES = 15;
const ALIASES = 5;
const quiet = {
  info: () => undefined,
  warning: () => undefined,
  debug: () => undefined,
  group: <T>(_n: string, f: () => Promise<T>) => f()
};

const sha = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

async function putBlob(c: RegistryClient, repo: string, data: Buffer): Promise<{digest: string; size: number}> {
  const digest = sha(data);
  if ((await c.headBlob(repo, digest)) === undefined) {
    const location = await c.startUpload(repo);
    await c.putUpload(repo, location, digest, data.length, data);
  }
  return {digest, size: data.length};
}

/** One two-platform image: per platform a config and one small layer, then the index. */
async function seedImage(c: RegistryClient, repo: string, seed: string, tags: string[]): Promise<void> {
  const children = [];
  for (const arch of ['amd64', 'arm64']) {
    const layer = await putBlob(c, repo, crypto.createHash('sha512').update(`${seed}-${arch}`).digest());
    const config = await putBlob(
      c,
      repo,
      Buffer.from(
        JSON.stringify({
          architecture: arch,
          os: 'linux',
          created: '2026-11-01T00:00:00Z',
          rootfs: {type: 'layers', diff_ids: [layer.digest]}
        })
      )
    );
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
        layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer}]
      })
    );
    await c.putManifest(repo, sha(body), body, MEDIA.ociManifest);
    children.push({
      mediaType: MEDIA.ociManifest,
      digest: sha(body),
      size: body.length,
      platform: {architecture: arch, os: 'linux'}
    });
  }
  const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: children}));
  for (const t of tags) await c.putManifest(repo, t, index, MEDIA.ociIndex);
}

async function seed(backend: Registry): Promise<void> {
  const clients = new Clients({
    env: process.env,
    mask: () => undefined,
    log: quiet,
    retry: DEFAULT_RETRY,
    concurrency: 8
  });
  const c = clients.get(backend.host);
  await mapLimit(
    Array.from({length: REPOS}, (_, r) => r),
    8,
    async r => {
      for (let i = 0; i < IMAGES; i++) {
        const tags = [`1.${i}.0`, ...(i >= IMAGES - ALIASES ? [`1.${i}`] : [])];
        await seedImage(c, `lib/app${r}`, `app${r}-${i}`, tags);
      }
    }
  );
}

interface Run {
  tool: string;
  run: string;
  seconds: number;
  pulls: number;
  sourceRequests: number;
  heads: number;
  blobGets: number;
  destWrites: number;
  note?: string;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30 * 60_000
): Promise<{code: number; out: string; seconds: number}> {
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, {env});
  let out = '';
  child.stdout.on('data', d => (out += d));
  child.stderr.on('data', d => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise(resolve =>
    child.on('close', code => {
      clearTimeout(timer);
      resolve({code: code ?? 1, out, seconds: Number(process.hrtime.bigint() - t0) / 1e9});
    })
  );
}

async function measure(
  tool: string,
  label: string,
  hub: HubLike,
  dest: Proxy,
  go: () => Promise<{code: number; out: string; seconds: number}>,
  expectCode = 0
): Promise<Run> {
  hub.reset();
  dest.log.length = 0;
  const r = await go();
  if (r.code !== expectCode) throw new Error(`${tool} ${label} exited ${r.code}:\n${r.out.slice(-3000)}`);
  return {
    tool,
    run: label,
    seconds: r.seconds,
    pulls: hub.stats.manifestGets,
    sourceRequests: hub.stats.requests,
    heads: hub.stats.manifestHeads,
    blobGets: hub.stats.blobGets,
    destWrites: dest.log.filter(l => !['GET', 'HEAD'].includes(l.method)).length
  };
}

function ours(
  hub: HubLike,
  dest: Proxy,
  extra: Record<string, string> = {}
): Promise<{code: number; out: string; seconds: number}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sync-'));
  const out = path.join(dir, 'out');
  fs.writeFileSync(out, '');
  const config = {
    defaults: {destinations: [`${dest.host}/mirror/{repository}`]},
    images: [{source: hub.host, repositories: Array.from({length: REPOS}, (_, r) => `lib/app${r}`)}]
  };
  // BENCH_PROF=<dir>: a CPU profile of each of our runs.
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  return run(process.execPath, [...prof, path.join(ROOT, 'dist', 'sync', 'index.js')], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_OUTPUT: out,
    RUNNER_TEMP: dir,
    INPUT_CONFIG: YAML.stringify(config),
    INPUT_CONCURRENCY: '8',
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  });
}

function regsyncConfig(hub: HubLike, dest: Proxy, dir: string): string {
  const file = path.join(dir, 'regsync.yml');
  fs.writeFileSync(
    file,
    YAML.stringify({
      version: 1,
      creds: [
        {registry: hub.host, tls: 'disabled'},
        {registry: dest.host, tls: 'disabled'}
      ],
      defaults: {parallel: 8},
      sync: Array.from({length: REPOS}, (_, r) => ({
        source: `${hub.host}/lib/app${r}`,
        target: `${dest.host}/mirror/lib/app${r}`,
        type: 'repository'
      }))
    })
  );
  return file;
}

function skopeoConfig(hub: HubLike, dir: string): string {
  const file = path.join(dir, 'skopeo.yml');
  fs.writeFileSync(
    file,
    YAML.stringify({
      [hub.host]: {
        'tls-verify': false,
        'images-by-tag-regex': Object.fromEntries(Array.from({length: REPOS}, (_, r) => [`lib/app${r}`, '.*']))
      }
    })
  );
  return file;
}

const table = (rows: Run[]): void => {
  console.log(
    `\n${'tool'.padEnd(14)} ${'run'.padEnd(22)} ${'seconds'.padStart(8)} ${'pulls'.padStart(7)} ${'src reqs'.padStart(9)} ${'HEADs'.padStart(6)} ${'blob GETs'.padStart(9)} ${'dest writes'.padStart(11)}  note`
  );
  for (const r of rows)
    console.log(
      `${r.tool.padEnd(14)} ${r.run.padEnd(22)} ${r.seconds.toFixed(1).padStart(8)} ${String(r.pulls).padStart(7)} ${String(r.sourceRequests).padStart(9)} ${String(r.heads).padStart(6)} ${String(r.blobGets).padStart(9)} ${String(r.destWrites).padStart(11)}  ${r.note ?? ''}`
    );
};

const backend = (await startRegistry()) as Registry;
const t0 = Date.now();
await seed(backend);
const distinct = REPOS * IMAGES * 3;
console.log(
  `\nsync: ${REPOS} repositories × ${IMAGES + ALIASES} tags (${IMAGES} two-platform images, ${ALIASES} aliases each; ${distinct} distinct manifests), seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`
);
const hub = await startHubLike(backend.host, 1_000_000);
const rows: Run[] = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sync-'));
const targets: Array<{reg: Registry; proxy: Proxy}> = [];
const target = async (): Promise<Proxy> => {
  const reg = (await startRegistry()) as Registry;
  const proxy = await startProxy(reg.host);
  targets.push({reg, proxy});
  return proxy;
};
try {
  const a = await target();
  rows.push(await measure('ours', 'first run', hub, a, () => ours(hub, a)));
  rows.push(await measure('ours', 'nothing changed', hub, a, () => ours(hub, a)));

  // BENCH_SYNC_PEERS=0: ours only.
  const peers = process.env.BENCH_SYNC_PEERS !== '0';
  const regsync = peers ? which('regsync') : undefined;
  if (regsync) {
    const b = await target();
    const cfg = regsyncConfig(hub, b, work);
    rows.push(
      await measure('regsync', 'first run', hub, b, () =>
        run(regsync, ['once', '-c', cfg], {...process.env, HOME: work})
      )
    );
    rows.push(
      await measure('regsync', 'nothing changed', hub, b, () =>
        run(regsync, ['once', '-c', cfg], {...process.env, HOME: work})
      )
    );
  } else console.log('regsync not installed (scripts/setup.sh --bench builds it): left out');
  const skopeo = peers ? which('skopeo') : undefined;
  if (skopeo) {
    const c = await target();
    const cfg = skopeoConfig(hub, work);
    const args = [
      'sync',
      '--all',
      '--src',
      'yaml',
      '--dest',
      'docker',
      '--dest-tls-verify=false',
      cfg,
      `${c.host}/mirror`
    ];
    rows.push(await measure('skopeo sync', 'first run', hub, c, () => run(skopeo, args, process.env)));
    rows.push(await measure('skopeo sync', 'nothing changed', hub, c, () => run(skopeo, args, process.env)));
  }

  // The budget runs out part way: ours stops starting copies under the floor and says what is left.
  const d = await target();
  hub.budget = 300;
  const limited = await measure(
    'ours',
    'budget 300, floor 10',
    hub,
    d,
    () => ours(hub, d, {'rate-limit-floor': '10'}),
    1
  );
  limited.note = 'ends incomplete (exit 1), the rest listed in left';
  rows.push(limited);
  hub.budget = 1_000_000;
  table(rows);
  console.log(
    '\npulls: manifest GETs at the source (what Docker Hub counts); HEADs and blob GETs are free there. Goals: nothing changed = 0 pulls and 0 writes; first run ≤ one GET per distinct manifest.'
  );
} finally {
  for (const t of targets) {
    await t.proxy.stop();
    await t.reg.stop();
  }
  await hub.stop();
  await backend.stop();
}
