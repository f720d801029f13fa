#!/usr/bin/env node
// The README's first command: the whole release job on an embedded default, nothing to configure.
// Builds a small two-platform image as an OCI layout (no Docker), derives its tags, copies it to two
// local registries (Debian's docker-registry when installed, otherwise OCI layout directories), signs
// and verifies it (cosign), scans it (trivy, with a small local vulnerability DB) and runs a cleanup dry
// run, all through the registry-actions command-line tool. Steps whose tool is missing say so and how
// to get it (scripts/setup.sh), which the demo runs first, with --demo (only what it needs), when a tool
// is missing (DEMO_INSTALL=0 does not); with DEMO_STRICT=1 (the test) a skipped step is a failure.
import {spawn, spawnSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-actions-demo-'));
const strict = process.env.DEMO_STRICT === '1';
const children = [];
let skipped = 0;

const which = name => {
  for (const dir of [
    path.join(root, '.tools', 'bin'),
    ...(process.env.PATH ?? '').split(':'),
    '/usr/bin',
    '/usr/sbin'
  ]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
};
const step = title => console.log(`\n== ${title}`);
const skip = why => {
  skipped++;
  console.log(`   skipped: ${why} (scripts/setup.sh installs it)`);
};

/** Runs the command-line tool; prints its output indented; returns its JSON outputs. */
function ra(args, env = {}) {
  const res = spawnSync(process.execPath, [path.join(root, 'bin', 'registry-actions.js'), ...args, '--json'], {
    encoding: 'utf8',
    env: {...process.env, ...env}
  });
  // The tool's own log goes to stderr with --json: show its errors and warnings (all of it with DEMO_VERBOSE=1).
  for (const l of res.stderr.split('\n').filter(l => process.env.DEMO_VERBOSE === '1' || /^(error|warning):/.test(l))) {
    console.log(`   ${l}`);
  }
  let parsed = {outputs: {}};
  try {
    parsed = JSON.parse(res.stdout);
  } catch {
    console.log(res.stdout);
  }
  return {code: res.status, outputs: parsed.outputs ?? {}};
}

// ---- a small OCI layout: two platforms of an Alpine-like image, one with an outdated libcrypto3
function tar(files) {
  const parts = [];
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.write(
      `${h
        .reduce((a, b) => a + b, 0)
        .toString(8)
        .padStart(6, '0')}\0 `,
      148
    );
    parts.push(h, f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
function buildLayout(dir, created) {
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), {recursive: true});
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const blob = (data, mediaType, extra = {}) => {
    const hex = crypto.createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(path.join(dir, 'blobs', 'sha256', hex), data);
    return {mediaType, digest: `sha256:${hex}`, size: data.length, ...extra};
  };
  const apk = pkgs =>
    pkgs
      .map(
        ([p, v, o]) =>
          `P:${p}\nV:${v}\nA:x86_64\nS:1\nI:1\nT:${p}\nU:https://example.org\nL:MIT\no:${o}\nm:demo\nt:1700000000\nc:0\n\n`
      )
      .join('');
  const platform = (architecture, openssl) => {
    const raw = tar([
      {name: 'etc/alpine-release', data: Buffer.from('3.19.1\n')},
      {
        name: 'lib/apk/db/installed',
        data: Buffer.from(
          apk([
            ['libcrypto3', openssl, 'openssl'],
            ['zlib', '1.3.1-r0', 'zlib']
          ])
        )
      },
      {name: 'app/hello.txt', data: Buffer.from(`hello from ${architecture}\n`)}
    ]);
    const layer = blob(zlib.gzipSync(raw), 'application/vnd.oci.image.layer.v1.tar+gzip');
    const diff = `sha256:${crypto.createHash('sha256').update(raw).digest('hex')}`;
    const config = blob(
      Buffer.from(
        JSON.stringify({architecture, os: 'linux', created, rootfs: {type: 'layers', diff_ids: [diff]}, config: {}})
      ),
      'application/vnd.oci.image.config.v1+json'
    );
    return blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config,
          layers: [layer]
        })
      ),
      'application/vnd.oci.image.manifest.v1+json',
      {platform: {os: 'linux', architecture}}
    );
  };
  const manifests = [platform('amd64', '3.1.4-r0'), platform('arm64', '3.1.5-r0')];
  const index = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
        annotations: {'org.opencontainers.image.created': created}
      })
    ),
    'application/vnd.oci.image.index.v1+json'
  );
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{...index, annotations: {'org.opencontainers.image.ref.name': 'latest'}}]
    })
  );
  return index.digest;
}

async function freePort() {
  return new Promise(resolve => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}
async function startRegistry(bin, name) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`
  );
  const child = spawn(bin, ['serve', path.join(dir, 'config.yml')], {stdio: 'ignore'});
  children.push(child);
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/v2/`);
      return `127.0.0.1:${port}`;
    } catch {
      await new Promise(r => setTimeout(r, 50));
    }
  }
  throw new Error(`docker-registry did not start on ${port}`);
}

