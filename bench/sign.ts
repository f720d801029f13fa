// Sign benchmark: N tags of one 4-platform image, keyless, against the local Sigstore the tests use
// (Fulcio, Rekor v2, TSA): ours (the bundled sign action, every tag at once, recursive) against plain
// cosign signing each tag (cosign sign --recursive per tag, as a release workflow's loop does).
// Certificates and log entries are counted at the services; wall time for each.
import {execFile} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';
import {multiPlatformFixture} from '../test/helpers/images.js';
import {Registry, skopeo, startRegistry} from '../test/helpers/registry.js';
import {runBundledAction} from '../test/helpers/run-action.js';
import {startSigstore} from '../test/helpers/sigstore.js';
import {which} from '../test/helpers/tools.js';

const TAGS = Number(process.env.BENCH_SIGN_TAGS || 10);
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];

async function main(): Promise<void> {
  const cosign = which('cosign');
  if (!cosign || !which('fulcio') || !which('docker-registry')) {
    console.log('sign bench: skipped (cosign, the Sigstore services or docker-registry missing: scripts/setup.sh)');
    return;
  }
  const sigstore = await startSigstore(cosign);
  const registry = (await startRegistry()) as Registry;
  try {
    const fixture = multiPlatformFixture({platforms: PLATFORMS, seed: 'bench-sign'});
    const tags = Array.from({length: TAGS}, (_, i) => `1.${i}.0`);
    for (const repo of ['ours', 'plain', 'once'])
      for (const tag of tags)
        await skopeo([
          'copy',
          '--all',
          '--dest-tls-verify=false',
          `oci:${fixture.dir}:v1`,
          `docker://${registry.host}/${repo}:${tag}`
        ]);
    const digests = 1 + PLATFORMS.length;
    const rows: string[][] = [];
    const measure = async (name: string, run: () => Promise<void>): Promise<void> => {
      const [certs, entries, tokens] = [sigstore.certificates(), sigstore.rekorEntries(), sigstore.oidc.issued];
      const t0 = Date.now();
      await run();
      rows.push([
        name,
        String(sigstore.certificates() - certs),
        String(sigstore.rekorEntries() - entries),
        String(sigstore.oidc.issued - tokens),
        `${((Date.now() - t0) / 1000).toFixed(1)} s`
      ]);
    };
    await measure(`ours: ${TAGS} tags in one step`, async () => {
      const run = await runBundledAction(
        'sign',
        {
          images: tags.map(t => `${registry.host}/ours:${t}`).join('\n'),
          'signing-config': sigstore.signingConfig,
          'trusted-root': sigstore.trustedRoot,
          'cosign-path': cosign,
          'default-annotations': 'false'
        },
        sigstore.env
      );
      if (run.code !== 0) throw new Error(`sign failed: ${run.stdout.slice(-2000)}`);
    });
    const token = path.join(sigstore.dir, 'bench-token');
    /** Plain cosign keyless, with a fresh token as a workflow step would have. */
    const plainSign = async (args: string[]): Promise<void> => {
      fs.writeFileSync(token, sigstore.oidc.token('sigstore'));
      await promisify(execFile)(
        cosign,
        [
          'sign',
          '--yes',
          '--signing-config',
          sigstore.signingConfig,
          '--trusted-root',
          sigstore.trustedRoot,
          '--identity-token',
          token,
          '--allow-http-registry',
          ...args
        ],
        {env: {PATH: process.env.PATH ?? '', HOME: sigstore.dir}}
      );
    };
    await measure(`plain cosign: one sign --recursive per tag`, async () => {
      for (const tag of tags) await plainSign(['--recursive', `${registry.host}/plain:${tag}`]);
    });
    // The best plain cosign can do: each digest named once in one command (cosign still certifies each).
    await measure('plain cosign: each digest once, one command', () =>
      plainSign([fixture.digest, ...fixture.manifests.map(m => m.digest)].map(d => `${registry.host}/once@${d}`))
    );
    console.log(
      `\nsign: ${TAGS} tags of one ${PLATFORMS.length}-platform image (${digests} digests), keyless, local Sigstore`
    );
    const head = ['', 'Fulcio certificates', 'Rekor entries', 'OIDC tokens', 'wall'];
    for (const r of [head, ...rows])
      console.log(
        `${r[0].padEnd(44)} ${r
          .slice(1)
          .map(c => c.padStart(20))
          .join('')}`
      );
  } finally {
    await registry.stop();
    await sigstore.stop();
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
