import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {immutableMoves, readImmutableTags, refusalMessage} from '../../src/shared/push/immutable.js';
import {Fixture, multiPlatformFixture} from '../helpers/images.js';
import {BINARY, IMPLEMENTATIONS, Implementation, Registry, startRegistry, tagDigests} from '../helpers/registry.js';
import {ActionRun, pushResults, runBundledAction} from '../helpers/run-action.js';
import {seeded} from '../helpers/seeded.js';
import {requireTool} from '../helpers/tools.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('immutable-tags (pure)', () => {
  const cases: Array<{name: string; input: string[]; tag: string; guarded: boolean}> = [
    {name: 'default: a full version', input: [], tag: '1.2.3', guarded: true},
    {name: 'default: a v-prefixed version with a pre-release', input: [], tag: 'v2.0.0-rc.1', guarded: true},
    {name: 'default: a commit tag', input: [], tag: 'sha-0f3c9a2', guarded: true},
    {name: 'default: a date tag', input: [], tag: '20261207', guarded: true},
    {name: 'default: a minor line moves', input: [], tag: '1.2', guarded: false},
    {name: 'default: latest moves', input: [], tag: 'latest', guarded: false},
    {name: 'default: an environment moves', input: [], tag: 'production', guarded: false},
    {name: 'a glob of the user', input: ['release-*'], tag: 'release-7', guarded: true},
    {name: 'a glob replaces the default', input: ['release-*'], tag: '1.2.3', guarded: false},
    {name: 'both', input: ['kind:immutable', 'stable'], tag: 'stable', guarded: true}
  ];
  test.each(cases)('$name', c => {
    expect(readImmutableTags(c.input)?.matches(c.tag)).toBe(c.guarded);
  });

  test('none turns the guard off and stands alone', () => {
    expect(readImmutableTags(['none'])).toBeUndefined();
    expect(() => readImmutableTags(['none', '1.*'])).toThrow(
      'immutable-tags: none turns the guard off and stands alone'
    );
  });

  test('a move is a guarded tag on another digest; absent or the same digest is none', () => {
    const rule = readImmutableTags([]) as NonNullable<ReturnType<typeof readImmutableTags>>;
    const moves = immutableMoves(
      B,
      [
        {
          destination: 'r1/app',
          current: new Map([
            ['1.2.3', A],
            ['1.2', A],
            ['sha-0f3c9a2', undefined]
          ])
        },
        {destination: 'r2/app', current: new Map([['1.2.3', B]])}
      ],
      rule
    );
    expect(moves).toEqual([{destination: 'r1/app', tag: '1.2.3', current: A, wanted: B}]);
    expect(refusalMessage(moves, 'nothing was written to any destination')).toBe(
      `immutable-tags: r1/app:1.2.3 is ${A}, the copy is ${B}. A release tag names one image forever, so nothing was written to any destination. Publish a new version (or commit), or set move-immutable-tags: true to move it deliberately; immutable-tags chooses which tags are guarded (none: no guard).`
    );
  });
});

const ready = IMPLEMENTATIONS.every(i => !!requireTool(BINARY[i])) && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;

let registries: Record<Implementation, Registry>;
let images: Fixture[];

beforeAll(async () => {
  if (!ready) return;
  const started = await Promise.all(IMPLEMENTATIONS.map(i => startRegistry('none', i)));
  registries = Object.fromEntries(IMPLEMENTATIONS.map((impl, n) => [impl, started[n] as Registry])) as Record<
    Implementation,
    Registry
  >;
  images = [0, 1, 2].map(n => multiPlatformFixture({seed: `immutable-${n}`}));
}, 60000);

afterAll(async () => {
  if (registries) await Promise.all(Object.values(registries).map(r => r.stop()));
});

const state = tagDigests;

const push = (image: Fixture, destinations: string[], tags: string[], extra: Record<string, string> = {}) =>
  runBundledAction('push-multi', {
    source: `oci:${image.dir}:v1`,
    destinations: destinations.join('\n'),
    tags: tags.join(','),
    ...extra
  });

const errors = (run: ActionRun): string[] => run.stdout.split('\n').filter(l => l.startsWith('::error'));