const NEEDED = ['docker-registry', 'cosign', 'trivy', 'trivy-db-fixture'];

/**
 * On a fresh machine the demo first installs what its steps need, with scripts/setup.sh's own progress
 * and the time it took, so every step runs (DEMO_INSTALL=0 skips this; the steps then say what is missing).
 */
function installMissing() {
  const missing = NEEDED.filter(n => !which(n));
  if (missing.length === 0 || process.env.DEMO_INSTALL === '0') return;
  step(
    `install: ${missing.join(', ')} missing; running scripts/setup.sh --demo, which installs only what the demo needs (a few minutes on a fresh machine, once)`
  );
  const t0 = Date.now();
  const res = spawnSync('bash', [path.join(root, 'scripts', 'setup.sh'), '--demo'], {cwd: root, stdio: 'inherit'});
  const took = `${((Date.now() - t0) / 1000).toFixed(0)} s`;
  const still = NEEDED.filter(n => !which(n));
  console.log(
    res.status === 0 && still.length === 0
      ? `   installed in ${took}`
      : `   setup.sh ${res.status === 0 ? 'finished' : 'failed'} after ${took}; still missing: ${still.join(', ') || 'nothing'}`
  );
}

async function main() {
  const started = Date.now();
  installMissing();
  step('build: a two-platform image as an OCI layout (no Docker daemon needed)');
  const layout = path.join(tmp, 'image');
  const digest = buildLayout(layout, new Date().toISOString());
  const older = path.join(tmp, 'older');
  buildLayout(older, '2026-01-01T00:00:00Z');
  console.log(`   ${layout}: index ${digest}, linux/amd64 + linux/arm64`);

  const registryBin = which('docker-registry');
  let destinations;
  let registries = [];
  if (registryBin) {
    registries = [await startRegistry(registryBin, 'registry-a'), await startRegistry(registryBin, 'registry-b')];
    destinations = registries.map(r => `${r}/acme/app`);
    console.log(`   local registries (docker-registry): ${registries.join(', ')}`);
  } else {
    destinations = ['oci:' + path.join(tmp, 'dest-a'), 'oci:' + path.join(tmp, 'dest-b')];
    skip('docker-registry is not installed: copying to OCI layout directories instead');
  }

  step('tag: a release of v1.2.3 in CI (here: a GitLab CI pipeline for tag v1.2.3)');
  const tag = ra(
    [
      'tag',
      '--images',
      destinations.filter(d => !d.startsWith('oci:')).join('\n') || 'registry.example/acme/app',
      '--tags',
      'type=semver,pattern={{version}}',
      '--tags',
      'type=semver,pattern={{major}}.{{minor}}',
      '--tags',
      'type=sha'
    ],
    {
      GITLAB_CI: 'true',
      CI_COMMIT_SHA: '90dd6032fac8bda1b6c4436a2e65de27961ed071',
      CI_COMMIT_TAG: 'v1.2.3',
      CI_PROJECT_PATH: 'acme/app',
      CI_DEFAULT_BRANCH: 'main',
      GITHUB_ACTIONS: ''
    }
  );
  if (tag.code !== 0) throw new Error('tag failed');
  for (const t of JSON.parse(tag.outputs['tags-json'])) console.log(`   ${t.ref.padEnd(44)} ${t.kind}`);

  step('push: every platform, byte for byte, to both destinations at once');
  const tags = registries.length ? tag.outputs.tags : tag.outputs['tag-names'];
  const push = ra(['push', '--source', `oci:${layout}`, '--destinations', destinations.join('\n'), '--tags', tags]);
  if (push.code !== 0) throw new Error('push failed');
  for (const r of JSON.parse(push.outputs.results)) {
    console.log(
      `   ${r.destination}: ${r.status}, ${r.counters.blobsUploaded} blobs uploaded, digest ${r.digest.slice(0, 19)}…`
    );
  }
  const rerun = ra(['push', '--source', `oci:${layout}`, '--destinations', destinations.join('\n'), '--tags', tags]);
  const again = JSON.parse(rerun.outputs.results ?? '[]');
  console.log(
    `   again: ${again.map(r => `${r.counters.blobsUploaded} uploaded, ${r.counters.manifestsWritten} manifests written`).join('; ')} (nothing twice)`
  );

  step('sign: cosign, by digest, index and both platforms, in every registry; then verify');
  const cosign = which('cosign');
  if (!cosign || !registries.length) skip(!cosign ? 'cosign is not installed' : 'signing needs a registry');
  else {
    spawnSync(cosign, ['generate-key-pair'], {cwd: tmp, env: {PATH: process.env.PATH, HOME: tmp, COSIGN_PASSWORD: ''}});
    const sign = ra([
      'sign',
      '--images',
      push.outputs.refs
        .split('\n')
        .filter(r => r.includes('@'))
        .join('\n'),
      '--key',
      path.join(tmp, 'cosign.key'),
      '--tlog-upload',
      'false',
      '--cosign-path',
      cosign
    ]);
    if (sign.code !== 0) throw new Error('sign failed');
    for (const s of JSON.parse(sign.outputs.signed))
      console.log(`   signed ${s.reference.slice(0, 60)}… ${s.platform ?? 'index'}`);
    const verify = ra([
      'verify',
      '--images',
      destinations.map(d => `${d}:1.2.3`).join('\n'),
      '--key',
      path.join(tmp, 'cosign.pub'),
      '--insecure-ignore-tlog',
      'true',
      '--cosign-path',
      cosign
    ]);
    if (verify.code !== 0) throw new Error('verify failed');
    console.log(`   verified: ${JSON.parse(verify.outputs.verified).filter(v => v.verified).length} manifests`);
  }

  step('scan: trivy on each platform, gate at HIGH (a small local vulnerability DB, no network)');
  const trivy = which('trivy');
  const dbWriter = which('trivy-db-fixture');
  if (!trivy || !dbWriter) skip(!trivy ? 'trivy is not installed' : 'the DB writer (trivy-db-fixture) is not built');
  else {
    const spec = {
      sources: [
        {
          bucket: 'alpine 3.19',
          id: 'alpine',
          name: 'Alpine Secdb',
          url: 'https://secdb.alpinelinux.org/',
          advisories: [
            {package: 'openssl', id: 'CVE-2026-1111', fixed: '3.1.5-r0'},
            {package: 'zlib', id: 'CVE-2026-3333', fixed: ''}
          ]
        }
      ],
      vulnerabilities: [
        {id: 'CVE-2026-1111', severity: 'HIGH', title: 'libcrypto3: demo overflow', source: 'alpine'},
        {id: 'CVE-2026-3333', severity: 'MEDIUM', title: 'zlib: demo issue without a fix', source: 'alpine'}
      ]
    };
    fs.writeFileSync(path.join(tmp, 'db.json'), JSON.stringify(spec));
    const cacheDir = path.join(tmp, 'trivy-cache');
    spawnSync(dbWriter, [path.join(tmp, 'db.json'), path.join(cacheDir, 'db')]);
    const target = registries.length ? `${destinations[0]}:1.2.3` : `oci:${layout}`;
    const scan = spawnSync(
      process.execPath,
      [
        path.join(root, 'bin', 'registry-actions.js'),
        'scan',
        '--images',
        target,
        '--cache-dir',
        cacheDir,
        '--cache',
        'false',
        '--trivy-path',
        trivy,
        '--json'
      ],
      {encoding: 'utf8'}
    );
    const out = JSON.parse(scan.stdout);
    for (const t of JSON.parse(out.outputs.targets))
      console.log(`   ${t.platform}: ${t.counts.HIGH} high, ${t.counts.MEDIUM} medium → ${t.passed ? 'pass' : 'fail'}`);
    console.log(
      `   gate: ${out.outputs.result} (exit code ${scan.status}: 3 means findings over the gate, never a scanner error)`
    );
    if (scan.status !== 3) throw new Error('scan did not report the planted HIGH finding');
  }

  step('cleanup: dry run of a retention policy (keep the newest tagged image)');
  if (!registries.length) skip('cleanup needs a registry');
  else {
    ra(['push', '--source', `oci:${older}`, '--destinations', destinations[0], '--tags', '1.1.0']);
    const cleanup = ra([
      'cleanup',
      '--backend',
      'oci',
      '--registry-url',
      registries[0],
      '--packages',
      'acme/app',
      '--keep-n-tagged',
      '1',
      '--dry-run',
      'true'
    ]);
    if (cleanup.code !== 0) throw new Error('cleanup failed');
    for (const d of JSON.parse(cleanup.outputs.deleted))
      console.log(`   would delete ${d.digest.slice(0, 19)}… [${d.tags.join(', ') || 'untagged'}]: ${d.reason}`);
    for (const k of JSON.parse(cleanup.outputs.kept).filter(k => k.tags.length))
      console.log(`   keeps ${k.digest.slice(0, 19)}… [${k.tags.join(', ')}]: ${k.reason}`);
  }
  const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  console.log(
    `\ndone in ${took}${skipped ? ` (${skipped} step(s) skipped: run scripts/setup.sh for the full pipeline)` : ': every step ran'}`
  );
  if (strict && skipped) throw new Error(`${skipped} step(s) skipped with DEMO_STRICT=1`);
}

main()
  .catch(err => {
    console.error(`demo failed: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill();
    fs.rmSync(tmp, {recursive: true, force: true});
  });
