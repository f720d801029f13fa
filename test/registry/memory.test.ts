import {execFileSync} from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import {Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {VerifyingStream} from '../../src/shared/registry/digest.js';
import {ROOT} from '../helpers/run-action.js';
import {NODE24, requireTool} from '../helpers/tools.js';

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

// The runner runs the actions on Node 24, whose V8 differs from this one's: the pacer must get its
// collector there too. Node 24 runs the pacer's source as it is (it strips the types); 128 MiB of
// buffers that die at once, as above. Without the pacer Node 24 holds about 64 MiB of them.
test('the pacer works on Node 24, which action.yml declares', () => {
  const node = requireTool('node24', NODE24);
  if (!node) return;
  const script = `
    const {noteStreamed} = await import(process.argv[1]);
    const chunk = 65536;
    const start = process.memoryUsage().arrayBuffers;
    let peak = 0;
    for (let i = 0; i < 2048; i++) {
      noteStreamed(Buffer.alloc(chunk, i % 251).length);
      if (i % 8 === 0) {
        await new Promise(r => setImmediate(r));
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - start);
      }
    }
    console.log(peak / 1048576);`;
  const pacer = path.join(ROOT, 'src', 'shared', 'registry', 'memory-pacer.ts');
  const out = execFileSync(node, ['--no-warnings', '--input-type=module', '-e', script, pacer], {encoding: 'utf8'});
  expect(Number(out.trim())).toBeLessThan(8);
});
