#!/usr/bin/env node
// npm run bench: speed and size measurements (never timed tests).
// - tag: cold start of the bundled action (median of N runs, as the runner starts it) and bundle size.
import {execFileSync, spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const runs = Number(process.env.BENCH_RUNS || 15);
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function coldStart(action, inputs, env) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const files = Object.fromEntries(
    ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STEP_SUMMARY'].map(k => [k, path.join(tmp, k)])
  );
  const full = {PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: tmp, ...files, ...env};
  for (const [k, v] of Object.entries(inputs)) full[`INPUT_${k.toUpperCase()}`] = v;
  const times = [];
  for (let i = 0; i < runs; i++) {
    for (const f of Object.values(files)) fs.writeFileSync(f, '');
    const t0 = process.hrtime.bigint();
    const res = spawnSync(process.execPath, [path.join(root, 'dist', action, 'index.js')], {env: full});
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.status !== 0) throw new Error(`${action} failed: ${res.stdout}${res.stderr}`);
  }
  fs.rmSync(tmp, {recursive: true, force: true});
  return times;
}

/** The files an action's run loads (its entry and the bundle chunks it needs), through a module load hook. */
function loadedFiles(action, inputs, env) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-load-'));
  const log = path.join(tmp, 'loaded.txt');
  fs.writeFileSync(
    path.join(tmp, 'hooks.mjs'),
    `import fs from 'node:fs';\nexport async function load(url, context, next) {\n  if (url.startsWith('file:')) fs.appendFileSync(${JSON.stringify(log)}, url + '\\n');\n  return next(url, context);\n}\n`
  );
  fs.writeFileSync(
    path.join(tmp, 'register.mjs'),
    `import {register} from 'node:module';\nregister(${JSON.stringify(`file://${path.join(tmp, 'hooks.mjs')}`)});\n`
  );
  const files = Object.fromEntries(
    ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STEP_SUMMARY'].map(k => [k, path.join(tmp, k)])
  );
  const full = {PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: tmp, ...files, ...env};
  for (const [k, v] of Object.entries(inputs)) full[`INPUT_${k.toUpperCase()}`] = v;
  spawnSync(
    process.execPath,
    ['--import', path.join(tmp, 'register.mjs'), path.join(root, 'dist', action, 'index.js')],
    {env: full}
  );
  const out = [...new Set(fs.readFileSync(log, 'utf8').trim().split('\n'))].map(u => new URL(u).pathname).sort();
  fs.rmSync(tmp, {recursive: true, force: true});
  return out;
}

function nodeBaseline() {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

const rows = [];
const base = median(nodeBaseline());
const tagInputs = {
  images: 'ghcr.io/acme/app',
  tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}\ntype=sha'
};
const tagEnv = {
  GITHUB_EVENT_NAME: 'push',
  GITHUB_EVENT_PATH: path.join(root, 'test', 'fixtures', 'events', 'push-tag.json'),
  GITHUB_REF: 'refs/tags/v1.2.3',
  GITHUB_SHA: '90dd6032fac8bda1b6c4436a2e65de27961ed071',
  SOURCE_DATE_EPOCH: '1767225600'
};
const tag = coldStart('tag', tagInputs, tagEnv);
rows.push([
  'tag cold start (median)',
  `${median(tag).toFixed(1)} ms`,
  `node alone: ${base.toFixed(1)} ms, ${runs} runs`
]);
const loaded = loadedFiles('tag', tagInputs, tagEnv);
rows.push([
  'tag loads',
  `${(loaded.reduce((n, f) => n + fs.statSync(f).size, 0) / 1024).toFixed(0)} KiB`,
  `${loaded.length} files: ${loaded.map(f => path.relative(path.join(root, 'dist'), f)).join(', ')}`
]);
const distFiles = [];
const walk = d => {
  for (const e of fs.readdirSync(d, {withFileTypes: true})) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else distFiles.push(p);
  }
};
walk(path.join(root, 'dist'));
const hashes = distFiles.map(f => createHash('sha256').update(fs.readFileSync(f)).digest('hex'));
rows.push([
  'dist',
  `${(distFiles.reduce((n, f) => n + fs.statSync(f).size, 0) / 1048576).toFixed(2)} MiB`,
  `${distFiles.length} files, ${hashes.length - new Set(hashes).size} repeated byte for byte`
]);
for (const [what, value, note] of rows) console.log(`${what.padEnd(28)} ${value.padStart(12)}   ${note}`);

// The push benchmark needs docker-registry (scripts/setup.sh installs it); crane and regctl are compared when on PATH.
if (
  ['BENCH_PUSH', 'BENCH_CLEANUP', 'BENCH_SYNC', 'BENCH_SIGN', 'BENCH_VENDORS', 'BENCH_AUDIT', 'BENCH_NOTATION'].some(
    k => process.env[k] !== '0'
  )
) {
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.bench.json')],
    {cwd: root, stdio: 'inherit'}
  );
}
/** Runs one compiled benchmark, with the tools setup.sh built and Go-installed peers on PATH. */
function runBench(name) {
  const env = {
    ...process.env,
    PATH: `${path.join(root, '.tools', 'bin')}:${process.env.PATH}:${path.join(process.env.HOME || '/root', 'go', 'bin')}`
  };
  execFileSync(process.execPath, [path.join(root, '.bench-build', 'bench', `${name}.js`)], {
    cwd: root,
    stdio: 'inherit',
    env
  });
}
if (process.env.BENCH_PUSH !== '0') runBench('push');

// The cleanup benchmark: 10,000 versions in the local GHCR emulator (BENCH_CLEANUP_VERSIONS to change it,
// BENCH_CLEANUP=0 to skip; the real run deletes one version at a time and takes minutes).
if (process.env.BENCH_CLEANUP !== '0') runBench('cleanup');

// The cleanup backends benchmark: a 10,000-manifest repository in each vendor's emulator (ECR, ACR,
// Artifact Registry, Harbor, Docker Hub): dry run and real run, vendor API calls against pages + deletions
// (BENCH_VENDORS=0 to skip, BENCH_VENDORS=ecr,acr for some, BENCH_VENDOR_VERSIONS for the size;
// BENCH_VENDORS=oci for backend oci on distribution alone, BENCH_OCI_VERSIONS for its size).
if (process.env.BENCH_VENDORS !== '0') runBench('cleanup-vendors');

// The sync benchmark: 50 repositories behind a Docker Hub-like source, ours against regsync and skopeo
// sync (each when on PATH; BENCH_SYNC=0 to skip, BENCH_SYNC_REPOS to change the size).
if (process.env.BENCH_SYNC !== '0') runBench('sync');

// The sign benchmark: N tags (BENCH_SIGN_TAGS, default 10) of one 4-platform image signed keyless against
// the local Sigstore, ours against plain cosign per tag (BENCH_SIGN=0 to skip).
if (process.env.BENCH_SIGN !== '0') runBench('sign');

// The audit benchmark: a 10,000-manifest repository in GHCR's emulator and each vendor's, a cold and a warm
// (manifest cache) run: API calls against the listing's pages (BENCH_AUDIT=0 to skip, BENCH_AUDIT_BACKENDS,
// BENCH_AUDIT_MANIFESTS).
if (process.env.BENCH_AUDIT !== '0') runBench('audit');

// The Notation benchmark: N tags (BENCH_NOTATION_TAGS) of a 4-platform image signed with signer notation
// against plain notation per tag (BENCH_NOTATION=0 to skip).
if (process.env.BENCH_NOTATION !== '0') runBench('notation');
