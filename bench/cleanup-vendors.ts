// Cleanup benchmark per registry backend: one repository of BENCH_VENDOR_VERSIONS manifests (default
// 10,000; 20% of the images multi-arch: index + 2 platforms + 2 attestation manifests; half the images
// tagged) in each vendor's emulator (its API held to the vendor's description, a real docker-registry
// behind it), cleaned by the bundled action with keep-n-tagged 100 and delete-untagged (Docker Hub:
// keep-n-tagged alone): a dry run, then the real run (BENCH_VENDOR_REAL=0: dry run only). Vendor API calls
// against pages + deletions, time.
import {GhcrImages} from '../test/helpers/ghcr-images.js';
import {seedImages} from './seed.js';
import {runBundledAction} from '../test/helpers/run-action.js';
import {VENDORS} from '../test/helpers/vendors/index.js';
import {Credential} from '../src/shared/registry/auth.js';
import {GhcrEmulator} from '../test/helpers/ghcr.js';
import {Registry, startRegistry} from '../test/helpers/registry.js';

const target = Number(process.env.BENCH_VENDOR_VERSIONS || 10000);

console.log(
  `\ncleanup backends: ${target} manifests per repository, keep-n-tagged 100 (+ delete-untagged where listed)`
);
const only = process.env.BENCH_VENDORS?.split(',');
for (const vendor of VENDORS.filter(v => !only || only.includes(v.name))) {
  const emu = await vendor.start();
  if (!emu) throw new Error('docker-registry is needed: run scripts/setup.sh');
  try {
    const p = new GhcrImages(emu, vendor.namespace, 'big', vendor.credential as Credential);
    const t0 = Date.now();
    // Docker Hub lists tags only: every image tagged there, so the repository is the same size.
    await seedImages(p, target, i => i % 2 === 0 || !vendor.untagged);
    const seeded = emu.active(p.repo).length;
    console.log(`\n${vendor.name}: ${seeded} manifests seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // BENCH_VENDOR_REAL=0: the dry run only (the real run deletes one version per call and takes minutes).
    for (const dryRun of process.env.BENCH_VENDOR_REAL === '0' ? [true] : [true, false]) {
      const calls0 = emu.calls.length;
      const start = performance.now();
      const run = await runBundledAction(
        'ghcr-cleanup',
        {
          packages: p.repo,
          'keep-n-tagged': '100',
          ...(vendor.untagged ? {'delete-untagged': 'true'} : {}),
          'dry-run': String(dryRun),
          'verify-after': 'false',
          'deletes-per-minute': '6000',
          concurrency: '16',
          ...vendor.inputs(emu)
        },
        vendor.env(emu)
      );
      const ms = performance.now() - start;
      if (run.code !== 0) throw new Error(`${vendor.name}: ${run.stdout.slice(-2000)}`);
      const counts = JSON.parse(run.outputs.counts) as Record<string, number>;
      const line = run.stdout.split('\n').find(l => /page\(s\)/.test(l)) ?? '';
      const pages = Number(line.match(/(\d+) page\(s\)/)?.[1] ?? 0);
      const calls = emu.calls.length - calls0;
      const deletions = dryRun ? 0 : counts.deleted + counts.alreadyGone;
      console.log(
        `  ${(dryRun ? 'dry run' : 'real run').padEnd(9)} ${(ms / 1000).toFixed(1).padStart(6)} s   vendor API calls ${calls} (budget pages ${pages} + deletions ${deletions} = ${pages + deletions}), registry requests ${counts.registryRequests}, ${dryRun ? 'would delete' : 'deleted'} ${counts.deleted}, left ${emu.active(p.repo).length}`
      );
    }
    if (emu.violations.length) console.log(`  description violations: ${emu.violations.slice(0, 5).join('; ')}`);
  } finally {
    await emu.stop();
  }
}

// Backend oci on a plain registry (distribution 2.8): the OCI API cannot say which tags point at a
// digest, so recheck true reads the tag list and every tag before each delete; recheck wave once a wave.
// Twin repositories of BENCH_OCI_VERSIONS manifests (default 1,000; every image tagged: untagged ones
// cannot be listed there), keep-n-tagged 100.
if (!only || only.includes('oci')) {
  const n = Number(process.env.BENCH_OCI_VERSIONS || 1000);
  const reg = (await startRegistry('none')) as Registry | undefined;
  if (!reg) throw new Error('docker-registry is needed: run scripts/setup.sh');
  try {
    console.log(`\noci (distribution 2.8): ${n} manifests per repository, keep-n-tagged 100`);
    for (const recheck of ['true', 'wave']) {
      const p = new GhcrImages({host: reg.host} as GhcrEmulator, 'team', `oci-${recheck}`);
      await seedImages(p, n, () => true);
      const start = performance.now();
      const run = await runBundledAction('ghcr-cleanup', {
        backend: 'oci',
        'registry-url': reg.host,
        packages: `team/oci-${recheck}`,
        'keep-n-tagged': '100',
        'verify-after': 'false',
        concurrency: '16',
        recheck
      });
      const ms = performance.now() - start;
      if (run.code !== 0) throw new Error(`oci: ${run.stdout.slice(-2000)}`);
      const counts = JSON.parse(run.outputs.counts) as Record<string, number>;
      console.log(
        `  recheck ${recheck.padEnd(5)} ${(ms / 1000).toFixed(1).padStart(6)} s   registry requests ${counts.registryRequests}, deleted ${counts.deleted}`
      );
      const hint = run.stdout.split('\n').find(l => l.includes('recheck: true reads the tag list'));
      if (hint) console.log(`    the run said beforehand: ${hint.replace(/^.*?recheck: true/, 'recheck: true')}`);
    }
  } finally {
    await reg.stop();
  }
}
