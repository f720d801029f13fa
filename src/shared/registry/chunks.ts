import {Readable} from 'node:stream';

/**
 * Cuts a stream into chunks of `size()` bytes (the last one shorter), reading only as fast as the
 * chunks are consumed. The size is asked again before each chunk, so it may shrink on the way.
 */
export async function* chunksOf(stream: Readable, size: () => number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    parts.push(piece);
    have += piece.length;
    for (let n = size(); have >= n; n = size()) {
      const all = parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
      yield all.subarray(0, n);
      parts = have > n ? [all.subarray(n)] : [];
      have -= n;
    }
  }
  if (have > 0) yield parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
}
