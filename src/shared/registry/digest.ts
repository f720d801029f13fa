import crypto from 'node:crypto';
import {Transform, TransformCallback} from 'node:stream';
import {noteStreamed} from './memory-pacer.js';

export function sha256(data: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** The fallback tag for referrers of a digest (registries without the referrers API). */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}

export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly bytes: number
  ) {
    super(`content digest mismatch: expected ${expected}, got ${actual} (${bytes} bytes)`);
  }
}

/**
 * A pass-through stream that hashes every byte and fails at the end when the digest or the size
 * differs from what was expected, so nothing unverified is ever committed.
 */
export class VerifyingStream extends Transform {
  private readonly hash?: crypto.Hash;
  bytes = 0;
  constructor(
    private readonly expected: string,
    private readonly onBytes?: (n: number) => void,
    /** False when the bytes were verified upstream already (a download shared by several uploads). */
    hashing = true
  ) {
    super();
    if (hashing) this.hash = crypto.createHash('sha256');
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.hash) {
      this.hash.update(chunk);
      noteStreamed(chunk.length);
    }
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    cb(null, chunk);
  }
  _flush(cb: TransformCallback): void {
    if (!this.hash) return cb();
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (this.expected.startsWith('sha256:') && actual !== this.expected)
      cb(new DigestMismatchError(this.expected, actual, this.bytes));
    else cb();
  }
}

/** Streams whose bytes a VerifyingStream upstream checks (their readers need not hash them again). */
export const verifiedUpstream = new WeakSet<object>();
