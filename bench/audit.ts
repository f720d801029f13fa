// Audit benchmark: one repository of BENCH_AUDIT_MANIFESTS manifests (default 10,000; 20% of the images
// multi-arch: index + 2 platforms + 2 attestation manifests; half the images tagged) in GHCR's emulator
// and in each vendor's (ECR, ACR, Artifact Registry, Harbor, Docker Hub; APIs held to their descriptions,
// a real docker-registry behind each), audited by the bundled action with keep-n-tagged 100 for what is
// reclaimable: a cold run, then a warm one with the manifest cache. API calls against the listing's pages,
// registry requests, manifests read, time. BENCH_AUDIT=0 skips it; BENCH_AUDIT_BACKENDS=ghcr,ecr for some.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {GH_TOKEN, startGhcr} from '../test/helpers/ghcr.js';
import {GhcrImages} from '../test/helpers/ghcr-images.js';
import {seedImages} from './seed.js';
import {runBundledAction} from '../test/helpers/run-action.js';
import {VENDORS} from '../test/helpers/vendors/index.js';
import {Credential} from '../src/shared/registry/auth.js';

const target = Number(process.env.BENCH_AUDIT_MANIFESTS || 10000);
const only = process.env.BENCH_AUDIT_BACKENDS?.split(',');

interface Backend {
  name: string;
  start: () => Promise<{calls: unknown[]; active: (repo: string) => unknown[]; stop: () => Promise<void>} | undefined>;
  images: (emu: never) => GhcrImages;
  untagged: boolean;
  inputs: (emu: never) => Record<string, string>;
  env: (emu: never) => Record<string, string>;
}

const backends: Backend[] = [
  {
    name: 'ghcr',
    start: startGhcr as Backend['start'],
    images: (emu: never) => new GhcrImages(emu, 'acme', 'big'),
    untagged: true,
    inputs: (emu: never) => {
      const e = emu as unknown as {apiUrl: string; host: string};
      return {owner: 'acme', 'github-token': GH_TOKEN, 'github-api-url': e.apiUrl, 'registry-url': e.host};
    },
    env: () => ({GITHUB_REPOSITORY: 'acme/big'})
  },
  ...VENDORS.map(v => ({
    name: v.name,
    start: v.start as Backend['start'],
    images: (emu: never) => new GhcrImages(emu, v.namespace, 'big', v.credential as Credential),
    untagged: v.untagged,
    inputs: v.inputs as Backend['inputs'],
    env: v.env as Backend['env']
  }))
];

console.log(`\naudit: ${target} manifests per repository, keep-n-tagged 100 for what is reclaimable`);
for (const b of backends.filter(x => !only || only.includes(x.name))) {
  const emu = await b.start();
  if (!emu) throw new Error('docker-registry is needed: run scripts/setup.sh');
  try {
    const p = b.images(emu as never);
    const t0 = Date.now();
    await seedImages(p, target, i => i % 2 === 0 || !b.untagged);
    console.log(
      `\n${b.name}: ${emu.active(p.repo).length} manifests seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`
    );
    const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-audit-'));
    for (const run of ['cold', 'warm']) {
      const calls0 = emu.calls.length;
      const start = performance.now();
      const r = await runBundledAction(
        'audit',
        {
          packages: b.name === 'ghcr' ? 'big' : p.repo,
          'keep-n-tagged': '100',
          concurrency: '16',
          ...b.inputs(emu as never)
        },
        {RUNNER_TOOL_CACHE: tools, ...b.env(emu as never)}
      );
      const ms = performance.now() - start;
      if (r.code !== 0) throw new Error(`${b.name}: exit ${r.code}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
      const report = JSON.parse(fs.readFileSync(path.join(r.dir, 'registry-audit.json'), 'utf8')) as {
        repositories: Array<{pages: number; manifests: number; storedBytes: number}>;
        requests: {registry: number; manifestReads: number; manifestsStored: number};
      };
      const [repo] = report.repositories;
      console.log(
        `  ${run.padEnd(5)} ${(ms / 1000).toFixed(1).padStart(6)} s   API calls ${emu.calls.length - calls0} (listing pages ${repo.pages}), registry requests ${report.requests.registry}, manifests read ${report.requests.manifestReads} (cached ${report.requests.manifestsStored}) of ${repo.manifests}`
      );
    }
  } finally {
    await emu.stop();
  }
}
