import {describe, expect, test} from '@jest/globals';
import {TagRules, fillTemplate, parseSyncConfig, tagPattern} from '../../src/shared/sync/config.js';
import {destinationNeeds, newestByCreated, remainingPulls, selectTags} from '../../src/shared/sync/select.js';

const TAGS = [
  'latest',
  '1.25.0',
  '1.26.0',
  '1.26.1',
  '1.26',
  '1',
  'v1.27.0-rc.1',
  '1.26.1-alpine',
  '1.26.1-perl',
  'mainline',
  `sha256-${'a'.repeat(64)}.sig`,
  `sha256-${'b'.repeat(64)}`
];

const rules = (r: Partial<Omit<TagRules, 'allow' | 'deny'>> & {allow?: string[]; deny?: string[]} = {}): TagRules => ({
  newestBy: 'semver',
  digests: [],
  ...r,
  allow: (r.allow ?? []).map(t => tagPattern(t, 'test')),
  deny: (r.deny ?? []).map(t => tagPattern(t, 'test'))
});

describe('tag selection', () => {
  test.each<[string, TagRules, string[]]>([
    [
      'no rules: every tag but signature and referrers tags, newest version first',
      rules(),
      // A suffixed tag (1.26.1-perl) reads as a pre-release of its version: after it, suffixes in order.
      ['v1.27.0-rc.1', '1.26.1', '1.26.1-perl', '1.26.1-alpine', '1.26', '1.26.0', '1.25.0', '1', 'latest', 'mainline']
    ],
    ['a glob', rules({allow: ['1.26.*']}), ['1.26.1', '1.26.1-perl', '1.26.1-alpine', '1.26.0']],
    ['allow and deny', rules({allow: ['1.26*'], deny: ['*-perl']}), ['1.26.1', '1.26.1-alpine', '1.26', '1.26.0']],
    ['a regular expression, as written', rules({allow: ['/^1\\.26\\.\\d+$/']}), ['1.26.1', '1.26.0']],
    ['an unanchored expression matches inside', rules({allow: ['/alpine/']}), ['1.26.1-alpine']],
    [
      'a semver range leaves pre-releases and non-versions out',
      rules({semver: '>=1.26'}),
      ['1.26.1', '1.26', '1.26.0']
    ],
    ['newest 2 by version', rules({semver: '>=1', newest: 2}), ['1.26.1', '1.26']],
    ['alternatives with ||', rules({semver: '^1.25 <1.26 || ^1.26.1'}), ['1.26.1', '1.25.0']],
    ['newest by version ignores non-versions', rules({allow: ['latest', 'mainline', '1.25.0'], newest: 5}), ['1.25.0']],
    ['nothing matches', rules({allow: ['2.*']}), []]
  ])('%s', (_name, r, expected) => {
    expect(selectTags(TAGS, r)).toEqual(expected);
  });

  test('newest by created: newest first, tags without a time left out', () => {
    const created = new Map([
      ['a', 3],
      ['b', 5],
      ['c', 1]
    ]);
    expect(newestByCreated(['a', 'b', 'c', 'd'], created, 2)).toEqual(['b', 'a']);
  });
});

describe('what a destination needs', () => {
  const src = new Map([
    ['1.26.1', 'sha256:c'],
    ['1.26', 'sha256:c'],
    ['1.26.0', 'sha256:b']
  ]);
  test.each<[string, Array<[string, string | undefined]>, Array<[string, string[]]>, string[]]>([
    [
      'an empty destination: one copy per distinct digest, aliases grouped',
      [],
      [
        ['sha256:c', ['1.26.1', '1.26']],
        ['sha256:b', ['1.26.0']]
      ],
      []
    ],
    [
      'up to date: nothing',
      [
        ['1.26.1', 'sha256:c'],
        ['1.26', 'sha256:c'],
        ['1.26.0', 'sha256:b']
      ],
      [],
      ['1.26.1', '1.26', '1.26.0']
    ],
    [
      'a moved alias: only that tag, at the digest it moved to',
      [
        ['1.26.1', 'sha256:c'],
        ['1.26', 'sha256:old'],
        ['1.26.0', 'sha256:b']
      ],
      [['sha256:c', ['1.26']]],
      ['1.26.1', '1.26.0']
    ]
  ])('%s', (_name, target, byDigest, unchanged) => {
    const needs = destinationNeeds('d', src, new Map(target), []);
    expect([...needs.byDigest]).toEqual(byDigest);
    expect(needs.unchanged).toEqual(unchanged);
  });

  test('a pinned digest the destination lacks is copied by digest, with no tag', () => {
    const needs = destinationNeeds('d', new Map(), new Map(), [
      {digest: 'sha256:p', present: false},
      {digest: 'sha256:q', present: true}
    ]);
    expect([...needs.byDigest]).toEqual([['sha256:p', []]]);
  });
});

