import {describe, expect, test} from '@jest/globals';
import {inShard, parseShard} from '../../src/shared/shard.js';
import {seeded} from '../helpers/seeded.js';

describe('shard: k/n', () => {
  test.each([
    ['', undefined],
    ['1/1', {index: 1, count: 1}],
    ['2/4', {index: 2, count: 4}],
    [' 3 / 8 ', {index: 3, count: 8}]
  ])('%j parses', (value, shard) => {
    expect(parseShard(value)).toEqual(shard);
  });

  test.each(['0/4', '5/4', '1/0', 'a/b', '2', '1/300', '-1/2'])(
    '%j is refused, naming the input and the form',
    value => {
      expect(() => parseShard(value)).toThrow(`shard: "${value}" is not a shard. Write k/n with 1 ≤ k ≤ n ≤ 256`);
    }
  );

  /**
   * The promise as a property on generated name sets (registry paths, package names; seeded): for
   * every n from 1 to 8 the n shards are disjoint and together are the whole list, in any order of the
   * list; an item's shard does not depend on the others (adding names moves none).
   */
  test('property: n shards cover every item exactly once, for n = 1..8; an item never changes shard', () => {
    const seed = Number(process.env.PROPERTY_SEED || 20261207);
    const rnd = seeded(seed);
    const word = (): string =>
      Array.from({length: 1 + rnd.int(12)}, () => 'abcdefghijklmnopqrstuvwxyz0123456789-'[rnd.int(37)]).join('');
    for (let c = 0; c < Number(process.env.PROPERTY_CASES || 200); c++) {
      const names = [
        ...new Set(
          Array.from({length: rnd.int(60)}, () =>
            rnd.chance(0.5) ? `docker.io/library/${word()}` : `${word()}/${word()}`
          )
        )
      ];
      for (let n = 1; n <= 8; n++) {
        const parts = Array.from({length: n}, (_, k) => inShard(names, x => x, {index: k + 1, count: n}));
        const union = parts.flat();
        expect({seed, c, n, size: union.length, distinct: new Set(union).size}).toEqual({
          seed,
          c,
          n,
          size: names.length,
          distinct: names.length
        });
        const reversed = Array.from({length: n}, (_, k) =>
          inShard([...names].reverse(), x => x, {index: k + 1, count: n})
        );
        expect(reversed.map(p => [...p].sort())).toEqual(parts.map(p => [...p].sort()));
        const more = [...names, `${word()}/${word()}-extra`];
        const grown = Array.from({length: n}, (_, k) => inShard(more, x => x, {index: k + 1, count: n}));
        expect(grown.map(p => p.filter(x => names.includes(x)))).toEqual(parts);
      }
    }
  });

  test('the parts are even enough to be worth a matrix: 1,000 names in 4 shards, none under 200', () => {
    const names = Array.from({length: 1000}, (_, i) => `acme/service-${i}`);
    const sizes = [1, 2, 3, 4].map(k => inShard(names, x => x, {index: k, count: 4}).length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(200);
  });
});
