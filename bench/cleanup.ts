// The cleanup benchmark: one package of BENCH_CLEANUP_VERSIONS versions (default 10,000), 20% of the
// images multi-arch (index + 2 platforms + 2 attestation manifests), half the images tagged, in the
// local GHCR emulator (real docker-registry behind it). Reports planning time (pure planner, median of
// 5), then a dry run and a real run: GitHub API calls against pages + deletions, registry requests, time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {GH_TOKEN, startGhcr} from '../test/helpers/ghcr.js';
import {GhcrImages} from '../test/helpers/ghcr-images.js';
import {seedImages} from './seed.js';
import {compilePolicy} from '../src/shared/cleanup/policy.js';
import {planCleanup} from '../src/shared/cleanup/plan.js';
import {manifestFacts} from '../src/shared/cleanup/manifests.js';
import {runCleanup} from '../src/shared/cleanup/run.js';
import {ManifestStore} from '../src/shared/cleanup/manifest-store.js';
import {ManifestState} from '../src/shared/cleanup/model.js';
import {Logger} from '../src/shared/log.js';

const target = Number(process.env.BENCH_CLEANUP_VERSIONS || 10000);
const quiet: Logger = {
  info: () => undefined,
  warning: () => undefined,
  debug: () => undefined,
  group: (_n, fn) => fn()
};

const emu = await startGhcr();
if (!emu) throw new Error('docker-registry is needed: run scripts/setup.sh');
const p = new GhcrImages(emu, 'acme', 'big');
const seedStart = Date.now();
const image = await seedImages(p, target, i => i % 2 === 0);
const seeded = emu.active(p.repo);
console.log(
  `\ncleanup: ${seeded.length} versions, ${image} images (20% multi-arch), seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`
);

const policyInputs = {
  keepNTagged: 100,
  deleteTags: [],
  excludeTags: [],
  useRegex: false,
  deleteUntagged: true,
  deleteOrphans: true,
  deleteGhosts: false,
  deletePartial: false,
  ephemeral: []
};
const policy = compilePolicy(policyInputs);

// Planning alone, on the package's real versions and manifests.
const manifests = new Map<string, ManifestState>();
for (const v of seeded) manifests.set(v.name, manifestFacts(v.name, v.body, v.mediaType));
const list = seeded.map(v => ({id: v.id, digest: v.name, tags: v.tags, createdAt: v.created_at}));
const times: number[] = [];
let planned = 0;
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const plan = planCleanup({versions: list, manifests, policy, now: Date.now(), complete: true});
  times.push(performance.now() - t0);
  planned = plan.deleteOrder.length;
}
const median = [...times].sort((a, b) => a - b)[2];
console.log(
  `planning (pure, median of 5)   ${median.toFixed(0).padStart(8)} ms   target < 2000 ms; ${planned} versions to delete`
);

const common = {
  backend: 'ghcr' as const,
  owner: 'acme',
  packages: ['big'],
  token: GH_TOKEN,
  apiUrl: emu.apiUrl,
  registry: emu.host,
  username: 'bench',
  policy,
  deletesPerMinute: 100000,
  concurrency: 16,
  verify: false,
  recheck: 'each' as const,
  now: Date.now(),
  env: process.env,
  mask: () => undefined,
  log: quiet
};
// Manifests kept between runs: the first dry run fills the store, the next one reads from it. The real
// runs: recheck each (a read before every delete) on the package, recheck wave (a wave's listing pages
// read before it) on a second package seeded alike.
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-manifests-'));
const twin = new GhcrImages(emu, 'acme', 'big-wave');
await seedImages(twin, target, i => i % 2 === 0);
const runs: Array<{label: string; dryRun: boolean; pkg: string; recheck: 'each' | 'wave'}> = [
  {label: 'dry run', dryRun: true, pkg: 'big', recheck: 'each'},
  {label: 'dry run, manifests kept', dryRun: true, pkg: 'big', recheck: 'each'},
  {label: 'real run, recheck each', dryRun: false, pkg: 'big', recheck: 'each'},
  {label: 'real run, recheck wave', dryRun: false, pkg: 'big-wave', recheck: 'wave'}
];
for (const {label, dryRun, pkg, recheck} of runs) {
  // The calls are counted, not limited: the emulator's hourly budget is not the subject here.
  emu.rateRemaining = 1_000_000;
  const calls0 = emu.calls.length;
  const reg0 = emu.registryCalls;
  const t0 = performance.now();
  const res = await runCleanup({
    ...common,
    packages: [pkg],
    recheck,
    dryRun,
    store: new ManifestStore(storeDir)
  });
  const ms = performance.now() - t0;
  const r = res.packages[0];
  const calls = emu.calls.length - calls0;
  const budget = r.pages + (dryRun ? 0 : r.deleted.length + r.alreadyGone);
  const checks = calls - 1 - r.pages - r.deleted.length;
  console.log(
    `${label.padEnd(24)}  ${(ms / 1000).toFixed(1).padStart(6)} s   API calls ${calls} (owner lookup 1 + pages ${r.pages}${dryRun ? '' : ` + deletions ${r.deleted.length} + ${recheck === 'wave' ? 'wave page reads' : 're-checks'} ${checks}`}; budget pages+deletions ${budget}), registry requests ${emu.registryCalls - reg0} (manifest reads ${r.manifestRequests}, kept ${r.manifestsStored}), ${dryRun ? 'would delete' : 'deleted'} ${r.deleted.length}${r.skipped.length ? `, skipped ${r.skipped.length}` : ''}${r.alreadyGone ? `, already gone ${r.alreadyGone}` : ''}${r.failed.length ? `, failed ${r.failed.length}: ${r.failed[0].error}` : ''}`
  );
}
fs.rmSync(storeDir, {recursive: true, force: true});
await emu.stop();
