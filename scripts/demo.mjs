#!/usr/bin/env node
// The README's first command: runs the toolkit's main job locally on an embedded default, with
// nothing to install or configure (the bundled actions in dist/ need only Node).
// Today it runs the tag action as the runner would for a release of v1.2.3.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-actions-demo-'));

function parseOutputs(file) {
  const out = {};
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const h = lines[i].match(/^([^=<]+)<<(.+)$/);
    if (h) {
      const v = [];
      for (i++; i < lines.length && lines[i] !== h[2]; i++) v.push(lines[i]);
      out[h[1]] = v.join('\n');
    }
  }
  return out;
}

function runAction(action, inputs, env) {
  const files = Object.fromEntries(
    ['GITHUB_OUTPUT', 'GITHUB_ENV', 'GITHUB_STEP_SUMMARY', 'GITHUB_STATE'].map(k => [
      k,
      path.join(tmp, `${action}-${k}`)
    ])
  );
  for (const f of Object.values(files)) fs.writeFileSync(f, '');
  const full = {PATH: process.env.PATH, HOME: process.env.HOME, RUNNER_TEMP: tmp, ...files, ...env};
  for (const [k, v] of Object.entries(inputs)) full[`INPUT_${k.toUpperCase()}`] = v;
  const res = spawnSync(process.execPath, [path.join(root, 'dist', action, 'index.js')], {env: full, encoding: 'utf8'});
  if (res.status !== 0) {
    console.error(res.stdout, res.stderr);
    throw new Error(`${action} failed`);
  }
  return parseOutputs(files.GITHUB_OUTPUT);
}

console.log('== tag: a release of v1.2.3 (sample push event, no network needed)');
const tag = runAction(
  'tag',
  {
    images: 'ghcr.io/acme/app\ndocker.io/acme/app',
    tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=semver,pattern={{major}}\ntype=sha',
    flavor: 'latest=auto'
  },
  {
    GITHUB_EVENT_NAME: 'push',
    GITHUB_EVENT_PATH: path.join(root, 'test', 'fixtures', 'events', 'push-tag.json'),
    GITHUB_REF: 'refs/tags/v1.2.3',
    GITHUB_SHA: '90dd6032fac8bda1b6c4436a2e65de27961ed071',
    GITHUB_REPOSITORY: '',
    SOURCE_DATE_EPOCH: String(Math.floor(Date.now() / 1000))
  }
);
console.log(`version: ${tag.version}`);
for (const t of JSON.parse(tag['tags-json'])) console.log(`  ${t.ref.padEnd(36)} ${t.kind}`);
console.log('labels:');
for (const l of tag.labels.split('\n')) console.log(`  ${l}`);
fs.rmSync(tmp, {recursive: true, force: true});
