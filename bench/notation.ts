// Notation benchmark: N tags (BENCH_NOTATION_TAGS, default 10) of one 4-platform image in olareg (the
// referrers API), signed with a local key: ours (the bundled sign action with signer notation, every tag
// at once, recursive) against plain notation signing each tag (`notation sign <repo>:<tag>` per tag, as a
// release loop does). Signatures per digest counted with `notation ls`, notation runs and wall time.
import {execFile} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {GhcrImages} from '../test/helpers/ghcr-images.js';
import {makeCa, makeLeaf} from '../test/helpers/pki.js';
import {Registry, startRegistry} from '../test/helpers/registry.js';
import {runBundledAction} from '../test/helpers/run-action.js';
import {which} from '../test/helpers/tools.js';

const TAGS = Number(process.env.BENCH_NOTATION_TAGS || 10);
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
const run = promisify(execFile);

async function main(): Promise<void> {
  const notation = which('notation');
  if (!notation || !which('olareg')) {
    console.log('notation bench: skipped (notation or olareg missing: scripts/setup.sh)');
    return;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-notation-'));
  const ca = makeCa(path.join(work, 'pki'), 'Acme');
  const leaf = makeLeaf(ca, 'Acme', 'release signer');
  const registry = (await startRegistry('none', 'olareg')) as Registry;
  try {
    const tags = Array.from({length: TAGS}, (_, i) => `1.${i}.0`);
    const digests: Record<string, string[]> = {};
    for (const repo of ['ours', 'plain']) {
      const p = new GhcrImages({host: registry.host}, 'bench', repo);
      const image = await p.image('bench-notation', tags, {platforms: PLATFORMS});
      digests[repo] = [image.digest, ...image.children];
    }
    const config = path.join(work, 'notation-config');
    const env = {PATH: process.env.PATH ?? '', HOME: work, NOTATION_CONFIG: config};
    fs.mkdirSync(config, {recursive: true});
    fs.writeFileSync(
      path.join(config, 'signingkeys.json'),
      JSON.stringify({default: 'k', keys: [{name: 'k', keyPath: leaf.key, certPath: leaf.chain}]})
    );
    const count = async (repo: string): Promise<number[]> =>
      Promise.all(
        digests[repo].map(async d => {
          const {stdout} = await run(notation, ['ls', '--insecure-registry', `${registry.host}/bench/${repo}@${d}`], {
            env
          });
          return (stdout.match(/sha256:[a-f0-9]{64}/g) ?? []).filter(x => x !== d).length;
        })
      );
    const rows: string[][] = [];
    let t0 = performance.now();
    const ours = await runBundledAction('sign', {
      signer: 'notation',
      images: tags.map(t => `${registry.host}/bench/ours:${t}`).join('\n'),
      'notation-key': fs.readFileSync(leaf.key, 'utf8'),
      'notation-certificate': leaf.chain,
      'notation-path': notation
    });
    if (ours.code !== 0) throw new Error(ours.stdout.slice(-2000));
    const oursMs = performance.now() - t0;
    const oursSigs = await count('ours');
    rows.push([
      'ours (sign action)',
      `${(oursMs / 1000).toFixed(1)} s`,
      `${digests.ours.length} notation runs`,
      `signatures per digest ${oursSigs.join(' ')}`
    ]);
    t0 = performance.now();
    for (const t of tags)
      await run(
        notation,
        ['sign', '--insecure-registry', '--force-referrers-tag=false', `${registry.host}/bench/plain:${t}`],
        {env}
      );
    const plainMs = performance.now() - t0;
    const plainSigs = await count('plain');
    rows.push([
      'notation sign per tag',
      `${(plainMs / 1000).toFixed(1)} s`,
      `${tags.length} notation runs`,
      `signatures per digest ${plainSigs.join(' ')} (index, then platforms)`
    ]);
    console.log(`\nnotation: ${TAGS} tags of one ${PLATFORMS.length}-platform image, olareg`);
    for (const r of rows) console.log(`  ${r[0].padEnd(24)} ${r[1].padStart(8)}   ${r[2].padEnd(18)} ${r[3]}`);
  } finally {
    await registry.stop();
  }
}

await main();
