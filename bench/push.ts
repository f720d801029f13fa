// Push benchmark: a 4-platform image of 200 MiB copied to 3 registries through loopback proxies that
// cap each connection's bandwidth and add latency. Ours (the bundled push-multi action) against the
// tools users run: skopeo copy --all, crane copy and regctl image copy, each once per destination.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {LayoutBuilder} from '../test/helpers/images.js';
import {Proxy, startProxy} from '../test/helpers/proxy.js';
import {Registry, skopeo, startRegistry} from '../test/helpers/registry.js';
import {ROOT} from '../test/helpers/run-action.js';
import {which} from '../test/helpers/tools.js';

const MiB = 1048576;
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/ppc64le'];
const LAYER = Number(process.env.BENCH_LAYER_MIB || 25) * MiB;
const BANDWIDTH = Number(process.env.BENCH_MIBPS || 40) * MiB;
const LATENCY = Number(process.env.BENCH_LATENCY_MS || 10);

interface Row {
  tool: string;
  seconds: number;
  mibSent: number;
  requests: number;
  maxRssMiB?: number;
}

function buildImage(): string {
  const b = new LayoutBuilder();
  const manifests = PLATFORMS.map(p => {
    const [os_, arch, variant] = p.split('/');
    return b.image({os: os_, architecture: arch, variant}, `bench-${p}`, 2, LAYER);
  });
  b.tag(b.index(manifests), 'v1');
  return b.dir;
}

/** Runs a command under /usr/bin/time, asynchronously: the proxies live in this process. */
function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env
): Promise<{seconds: number; rssMiB?: number}> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%M', cmd, ...args], {env});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', d => (stdout += d));
  child.stderr.on('data', d => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('close', code => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} failed: ${stderr.slice(-2000)}${stdout.slice(-1000)}`));
      const rss = Number(stderr.trim().split('\n').pop());
      resolve({seconds, rssMiB: Number.isFinite(rss) ? rss / 1024 : undefined});
    });
  });
}

function ourAction(source: string, destinations: string[], tag: string): Promise<{seconds: number; rssMiB?: number}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-run-'));
  const out = path.join(dir, 'out');
  fs.writeFileSync(out, '');
  return timed(process.execPath, [path.join(ROOT, 'dist', 'push-multi', 'index.js')], {
    ...process.env,
    GITHUB_OUTPUT: out,
    RUNNER_TEMP: dir,
    INPUT_SOURCE: source,
    INPUT_DESTINATIONS: destinations.join('\n'),
    INPUT_TAGS: tag,
    INPUT_CONCURRENCY: '6'
  });
}

async function measure(
  tool: string,
  proxies: Proxy[],
  fn: () => Promise<{seconds: number; rssMiB?: number}>
): Promise<Row> {
  process.stderr.write(`bench: ${tool}\n`);
  const before = proxies.map(p => ({...p.stats}));
  const r = await fn();
  const sent = proxies.reduce((n, p, i) => n + p.stats.bytesIn - before[i].bytesIn, 0);
  const requests = proxies.reduce((n, p, i) => n + p.stats.requests - before[i].requests, 0);
  return {tool, seconds: r.seconds, mibSent: sent / MiB, requests, maxRssMiB: r.rssMiB};
}

export async function benchPush(): Promise<Row[]> {
  const registries = (await Promise.all([0, 1, 2, 3].map(() => startRegistry('none')))) as Registry[];
  const proxies = await Promise.all(
    registries.map(r => startProxy(r.host, {bandwidth: BANDWIDTH, latencyMs: LATENCY}))
  );
  const [srcProxy, ...dstProxies] = proxies;
  try {
    const step = (m: string): boolean => process.stderr.write(`bench: ${m}\n`);
    step('building the image');
    const dir = buildImage();
    step('seeding the source registry');
    await skopeo([
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${dir}:v1`,
      `docker://${registries[0].host}/bench/app:v1`
    ]);
    const source = `${srcProxy.host}/bench/app:v1`;
    const dests = (repo: string): string[] => dstProxies.map(p => `${p.host}/${repo}`);
    const rows: Row[] = [];
    step('copying');
    rows.push(await measure('ours: 3 destinations', proxies, () => ourAction(source, dests('ours/app'), 'v1')));
    rows.push(await measure('ours: 1 destination', proxies, () => ourAction(source, [dests('single/app')[0]], 'v1')));
    rows.push(await measure('ours: rerun, all present', proxies, () => ourAction(source, dests('ours/app'), 'v1')));
    if (process.env.BENCH_PEERS === '0') return rows;
    const skopeoBin = which('skopeo');
    if (skopeoBin) {
      rows.push(
        await measure('skopeo copy --all x3', proxies, async () => {
          let seconds = 0;
          let rss = 0;
          for (const d of dests('skopeo/app')) {
            const r = await timed(skopeoBin, [
              'copy',
              '--all',
              '--src-tls-verify=false',
              '--dest-tls-verify=false',
              `docker://${source}`,
              `docker://${d}:v1`
            ]);
            seconds += r.seconds;
            rss = Math.max(rss, r.rssMiB ?? 0);
          }
          return {seconds, rssMiB: rss};
        })
      );
    }
    for (const [name, bin, args] of [
      ['crane copy x3', which('crane'), (d: string) => ['copy', '--insecure', source, `${d}:v1`]],
      ['regctl image copy x3', which('regctl'), (d: string) => ['image', 'copy', source, `${d}:v1`]]
    ] as const) {
      if (!bin) {
        console.log(`(${name}: not installed; go install it to compare)`);
        continue;
      }
      const env = {...process.env, HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-home-'))};
      if (name.startsWith('regctl')) {
        for (const p of [srcProxy, ...dstProxies])
          await timed(bin, ['registry', 'set', p.host, '--tls', 'disabled'], env);
      }
      rows.push(
        await measure(name, proxies, async () => {
          let seconds = 0;
          let rss = 0;
          for (const d of dests(`${name.split(' ')[0]}/app`)) {
            const r = await timed(bin, args(d), env);
            seconds += r.seconds;
            rss = Math.max(rss, r.rssMiB ?? 0);
          }
          return {seconds, rssMiB: rss};
        })
      );
    }
    return rows;
  } finally {
    await Promise.all(proxies.map(p => p.stop()));
    await Promise.all(registries.map(r => r.stop()));
  }
}

const rows = await benchPush();
console.log(
  `\npush: 4 platforms x 2 layers x ${LAYER / MiB} MiB, 3 destinations, ${BANDWIDTH / MiB} MiB/s per connection, ${LATENCY} ms latency`
);
console.log(
  `${'tool'.padEnd(28)} ${'wall s'.padStart(8)} ${'MiB up'.padStart(8)} ${'requests'.padStart(9)} ${'max RSS MiB'.padStart(12)}`
);
for (const r of rows) {
  console.log(
    `${r.tool.padEnd(28)} ${r.seconds.toFixed(2).padStart(8)} ${r.mibSent.toFixed(0).padStart(8)} ${String(r.requests).padStart(9)} ${(r.maxRssMiB?.toFixed(0) ?? '-').padStart(12)}`
  );
}
if (rows.length < 4) process.exit(0);
const ours = rows[0].seconds;
const single = rows[1].seconds;
const peers = rows.slice(3);
console.log(`fan-out to 3 / single destination: ${(ours / single).toFixed(2)}x (target <= 1.3x)`);
console.log(`rerun with everything present: ${rows[2].seconds.toFixed(2)} s (target < 1 s)`);
for (const p of peers) console.log(`vs ${p.tool}: ${(p.seconds / ours).toFixed(2)}x slower than ours`);
