import crypto from 'node:crypto';
import {Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {VerifyingStream} from '../../src/shared/registry/digest.js';

const MiB = 1 << 20;
const CHUNK = 64 * 1024;

/**
 * Streams a blob the way a copy streams one: every chunk arrives in a fresh buffer (as a socket's
 * reads do), passes the digest check and reaches an upload that keeps the last `window` bytes (a
 * queue behind a slow link) and drops them after. Returns the most bytes array buffers held on the way
 * beyond what they held before.
 */
async function streamBlob(total: number, window: number): Promise<number> {
  const reused = Buffer.alloc(CHUNK);
  const hash = crypto.createHash('sha256');
  for (let i = 0; i < total / CHUNK; i++) hash.update(reused.fill(i % 251));
  const digest = `sha256:${hash.digest('hex')}`;

  const start = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let seen = 0;
  let i = 0;
  const queued: Buffer[] = [];
  const source = new Readable({
    read() {
      this.push(i < total / CHUNK ? Buffer.alloc(CHUNK, i++ % 251) : null);
    }
  });
  const upload = new Writable({
    write(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      queued.push(chunk);
      if (queued.length * CHUNK > window) queued.shift();
      if (seen % (8 * CHUNK) === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - start);
      cb();
    }
  });
  await pipeline(source, new VerifyingStream(digest), upload);
  expect(seen).toBe(total);
  return peak / MiB;
}

// Buffers that die at once are freed by the young-generation collection the pacer runs every MiB:
// about 1 MiB is held at a time. Without it V8 lets about 30 MiB pile up here.
test('a long blob copy holds few dead buffers at any moment', async () => {
  expect(await streamBlob(128 * MiB, 0)).toBeLessThan(8);
});

// Buffers held a while (queued behind a slow upload) outlive young-generation collections; once dead
// they wait for a full one, which the pacer runs when 16 MiB of them piled up.
test('buffers held a while are freed too', async () => {
  expect(await streamBlob(192 * MiB, 2 * MiB)).toBeLessThan(24);
});
