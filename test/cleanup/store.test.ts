import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, expect, test} from '@jest/globals';
import {ManifestStore} from '../../src/shared/cleanup/manifest-store.js';
import {sha256} from '../../src/shared/registry/digest.js';

const body = (n: number): Buffer => Buffer.from(JSON.stringify({schemaVersion: 2, n}));
const dir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));

describe('manifest store', () => {
  test('a stored manifest comes back only while its bytes hash to its digest', () => {
    const store = new ManifestStore(dir());
    const b = body(1);
    const d = sha256(b);
    expect(store.get(d)).toBeUndefined();
    store.put(d, b);
    expect(store.get(d)?.equals(b)).toBe(true);
    fs.writeFileSync(path.join(store.dir, 'sha256', d.slice(7)), body(2));
    expect(store.get(d)).toBeUndefined();
    expect(new ManifestStore(store.dir).get(d)).toBeUndefined();
  });

  test('bytes that do not match the digest, and digests that are not sha256, are never stored', () => {
    const store = new ManifestStore(dir());
    store.put(sha256(body(1)), body(2));
    store.put('sha512:abc', body(1));
    store.put('sha256:../../etc/passwd', body(1));
    expect(store.added).toBe(0);
    expect(fs.existsSync(path.join(store.dir, 'sha256'))).toBe(false);
  });

  test('prune keeps what this run read or wrote and removes the rest', () => {
    const base = dir();
    const earlier = new ManifestStore(base);
    for (const n of [1, 2, 3]) earlier.put(sha256(body(n)), body(n));
    const run = new ManifestStore(base);
    expect(run.get(sha256(body(1)))).toBeDefined();
    run.put(sha256(body(4)), body(4));
    expect(run.prune()).toBe(2);
    expect(fs.readdirSync(path.join(base, 'sha256')).sort()).toEqual(
      [sha256(body(1)), sha256(body(4))].map(d => d.slice(7)).sort()
    );
  });
});
