#!/usr/bin/env node
// Compiles the TypeScript sources and bundles each action with ncc into dist/<action>/.
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const actions = fs
  .readdirSync(path.join(root, 'src', 'actions'))
  .filter(a => fs.existsSync(path.join(root, 'src', 'actions', a, 'index.ts')));
// The command-line tool is bundled like an action (dist/cli), from src/cli.
const entries = [...actions.map(a => ({name: a, dir: path.join('actions', a)})), {name: 'cli', dir: 'cli'}];
// usage: build.mjs [--out DIR] [action …]   (--out builds elsewhere, for the dist freshness test)
const argv = process.argv.slice(2);
const outIdx = argv.indexOf('--out');
const distRoot = outIdx >= 0 ? path.resolve(argv[outIdx + 1]) : path.join(root, 'dist');
const only = argv.filter((_a, i) => outIdx < 0 || (i !== outIdx && i !== outIdx + 1));
const libDir = path.join(root, 'lib'); // the same path every time: ncc's module ids depend on it

fs.rmSync(libDir, {recursive: true, force: true});
execFileSync(
  process.execPath,
  [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', libDir],
  {
    cwd: root,
    stdio: 'inherit'
  }
);
const ncc = path.join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js');
for (const {name: action, dir} of entries.filter(e => only.length === 0 || only.includes(e.name))) {
  const out = path.join(distRoot, action);
  fs.rmSync(out, {recursive: true, force: true});
  for (const entry of ['index', 'post']) {
    const src = path.join(libDir, dir, `${entry}.js`);
    if (!fs.existsSync(src)) continue;
    const target = entry === 'index' ? out : path.join(out, entry);
    execFileSync(
      process.execPath,
      [ncc, 'build', src, '-o', target, '--minify', '--license', 'licenses.txt', '--quiet', '--target', 'es2022'],
      {
        cwd: root,
        stdio: 'inherit'
      }
    );
    if (entry === 'post') {
      fs.renameSync(path.join(target, 'index.js'), path.join(out, 'post.js'));
      fs.rmSync(target, {recursive: true, force: true});
    }
  }
  const size = fs.statSync(path.join(out, 'index.js')).size;
  console.log(`${path.relative(root, out)}/index.js ${(size / 1024).toFixed(0)} KiB`);
}
