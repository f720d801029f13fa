import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, expect, test} from '@jest/globals';
import {parse} from 'yaml';
import {ROOT} from './helpers/run-action.js';

/** Every file below dir, as paths relative to it, sorted. */
function files(dir: string, rel = ''): string[] {
  return fs
    .readdirSync(path.join(dir, rel), {withFileTypes: true})
    .flatMap(e => (e.isDirectory() ? files(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]))
    .sort();
}

const actions = fs.readdirSync(ROOT).filter(d => fs.existsSync(path.join(ROOT, d, 'action.yml')));

describe('repository', () => {
  test('dist is what npm run build produces from the sources', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-check-'));
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--out', out], {cwd: ROOT, stdio: 'pipe'});
    const built = files(out);
    expect(files(path.join(ROOT, 'dist'))).toEqual(built);
    for (const file of built) {
      const fresh = fs.readFileSync(path.join(out, file)).equals(fs.readFileSync(path.join(ROOT, 'dist', file)));
      expect({file: `dist/${file}`, fresh}).toEqual({file: `dist/${file}`, fresh: true});
    }
    fs.rmSync(out, {recursive: true, force: true});
  }, 300000);

  test('dist: one bundle, nothing repeated byte for byte, under 6 MiB, entries and post steps tiny', () => {
    const dist = path.join(ROOT, 'dist');
    const all = files(dist);
    const byHash = new Map<string, string[]>();
    let total = 0;
    for (const f of all) {
      const data = fs.readFileSync(path.join(dist, f));
      total += data.length;
      const h = crypto.createHash('sha256').update(data).digest('hex');
      byHash.set(h, [...(byHash.get(h) ?? []), f]);
    }
    // Stubs differ by the name they pass; everything else exists once.
    expect([...byHash.values()].filter(fs_ => fs_.length > 1)).toEqual([]);
    expect(total).toBeLessThan(6 * 1048576);
    for (const action of actions) {
      expect(fs.statSync(path.join(dist, action, 'index.js')).size).toBeLessThan(1024);
      const post = path.join(dist, action, 'post.js');
      if (fs.existsSync(post)) expect(fs.statSync(post).size).toBeLessThan(4096);
    }
  });

  test.each(actions)('%s/action.yml runs the bundled entry on node24', action => {
    const meta = parse(fs.readFileSync(path.join(ROOT, action, 'action.yml'), 'utf8'));
    expect(meta.runs.using).toBe('node24');
    expect(meta.runs.main).toBe(`../dist/${action}/index.js`);
    expect(fs.existsSync(path.join(ROOT, action, meta.runs.main))).toBe(true);
    if (meta.runs.post) expect(fs.existsSync(path.join(ROOT, action, meta.runs.post))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, 'dist', 'bundle', 'licenses.txt'))).toBe(true);
  });

  test.each(actions)('README tables for %s match action.yml', async action => {
    const {tablesFor} = await import(path.join(ROOT, 'scripts', 'docs.mjs'));
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = readme.match(new RegExp(`<!-- action-docs:${action} -->\\n([\\s\\S]*?)\\n<!-- action-docs:end -->`));
    expect(block?.[1]).toBe(tablesFor(action));
  });
});
