// Push benchmark: a 4-platform image of 200 MiB copied to 3 registries through loopback proxies that
// cap each connection's bandwidth and add latency. Ours (the bundled push-multi action) against the
// tools users run: skopeo copy --all, crane copy and regctl image copy, each once per destination.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {LayoutBuilder} from '../test/helpers/images.js';
import {startProxy} from '../test/helpers/proxy.js';
import {Registry, skopeo, startRegistry} from '../test/helpers/registry.js';
import {ROOT} from '../test/helpers/run-action.js';
import {NODE24, which} from '../test/helpers/tools.js';

const MiB = 1048576;
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/ppc64le'];
const LAYER = Number(process.env.BENCH_LAYER_MIB || 25) * MiB;
const BANDWIDTH = Number(process.env.BENCH_MIBPS || 40) * MiB;
const LATENCY = Number(process.env.BENCH_LATENCY_MS || 10);

/** Wall time, the tool's own CPU time (user + system) and its peak memory. */
interface Timing {
  seconds: number;
  cpu: number;
  rssMiB?: number;
}

interface Row {
  tool: string;
  seconds: number;
  mibSent: number;
  requests: number;
  maxRssMiB?: number;
  /** CPU seconds of the tool, and of the proxies and registries serving it. */
  cpu: number;
  harnessCpu: number;
}

/** The bench image: 4 platforms x 2 layers of `layer` bytes. */
function buildImage(layer: number): string {
  const b = new LayoutBuilder();
  const manifests = PLATFORMS.map(p => {
    const [os_, arch, variant] = p.split('/');
    return b.image({os: os_, architecture: arch, variant}, `bench-${p}`, 2, layer);
  });
  b.tag(b.index(manifests), 'v1');
  return b.dir;
}

/** Runs a command under /usr/bin/time, asynchronously: the proxies live in this process. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timing> {
  const t0 = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', cmd, ...args], {env});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', d => (stdout += d));
  child.stderr.on('data', d => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('close', code => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} failed: ${stderr.slice(-2000)}${stdout.slice(-1000)}`));
      const [user, sys, rss] = (stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
      resolve({seconds, cpu: user + sys, rssMiB: Number.isFinite(rss) ? rss / 1024 : undefined});
    });
  });
}

/** The runtime the runner gives the actions (node24, as action.yml declares), when setup.sh installed it. */
const RUNTIME = fs.existsSync(NODE24) ? NODE24 : process.execPath;

function ourAction(source: string, destinations: string[], tag: string): Promise<Timing> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-run-'));
  const out = path.join(dir, 'out');
  fs.writeFileSync(out, '');
  // BENCH_PROF=<dir>: a CPU profile of each of our runs, for chrome://inspect or speedscope.
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  return timed(RUNTIME, [...prof, path.join(ROOT, 'dist', 'push-multi', 'index.js')], {
    ...process.env,
    GITHUB_OUTPUT: out,
    RUNNER_TEMP: dir,
    INPUT_SOURCE: source,
    INPUT_DESTINATIONS: destinations.join('\n'),
    INPUT_TAGS: tag,
    INPUT_CONCURRENCY: '6'
  });
}

/** An emulated network link in front of a registry: where to reach it, and what crossed it. */
interface Link {
  host: string;
  stats(): Promise<{requests: number; bytesIn: number}>;
  stop(): Promise<void>;
}

/**
 * The link: the Go shaper (scripts/setup.sh builds it) in processes of its own, copying at little CPU
 * cost, or the test suite's Node proxy in this process (BENCH_LINK=node, or when the shaper is absent).
 */
async function startLink(upstream: string): Promise<Link> {
  const shaper = process.env.BENCH_LINK === 'node' ? undefined : which('shaper');
  if (!shaper) {
    const p = await startProxy(upstream, {bandwidth: BANDWIDTH, latencyMs: LATENCY});
    return {host: p.host, stats: async () => ({...p.stats}), stop: () => p.stop()};
  }
  const child = spawn(shaper, ['-upstream', upstream, '-mibps', String(BANDWIDTH / MiB), '-latency', `${LATENCY}ms`]);
  const host = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim().split('\n')[0]));
    child.once('exit', code => reject(new Error(`shaper exited with ${code}`)));
  });
  return {
    host,
    stats: async () =>
      (await (await fetch(`http://${host}/__shaper/stats`)).json()) as {requests: number; bytesIn: number},
    stop: async () => {
      child.kill();
    }
  };
}

