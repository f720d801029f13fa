import {describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {parseRecheck} from '../../src/shared/cleanup/inputs.js';
import {PackageVersion} from '../../src/shared/cleanup/model.js';
import {RemovedPositions, pagesToRead, readWave, tagReadsHint} from '../../src/shared/cleanup/wave-read.js';

const version = (id: number, tags: string[] = []): PackageVersion => ({
  id,
  digest: `sha256:${id.toString(16).padStart(64, '0')}`,
  tags,
  createdAt: '2026-01-01T00:00:00Z'
});

describe('recheck input', () => {
  test.each([
    ['', 'ghcr', 'each'],
    ['true', 'ghcr', 'each'],
    ['false', 'ghcr', 'off'],
    ['wave', 'ghcr', 'wave'],
    [' Wave ', 'ghcr', 'wave'],
    ['wave', 'oci', 'wave'],
    ['true', 'ecr', 'each'],
    ['false', 'harbor', 'off']
  ])('%j with backend %s is %s', (value, backend, expected) => {
    expect(parseRecheck(value, backend)).toBe(expected);
  });

  test.each([
    ['wave', 'ecr', 'backend ecr checks each deletion at the registry cheaply: use true or false'],
    ['wave', 'dockerhub', 'backend dockerhub checks each deletion at the registry cheaply: use true or false'],
    ['sometimes', 'ghcr', 'recheck: "sometimes" is not one of true, wave, false.']
  ])('%j with backend %s is refused, saying what to give', (value, backend, message) => {
    expect(() => parseRecheck(value, backend)).toThrow(message);
  });
});

describe('what recheck true costs where every tag is read before each delete', () => {
  const each = (n: number, tags: number): number[] => Array.from({length: n}, () => tags);
  test.each([
    // what is deleted, tags each deletion removes, tags in the repository → requests with recheck true
    // and wave (undefined: not said)
    ['1,000 untagged of 500 tags', each(1000, 0), 500, [502000, 6010]],
    ['100 untagged of 50 tags', each(100, 0), 50, undefined], // 5,200 against 151: under 10,000 saved
    ['300 untagged of 30 tags', each(300, 0), 30, undefined], // 9,600 against 393: under 10,000 saved
    ['400 untagged of 30 tags', each(400, 0), 30, [12800, 524]],
    ['5,000 untagged, no tags', each(5000, 0), 0, undefined], // 10,000 against 5,050: not ten times
    ['nothing', [], 1000, undefined],
    // 400 + 399 + … + 101 tags left, plus 2 a deletion; the waves read 400, 300 and 200 tags left (+1
    // each) and a HEAD a deletion.
    ['300 tagged once of 400 tags', each(300, 1), 400, [75150 + 600, 903 + 300]]
  ])('%s', (_what, removes, tags, costs) => {
    const hint = tagReadsHint(removes as number[], tags as number);
    if (!costs) return expect(hint).toBeUndefined();
    const [withEach, withWave] = costs as number[];
    expect(hint).toContain(`about ${withEach} requests; recheck: wave`);
    expect(hint).toContain(`(about ${withWave})`);
  });
});

describe('pages a wave reads', () => {
  test.each([
    // positions, removed before each (constant), page size → pages
    [[0], 0, 100, [1, 2]],
    [[99], 0, 100, [1, 2]],
    [[100], 0, 100, [2, 3]],
    [[150, 260], 0, 100, [2, 3, 4]],
    // 60 deletions listed before: position 130 is now 70, on page 1
    [[130], 60, 100, [1, 2]],
    [[5, 6, 7], 10, 4, [1, 2]]
  ])('positions %j, %i removed before, %i a page: pages %j', (positions, removed, size, pages) => {
    expect(pagesToRead(positions, () => removed, size)).toEqual(pages);
  });

  test('removed positions count those below, in any order of adding', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(500)), fc.nat(600), (added, at) => {
        const r = new RemovedPositions();
        for (const a of added) r.add(a);
        expect(r.before(at)).toBe(added.filter(a => a < at).length);
      }),
      {seed: 20261207, numRuns: 300}
    );
  });
});

/** A paged listing as GitHub serves one: newest first, offset pages over the state at the moment of each read. */
function listingOf(state: () => PackageVersion[], pageSize: number, reads: {pages: number; single: number}) {
  return {
    pageSize,
    listPage: async (page: number) => {
      reads.pages++;
      return state().slice((page - 1) * pageSize, page * pageSize);
    },
    readOne: async (id: number) => {
      reads.single++;
      return state().find(v => v.id === id);
    }
  };
}

describe('reading a wave', () => {
  test('every member is judged on a fresh read: found on its page, or read alone; never judged on absence', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({min: 20, max: 400}),
        fc.integer({min: 3, max: 50}),
        fc.integer({min: 0, max: 120}),
        fc.integer({min: 0, max: 2 ** 31}),
        async (count, pageSize, pushed, salt) => {
          // Planning saw `count` versions (ids count..1, newest first); since then this run deleted some,
          // others pushed `pushed` new ones (listed first) and tagged or deleted a few.
          const planned = Array.from({length: count}, (_, i) => version(count - i));
          const rnd = (k: number): number => ((salt ^ (k * 2654435761)) >>> 0) % 1000;
          const removed = new RemovedPositions();
          const gone = new Set<number>();
          planned.forEach((v, i) => {
            if (rnd(v.id) < 300) {
              removed.add(i);
              gone.add(v.id);
            }
          });
          const byOthers = new Set(planned.filter(v => !gone.has(v.id) && rnd(v.id + 7) < 20).map(v => v.id));
          const tagged = new Set(planned.filter(v => rnd(v.id + 13) < 50).map(v => v.id));
          const fresh = [
            ...Array.from({length: pushed}, (_, i) => version(100_000 + i)),
            ...planned
              .filter(v => !gone.has(v.id) && !byOthers.has(v.id))
              .map(v => (tagged.has(v.id) ? version(v.id, ['hotfix']) : v))
          ];
          const left = planned.map((v, i) => [v.id, i] as const).filter(([id]) => !gone.has(id));
          const wave = left.filter(([id]) => rnd(id + 29) < 400).slice(0, 100);
          const reads = {pages: 0, single: 0};
          const l = listingOf(() => fresh, pageSize, reads);
          const {now, calls} = await readWave(
            l,
            wave.map(([id]) => id),
            id => planned.findIndex(v => v.id === id),
            removed,
            l.readOne
          );
          for (const [id] of wave) expect(now.get(id)).toEqual(fresh.find(v => v.id === id));
          expect(calls).toBe(reads.pages + reads.single);
          // Shifted by at most a page (pushes only): every member is found on the pages read.
          if (pushed <= pageSize && !byOthers.size) expect(reads.single).toBe(0);
          // A member someone else deleted is on no page: it is read alone, found gone.
          for (const [id] of wave) if (byOthers.has(id)) expect(now.get(id)).toBeUndefined();
        }
      ),
      {seed: 20261207, numRuns: 200}
    );
  });
});
