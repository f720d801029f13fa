import {spawn} from 'node:child_process';
import path from 'node:path';
import {expect, test} from '@jest/globals';
import {ROOT} from '../helpers/run-action.js';

/** The README's first command, run as a newcomer would; in CI every step must run (none skipped). */
test('the demo runs the whole pipeline: build, tag, push, sign and verify, scan, cleanup dry run', async () => {
  const res = await new Promise<{code: number; out: string}>(resolve => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'demo.mjs')], {
      env: {...process.env, DEMO_STRICT: process.env.CI ? '1' : '0'},
      cwd: ROOT
    });
    let out = '';
    child.stdout.on('data', d => (out += d));
    child.stderr.on('data', d => (out += d));
    child.on('close', code => resolve({code: code ?? 1, out}));
  });
  expect({code: res.code, failed: res.out.match(/demo failed.*/)?.[0]}).toEqual({code: 0, failed: undefined});
  for (const s of ['== build', '== tag', '== push', '== sign', '== scan', '== cleanup']) expect(res.out).toContain(s);
  expect(res.out).toMatch(/again: 0 uploaded, 0 manifests written; 0 uploaded, 0 manifests written/);
  if (process.env.CI) {
    expect(res.out).toMatch(/done in [\d.]+ s: every step ran/);
    expect(res.out).toContain('verified: 6 manifests');
    expect(res.out).toContain('linux/amd64: 1 high');
    expect(res.out).toContain('would delete');
  }
});