describe('rate limit header', () => {
  test.each<[string | undefined, number | undefined]>([
    ['76;w=21600', 76],
    ['0;w=21600', 0],
    ['42', 42],
    ['', undefined],
    [undefined, undefined],
    ['n/a', undefined]
  ])('%s → %s', (header, n) => {
    expect(remainingPulls(header)).toBe(n);
  });
});

describe('sync configuration', () => {
  test('defaults apply, repositories expand, templates fill, Docker Hub names normalise', () => {
    const entries = parseSyncConfig(`
defaults:
  destinations: ['ghcr.io/acme/mirror/{repository}']
  platforms: [linux/amd64]
  tags: {newest: 3}
images:
  - source: nginx
    tags: {semver: '>=1.26'}
  - source: registry.k8s.io
    repositories: [pause, coredns/coredns]
    destinations: ['r.example/k8s/{name}', 'r.example/{registry}/{repository}']
    referrers: false
`);
    expect(
      entries.map(e => ({
        name: e.name,
        dest: e.destinations.map(d => d.name),
        newest: e.tags.newest,
        semver: e.tags.semver,
        platforms: e.platforms,
        referrers: e.referrers
      }))
    ).toEqual([
      {
        name: 'docker.io/library/nginx',
        dest: ['ghcr.io/acme/mirror/library/nginx'],
        newest: 3,
        semver: '>=1.26',
        platforms: ['linux/amd64'],
        referrers: true
      },
      {
        name: 'registry.k8s.io/pause',
        dest: ['r.example/k8s/pause', 'r.example/registry.k8s.io/pause'],
        newest: 3,
        semver: undefined,
        platforms: ['linux/amd64'],
        referrers: false
      },
      {
        name: 'registry.k8s.io/coredns/coredns',
        dest: ['r.example/k8s/coredns', 'r.example/registry.k8s.io/coredns/coredns'],
        newest: 3,
        semver: undefined,
        platforms: ['linux/amd64'],
        referrers: false
      }
    ]);
    expect(fillTemplate('{registry}/{repository}/{name}', {registry: 'docker.io', repository: 'library/nginx'})).toBe(
      'docker.io/library/nginx/nginx'
    );
  });

  test.each([
    ['not YAML: [', 'not valid YAML'],
    ['- a\n- b\n', 'expected a mapping with images'],
    ['image: []\n', 'unknown key "image"'],
    ['images:\n  - source: nginx\n', 'images[0]: no destinations'],
    ['images:\n  - destinations: [r.example/x]\n', 'images[0]: source is missing'],
    [
      'images:\n  - {source: nginx, destinations: [r.example/x], tags: {semver: "not a range"}}\n',
      'images[0].tags.semver: "not a range" is not a semver range'
    ],
    // Loose parsing read this as <2.0.0-0, losing the lower bound; the comma is not range syntax.
    [
      'images:\n  - {source: nginx, destinations: [r.example/x], tags: {semver: ">= 1.26, < 2"}}\n',
      'images[0].tags.semver: ">= 1.26, < 2" is not a semver range'
    ],
    // A single | is not an alternative (||): loose parsing made it select nothing.
    [
      'images:\n  - {source: nginx, destinations: [r.example/x], tags: {semver: "^20.1 | ^21"}}\n',
      'images[0].tags.semver: "^20.1 | ^21" is not a semver range'
    ],
    ['images:\n  - {source: nginx, destinations: [r.example/x], tags: {newest: 0}}\n', 'images[0].tags.newest'],
    [
      'images:\n  - {source: nginx, destinations: [r.example/x], tags: {newest-by: size}}\n',
      'neither semver nor created'
    ],
    [
      'images:\n  - {source: nginx, destinations: [r.example/x], tags: {digests: [sha256:abc]}}\n',
      'is not a sha256 digest'
    ],
    ['images:\n  - {source: nginx, destinations: [r.example/x], platforms: [amd64]}\n', '"amd64" is not os/arch'],
    ['images:\n  - {source: nginx, destinations: [docker.io/library/nginx]}\n', 'would be mirrored onto itself'],
    [
      'images:\n  - {source: nginx, destinations: [r.example/m]}\n  - {source: alpine, destinations: [r.example/m]}\n',
      'r.example/m is the destination of both'
    ]
  ])('%s fails naming the problem', (text, message) => {
    expect(() => parseSyncConfig(text)).toThrow(message);
  });
});