/** CPU ticks used so far by each registry and shaper process (processes of their own), by pid. */
function harnessProcessTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of fs.readdirSync('/proc').filter(d => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!['(docker-registry)', '(registry)', '(shaper)'].some(name => stat.includes(name))) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // gone
    }
  }
  return ticks;
}

/**
 * CPU seconds the harness processes used between two samples, per process: a process started in
 * between counts from zero, one that ended in between is not counted (never a negative total).
 */
function harnessCpuSince(before: Map<string, number>): number {
  let ticks = 0;
  for (const [pid, t] of harnessProcessTicks()) ticks += Math.max(0, t - (before.get(pid) ?? 0));
  return ticks / 100;
}

async function measure(tool: string, proxies: Link[], fn: () => Promise<Timing>): Promise<Row> {
  process.stderr.write(`bench: ${tool}\n`);
  const before = await Promise.all(proxies.map(p => p.stats()));
  const cpu0 = process.cpuUsage();
  const reg0 = harnessProcessTicks();
  const r = await fn();
  const proxyCpu = process.cpuUsage(cpu0);
  const harnessCpu = (proxyCpu.user + proxyCpu.system) / 1e6 + harnessCpuSince(reg0);
  const after = await Promise.all(proxies.map(p => p.stats()));
  const sent = after.reduce((n, a, i) => n + a.bytesIn - before[i].bytesIn, 0);
  const requests = after.reduce((n, a, i) => n + a.requests - before[i].requests, 0);
  return {tool, seconds: r.seconds, mibSent: sent / MiB, requests, maxRssMiB: r.rssMiB, cpu: r.cpu, harnessCpu};
}

const TINY = 'ours: 3 dests, tiny image';