describe('release tags never move (push-multi, three registry implementations)', () => {
  maybe(
    'a re-run with the same digest passes; another digest under 1.2.3 at one destination refuses the whole push, nothing written anywhere; aliases move; move-immutable-tags moves with a warning',
    async () => {
      const [a, b] = images;
      const dests = IMPLEMENTATIONS.map(i => `${registries[i].host}/rel/app`);
      const first = await push(a, dests.slice(0, 2), ['1.2.3', '1.2', 'sha-0f3c9a2']);
      expect({code: first.code, errors: errors(first)}).toEqual({code: 0, errors: []});
      const again = await push(a, dests.slice(0, 2), ['1.2.3', '1.2', 'sha-0f3c9a2']);
      expect({code: again.code, errors: errors(again)}).toEqual({code: 0, errors: []});

      // A rebuilt image under the same version: olareg (the third) does not have it yet, the first two do.
      const before = await Promise.all(IMPLEMENTATIONS.map(i => state(registries[i], 'rel/app')));
      const moved = await push(b, dests, ['1.2.3', '1.2']);
      expect(moved.code).not.toBe(0);
      expect(errors(moved)).toEqual([
        `::error::immutable-tags: ${dests[0]}:1.2.3 is ${a.digest}, the copy is ${b.digest}; ${dests[1]}:1.2.3 is ${a.digest}, the copy is ${b.digest}. A release tag names one image forever, so nothing was written to any destination. Publish a new version (or commit), or set move-immutable-tags: true to move it deliberately; immutable-tags chooses which tags are guarded (none: no guard).`
      ]);
      expect(pushResults(moved).map(r => [r.destination, r.status, r.error])).toEqual([
        [dests[0], 'refused', `1.2.3 is ${a.digest}; the copy is ${b.digest}`],
        [dests[1], 'refused', `1.2.3 is ${a.digest}; the copy is ${b.digest}`],
        [dests[2], 'refused', `not written: ${dests[0]}, ${dests[1]} hold a release tag on another image`]
      ]);
      expect(await Promise.all(IMPLEMENTATIONS.map(i => state(registries[i], 'rel/app')))).toEqual(before);
      const blob = await fetch(`${registries.olareg.url}/v2/rel/app/manifests/${b.digest}`, {method: 'HEAD'});
      expect(blob.status).toBe(404);

      // Aliases alone move.
      const alias = await push(b, dests.slice(0, 2), ['1.2', 'latest']);
      expect({code: alias.code, errors: errors(alias)}).toEqual({code: 0, errors: []});
      expect(await state(registries['distribution-2.8'], 'rel/app')).toEqual(
        expect.objectContaining({'1.2.3': a.digest, '1.2': b.digest, latest: b.digest})
      );

      // Deliberately: moved, each move named.
      const forced = await push(b, dests.slice(0, 1), ['1.2.3'], {'move-immutable-tags': 'true'});
      expect({code: forced.code, errors: errors(forced)}).toEqual({code: 0, errors: []});
      expect(forced.stdout).toContain(
        `::warning::move-immutable-tags: moving ${dests[0]}:1.2.3 from ${a.digest} to ${b.digest}.`
      );
      expect((await state(registries['distribution-2.8'], 'rel/app'))['1.2.3']).toBe(b.digest);
    },
    120000
  );

  /**
   * The promise as a property, on generated histories: whatever each destination holds before (each
   * tag absent or on one of three images) and whatever a push asks (an image, a mix of guarded and
   * floating tags, some destinations), a guarded tag that existed never names another image after the
   * push; a refused push changes nothing anywhere; a passing one writes every tag it was given.
   */
  maybe(
    'property: a guarded tag never moves, a refusal changes nothing anywhere',
    async () => {
      const cases = Number(process.env.PROPERTY_CASES || 16);
      const seed = Number(process.env.PROPERTY_SEED || 20261207);
      const rnd = seeded(seed);
      const TAGS = ['1.0.0', 'v2.1.3', 'sha-1a2b3c4', '1.0', 'latest', 'edge'];
      for (let n = 0; n < cases; n++) {
        const repo = `prop/c${seed}-${n}`;
        const dests = IMPLEMENTATIONS.filter(() => rnd.chance(0.7)).map(i => ({
          impl: i,
          name: `${registries[i].host}/${repo}`
        }));
        if (!dests.length)
          dests.push({impl: 'distribution-2.8', name: `${registries['distribution-2.8'].host}/${repo}`});
        // History: earlier pushes with move-immutable-tags (any state is reachable).
        for (const d of dests)
          for (const img of images)
            if (rnd.chance(0.5)) {
              const tags = TAGS.filter(() => rnd.chance(0.4));
              if (tags.length) await push(img, [d.name], tags, {'move-immutable-tags': 'true'});
            }
        const before = await Promise.all(dests.map(d => state(registries[d.impl], repo)));
        const image = rnd.pick(images);
        const tags = TAGS.filter(() => rnd.chance(0.5));
        if (!tags.length) tags.push('edge');
        const run = await push(
          image,
          dests.map(d => d.name),
          tags
        );
        const after = await Promise.all(dests.map(d => state(registries[d.impl], repo)));
        const label = {seed, n, tags, image: image.digest.slice(7, 19), before};
        const guarded = (t: string) => /^(v?\d+\.\d+\.\d+|sha-[0-9a-f]{7})$/.test(t);
        const conflict = before.some(b => tags.some(t => guarded(t) && b[t] && b[t] !== image.digest));
        expect({...label, refused: run.code !== 0}).toEqual({...label, refused: conflict});
        if (conflict) expect({...label, after}).toEqual({...label, after: before});
        else
          for (const a of after)
            expect({...label, tags: tags.map(t => a[t])}).toEqual({...label, tags: tags.map(() => image.digest)});
        // Never, in either case: a guarded tag that existed now names another image (unless it already was this push's).
        before.forEach((b, i) => {
          for (const t of Object.keys(b).filter(guarded))
            expect({...label, t, now: after[i][t]}).toEqual({...label, t, now: b[t]});
        });
      }
    },
    300000
  );
});
