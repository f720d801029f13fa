import crypto from 'node:crypto';
import {UserError} from './errors.js';

/**
 * One part of a matrix: `shard: k/n` takes the items whose stable hash falls in part k of n, so n jobs
 * (strategy.matrix.shard: [1/4, 2/4, 3/4, 4/4]) cover everything exactly once, whatever the order of
 * the list and whichever items are added or removed (an item never changes shard).
 */
export interface Shard {
  index: number;
  count: number;
}

/** The shard input: empty for none, or k/n with 1 ≤ k ≤ n ≤ 256. Pure. */
export function parseShard(value: string, input = 'shard'): Shard | undefined {
  const v = value.trim();
  if (!v) return undefined;
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(v);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || index < 1 || count < 1 || index > count || count > 256)
    throw new UserError(
      `${input}: "${value}" is not a shard. Write k/n with 1 ≤ k ≤ n ≤ 256, e.g. in a matrix: shard: [1/4, 2/4, 3/4, 4/4].`
    );
  return {index, count};
}

/** Which part (1..count) an item belongs to: the first 6 bytes of its name's SHA-256, modulo count. Pure. */
export function shardOf(key: string, count: number): number {
  const h = crypto.createHash('sha256').update(key).digest();
  return (h.readUIntBE(0, 6) % count) + 1;
}

/** The items of this shard (all of them without one). Pure. */
export function inShard<T>(items: readonly T[], key: (item: T) => string, shard?: Shard): T[] {
  return shard ? items.filter(i => shardOf(key(i), shard.count) === shard.index) : [...items];
}

/** How a report names the part it did: "shard 2/4: 13 of 50 packages". Pure. */
export const shardNote = (shard: Shard, mine: number, all: number, what: string): string =>
  `shard ${shard.index}/${shard.count}: ${mine} of ${all} ${what}`;