export async function benchPush(): Promise<Row[]> {
  const registries = (await Promise.all([0, 1, 2, 3].map(() => startRegistry('none')))) as Registry[];
  const proxies = await Promise.all(registries.map(r => startLink(r.host)));
  const [srcProxy, ...dstProxies] = proxies;
  try {
    const step = (m: string): boolean => process.stderr.write(`bench: ${m}\n`);
    step('building the image');
    const dir = buildImage(LAYER);
    // The same shape with 1 KiB layers: how much of our peak memory the image's size adds.
    const tinyDir = buildImage(1024);
    step('seeding the source registry');
    for (const [d, repo] of [
      [dir, 'app'],
      [tinyDir, 'tiny']
    ])
      await skopeo([
        'copy',
        '--all',
        '--dest-tls-verify=false',
        `oci:${d}:v1`,
        `docker://${registries[0].host}/bench/${repo}:v1`
      ]);
    const source = `${srcProxy.host}/bench/app:v1`;
    const dests = (repo: string): string[] => dstProxies.map(p => `${p.host}/${repo}`);
    const rows: Row[] = [];
    step('copying');
    rows.push(await measure('ours: 3 destinations', proxies, () => ourAction(source, dests('ours/app'), 'v1')));
    rows.push(await measure('ours: 1 destination', proxies, () => ourAction(source, [dests('single/app')[0]], 'v1')));
    rows.push(await measure('ours: rerun, all present', proxies, () => ourAction(source, dests('ours/app'), 'v1')));
    rows.push(await measure(TINY, proxies, () => ourAction(`${srcProxy.host}/bench/tiny:v1`, dests('tiny/app'), 'v1')));
    if (process.env.BENCH_PEERS === '0') return rows;
    // Peers run once per destination, one after another, as release scripts do.
    const peers: Array<[string, string | undefined, (d: string) => string[]]> = [
      [
        'skopeo copy --all x3',
        which('skopeo'),
        d => [
          'copy',
          '--all',
          '--src-tls-verify=false',
          '--dest-tls-verify=false',
          `docker://${source}`,
          `docker://${d}:v1`
        ]
      ],
      ['crane copy x3', which('crane'), d => ['copy', '--insecure', source, `${d}:v1`]],
      ['regctl image copy x3', which('regctl'), d => ['image', 'copy', source, `${d}:v1`]]
    ];
    for (const [name, bin, args] of peers) {
      if (!bin) {
        console.log(`(${name}: not installed; scripts/setup.sh --bench builds it)`);
        continue;
      }
      const env = {...process.env, HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'bench-home-'))};
      if (name.startsWith('regctl')) {
        for (const p of [srcProxy, ...dstProxies])
          await timed(bin, ['registry', 'set', p.host, '--tls', 'disabled'], env);
      }
      rows.push(
        await measure(name, proxies, async () => {
          const total: Timing = {seconds: 0, cpu: 0, rssMiB: 0};
          for (const d of dests(`${name.split(' ')[0]}/app`)) {
            const r = await timed(bin, args(d), env);
            total.seconds += r.seconds;
            total.cpu += r.cpu;
            total.rssMiB = Math.max(total.rssMiB ?? 0, r.rssMiB ?? 0);
          }
          return total;
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
const cores = os.cpus().length;
console.log(
  `\npush: 4 platforms x 2 layers x ${LAYER / MiB} MiB, 3 destinations, ${BANDWIDTH / MiB} MiB/s per connection, ${LATENCY} ms latency, ${cores} cores; ours on Node ${spawnSync(RUNTIME, ['--version'], {encoding: 'utf8'}).stdout.trim()}`
);
const cols: Array<[string, number, (r: Row) => string]> = [
  ['wall s', 8, r => r.seconds.toFixed(2)],
  ['MiB up', 8, r => r.mibSent.toFixed(0)],
  ['requests', 9, r => String(r.requests)],
  ['max RSS MiB', 12, r => r.maxRssMiB?.toFixed(0) ?? '-'],
  ['CPU s', 7, r => r.cpu.toFixed(2)],
  ['harness CPU s', 14, r => r.harnessCpu.toFixed(2)],
  ['machine busy', 13, r => `${(((r.cpu + r.harnessCpu) / (r.seconds * cores)) * 100).toFixed(0)}%`]
];
console.log(`${'tool'.padEnd(28)} ${cols.map(([h, w]) => h.padStart(w)).join(' ')}`);
for (const r of rows) console.log(`${r.tool.padEnd(28)} ${cols.map(([, w, f]) => f(r).padStart(w)).join(' ')}`);
console.log(
  '(CPU s: the tool itself; harness CPU s: the shaping proxies and the registries serving it; machine busy: both over wall time x cores)'
);
const [fanOut, single, rerun, tiny] = rows;
const ratio = fanOut.seconds / single.seconds;
console.log(`fan-out to 3 / single destination: ${ratio.toFixed(2)}x (target <= 1.3x)`);
const busy = (fanOut.cpu + fanOut.harnessCpu) / (fanOut.seconds * cores);
if (ratio > 1.3 && busy > 0.75) {
  console.log(
    `  the fan-out kept the machine ${(busy * 100).toFixed(0)}% busy: it is CPU-bound here (the registries and proxies do three times the work), not link-bound; BENCH_MIBPS=10 measures the link-bound case`
  );
}
console.log(`rerun with everything present: ${rerun.seconds.toFixed(2)} s (target < 1 s)`);
if (tiny.maxRssMiB !== undefined && fanOut.maxRssMiB !== undefined) {
  const growth = fanOut.maxRssMiB - tiny.maxRssMiB;
  console.log(
    `peak memory, tiny image -> this one: ${tiny.maxRssMiB.toFixed(0)} -> ${fanOut.maxRssMiB.toFixed(0)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(0)}; target <= +16)`
  );
}
for (const p of rows.slice(4))
  console.log(`vs ${p.tool}: ${(p.seconds / fanOut.seconds).toFixed(2)}x slower than ours`);
