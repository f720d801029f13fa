import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, expect, test} from '@jest/globals';
import {parse} from 'yaml';
import {ROOT} from './helpers/run-action.js';

const actions = fs.readdirSync(ROOT).filter(d => fs.existsSync(path.join(ROOT, d, 'action.yml')));

describe('repository', () => {
  test('dist is what npm run build produces from the sources', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-check-'));
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--out', out], {cwd: ROOT, stdio: 'pipe'});
    for (const action of actions) {
      for (const file of fs.readdirSync(path.join(out, action))) {
        const built = fs.readFileSync(path.join(out, action, file));
        const committed = path.join(ROOT, 'dist', action, file);
        expect({
          file: `dist/${action}/${file}`,
          fresh: fs.existsSync(committed) && built.equals(fs.readFileSync(committed))
        }).toEqual({
          file: `dist/${action}/${file}`,
          fresh: true
        });
      }
    }
  }, 300000);

  test.each(actions)('%s/action.yml runs the bundled entry on node24', action => {
    const meta = parse(fs.readFileSync(path.join(ROOT, action, 'action.yml'), 'utf8'));
    expect(meta.runs.using).toBe('node24');
    expect(meta.runs.main).toBe(`../dist/${action}/index.js`);
    expect(fs.existsSync(path.join(ROOT, action, meta.runs.main))).toBe(true);
    if (meta.runs.post) expect(fs.existsSync(path.join(ROOT, action, meta.runs.post))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, 'dist', action, 'licenses.txt'))).toBe(true);
  });

  test.each(actions)('README tables for %s match action.yml', async action => {
    const {tablesFor} = await import(path.join(ROOT, 'scripts', 'docs.mjs'));
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = readme.match(new RegExp(`<!-- action-docs:${action} -->\\n([\\s\\S]*?)\\n<!-- action-docs:end -->`));
    expect(block?.[1]).toBe(tablesFor(action));
  });
});
