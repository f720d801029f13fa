import {describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {BACKENDS, BackendName} from '../../src/shared/cleanup/backends/index.js';
import {evaluateEcrPolicy, parseEcrPolicy} from '../../src/shared/cleanup/ecr.js';
import {ManifestFacts, ManifestState, PackageVersion} from '../../src/shared/cleanup/model.js';
import {planCleanup, tagSubject} from '../../src/shared/cleanup/plan.js';
import {PolicyInputs, compilePolicy, isImmutableTag, parseDuration} from '../../src/shared/cleanup/policy.js';

const D = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const base: PolicyInputs = {
  deleteTags: [],
  excludeTags: [],
  useRegex: false,
  deleteUntagged: false,
  deleteOrphans: false,
  deleteGhosts: false,
  deletePartial: false,
  ephemeral: []
};
const policy = (p: Partial<PolicyInputs>) => compilePolicy({...base, ...p});

/** A small package builder: versions and the manifests behind them. */
class Pkg {
  versions: PackageVersion[] = [];
  manifests = new Map<string, ManifestState>();
  private n = 1;
  add(tags: string[], facts: Partial<ManifestFacts>, ageDays = 10): string {
    const digest = D(this.n);
    this.versions.push({
      id: this.n,
      digest,
      tags,
      createdAt: new Date(NOW - ageDays * DAY + this.n * 1000).toISOString()
    });
    this.manifests.set(digest, {
      digest,
      mediaType: MANIFEST,
      children: [],
      blobs: [{digest: `${digest}-blob`, size: 100}],
      ...facts
    });
    this.n++;
    return digest;
  }
  image(tags: string[], platforms = 2, ageDays = 10, attestations = false): {index: string; kids: string[]} {
    const kids = Array.from({length: platforms}, () => this.add([], {}, ageDays));
    const att = attestations ? kids.map(() => this.add([], {}, ageDays)) : [];
    const index = this.add(
      tags,
      {
        mediaType: INDEX,
        blobs: [],
        children: [
          ...kids.map((d, i) => ({digest: d, platform: `linux/arch${i}`, attestation: false})),
          ...att.map(d => ({digest: d, platform: 'unknown/unknown', attestation: true}))
        ]
      },
      ageDays
    );
    return {index, kids: [...kids, ...att]};
  }
  plan(
    p: ReturnType<typeof policy>,
    extra: {
      complete?: boolean;
      openPullRequests?: Set<number>;
      branches?: Set<string>;
      closedBranches?: Map<string, number>;
    } = {}
  ) {
    return planCleanup({
      versions: this.versions,
      manifests: this.manifests,
      policy: p,
      now: NOW,
      complete: true,
      ...extra
    });
  }
}
const deletedOf = (plan: ReturnType<Pkg['plan']>): string[] =>
  plan.decisions
    .filter(d => d.action === 'delete')
    .map(d => d.digest)
    .sort();

describe('planner: table of situations', () => {
  test('delete-untagged: an untagged index goes with its platforms; a tagged index keeps its platforms', () => {
    const p = new Pkg();
    const kept = p.image(['v1'], 2, 10, true);
    const old = p.image([], 2, 20, true);
    const plan = p.plan(policy({deleteUntagged: true}));
    expect(deletedOf(plan)).toEqual([old.index, ...old.kids].sort());
    expect(plan.deleteOrder[0]).toBe(plan.decisions.find(d => d.digest === old.index)?.id);
    for (const k of kept.kids) expect(plan.decisions.find(d => d.digest === k)?.action).toBe('keep');
    expect(plan.bytesReclaimed).toBe(400);
  });

  test('a shared platform manifest survives while one index using it is kept', () => {
    const p = new Pkg();
    const shared = p.add([], {});
    const a = p.add(['a'], {mediaType: INDEX, children: [{digest: shared, attestation: false}]});
    p.add(['b'], {mediaType: INDEX, children: [{digest: shared, attestation: false}]});
    const plan = p.plan(policy({deleteTags: ['a']}));
    expect(deletedOf(plan)).toEqual([a]);
    expect(plan.decisions.find(d => d.digest === shared)?.reason).toBe('still referenced by a kept image');
  });

  test('signatures: follow a deleted image; stay with a kept one; orphans only with delete-orphans', () => {
    const p = new Pkg();
    const gone = p.image(['old'], 1, 30);
    const stays = p.image(['new'], 1, 1);
    const sigGone = p.add([`${gone.index.replace(':', '-')}.sig`], {});
    const sigKept = p.add([`${stays.index.replace(':', '-')}.sig`], {});
    const bundle = p.add([], {subject: gone.index, artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json'});
    const fallback = p.add([gone.index.replace(':', '-')], {
      mediaType: INDEX,
      children: [{digest: bundle, attestation: false}]
    });
    const orphan = p.add([`sha256-${'f'.repeat(64)}.sig`], {});
    const plan = p.plan(policy({keepNTagged: 1}));
    expect(deletedOf(plan)).toEqual([gone.index, ...gone.kids, sigGone, bundle, fallback].sort());
    expect(plan.decisions.find(d => d.digest === sigKept)?.action).toBe('keep');
    expect(plan.decisions.find(d => d.digest === orphan)?.reason).toContain('delete-orphans is off');
    const order = plan.deleteOrder;
    const id = (d: string): number => plan.decisions.find(x => x.digest === d)?.id as number;
    expect(order.indexOf(id(gone.index))).toBeLessThan(order.indexOf(id(sigGone)));
    expect(order.indexOf(id(fallback))).toBeLessThan(order.indexOf(id(bundle)));
    expect(deletedOf(p.plan(policy({deleteOrphans: true})))).toEqual([orphan]);
  });

  test.each([
    ['keep-n-tagged 2 of 4', {keepNTagged: 2}, ['t0', 't1']],
    ['exclude-tags protects and does not count', {keepNTagged: 1, excludeTags: ['t0']}, ['t1', 't2']],
    ['older-than spares young images', {keepNTagged: 0, olderThan: '25d'}, ['t0', 't1']],
    ['delete-tags with regex', {deleteTags: ['t[12]'], useRegex: true}, ['t1', 't2']],
    ['kind:floating', {deleteTags: ['kind:floating'], excludeTags: ['t3']}, ['t0', 't1', 't2']]
  ])('%s', (_name, p, expected) => {
    const pkg = new Pkg();
    // t0 oldest (40 days) … t3 newest (10 days)
    for (const i of [0, 1, 2, 3]) pkg.image([`t${i}`], 1, 40 - i * 10);
    const plan = pkg.plan(policy(p as Partial<PolicyInputs>));
    const deletedTags = plan.decisions
      .filter(d => d.action === 'delete' && d.tags.length)
      .flatMap(d => d.tags)
      .sort();
    expect(deletedTags).toEqual(expected);
  });

  test('untag: only matching tags go; older-than also protects from untagging', () => {
    const p = new Pkg();
    const img = p.image(['v1.0.0', 'pr-3'], 1, 40);
    const young = p.image(['v2.0.0', 'pr-4'], 1, 1);
    const plan = p.plan(policy({deleteTags: ['pr-*'], olderThan: '7d'}));
    expect(plan.decisions.find(d => d.digest === img.index)).toEqual(
      expect.objectContaining({action: 'untag', untag: ['pr-3']})
    );
    expect(plan.decisions.find(d => d.digest === young.index)?.action).toBe('keep');
    expect(deletedOf(plan)).toEqual([]);
  });

  test('keep-semver per major line and overall; pre-releases never count', () => {
    const p = new Pkg();
    const tags = ['v1.0.0', 'v1.2.0', 'v2.0.0', 'v2.0.1', 'v3.0.0-rc.1'];
    tags.forEach((t, i) => p.image([t], 1, 50 - i));
    const perMajor = p.plan(policy({keepSemver: '1', keepNTagged: 0}));
    expect(
      perMajor.decisions
        .filter(d => d.action === 'keep' && d.tags.length)
        .flatMap(d => d.tags)
        .sort()
    ).toEqual(['v1.2.0', 'v2.0.1']);
    const overall = p.plan(policy({keepSemver: '2 overall', keepNTagged: 0}));
    expect(
      overall.decisions
        .filter(d => d.action === 'keep' && d.tags.length)
        .flatMap(d => d.tags)
        .sort()
    ).toEqual(['v2.0.0', 'v2.0.1']);
  });

  test('ghost and partial indexes', () => {
    const p = new Pkg();
    const ghost = p.add(['ghost'], {
      mediaType: INDEX,
      children: [
        {digest: D(900), attestation: false},
        {digest: D(901), attestation: false}
      ]
    });
    const kid = p.add([], {});
    const partial = p.add(['partial'], {
      mediaType: INDEX,
      children: [
        {digest: kid, attestation: false},
        {digest: D(902), attestation: false}
      ]
    });
    for (const d of [900, 901, 902]) p.manifests.set(D(d), 'missing');
    expect(deletedOf(p.plan(policy({deleteGhosts: true})))).toEqual([ghost]);
    expect(deletedOf(p.plan(policy({deletePartial: true})))).toEqual([ghost, partial, kid].sort());
  });

  test('ephemeral: closed pull requests and deleted branches; releases and latest never count', () => {
    const p = new Pkg();
    const closed = p.image(['pr-1'], 1).index;
    p.image(['pr-2'], 1);
    const deletedBranch = p.image(['feature-x'], 1).index;
    p.image(['main', 'latest'], 1);
    p.image(['v1.0.0'], 1);
    const plan = p.plan(policy({ephemeral: ['true']}), {
      openPullRequests: new Set([2]),
      branches: new Set(['main']),
      closedBranches: new Map([['feature-x', 9]])
    });
    expect(
      plan.decisions
        .filter(d => d.action === 'delete' && d.tags.length)
        .map(d => d.digest)
        .sort()
    ).toEqual([closed, deletedBranch].sort());
    expect(plan.decisions.find(d => d.digest === deletedBranch)?.reason).toBe(
      'ephemeral: feature-x (branch feature-x of closed pull request #9 no longer exists)'
    );
  });

  test('targeted deletes take no place among the N newest: closed pull requests and delete-tags images do not crowd releases out; protections still win', () => {
    const p = new Pkg();
    const releases = [1, 2, 3].map(n => p.image([`v1.${n}.0`], 1, 20 - n).index);
    const closed = p.image(['pr-1'], 1, 5).index;
    const matching = p.image(['tmp-1'], 1, 4).index;
    const excluded = p.image(['pr-3', 'prod-1'], 1, 3).index;
    const open = p.image(['pr-2'], 1, 2).index;
    const plan = p.plan(
      policy({keepNTagged: 3, ephemeral: ['pull-requests'], deleteTags: ['tmp-*'], excludeTags: ['prod-*']}),
      {
        openPullRequests: new Set([2])
      }
    );
    const action = (d: string) => plan.decisions.find(x => x.digest === d)?.action;
    // Kept: the excluded image, the open pull request and the two newest releases fill the 3 places
    // with the excluded one protected outside the count.
    expect([excluded, open, releases[2], releases[1]].map(action)).toEqual(['keep', 'keep', 'keep', 'keep']);
    expect([closed, matching, releases[0]].map(action)).toEqual(['delete', 'delete', 'delete']);
    expect(plan.decisions.find(x => x.digest === closed)?.reason).toBe('ephemeral: pr-1 (pull request #1 is not open)');
  });

  // A tag counts as a deleted branch's only with evidence; absence from the branch list is none.
  const branchCases: Array<{
    name: string;
    tags: string[];
    branchTags?: string[];
    useRegex?: boolean;
    closed?: Array<[string, number]>;
    deleted: boolean;
    reason?: string;
  }> = [
    {name: 'an environment tag of an image built on main, main moved on', tags: ['prod'], deleted: false},
    {
      name: 'environment and alias tags together',
      tags: ['staging', 'stable', 'edge', 'nightly', '1.2'],
      deleted: false
    },
    {name: 'a branch that is not the head of any closed pull request', tags: ['feature-y'], deleted: false},
    {
      name: "a closed pull request's head branch that still exists",
      tags: ['main'],
      closed: [['main', 4]],
      deleted: false
    },
    {
      name: "a closed pull request's deleted head branch",
      tags: ['feature-y'],
      closed: [['feature-y', 4]],
      deleted: true,
      reason: 'ephemeral: feature-y (branch feature-y of closed pull request #4 no longer exists)'
    },
    {
      name: 'prod among closed-branch tags keeps the image',
      tags: ['feature-y', 'prod'],
      closed: [['feature-y', 4]],
      deleted: false
    },
    {
      name: 'branch-tags glob, branch gone',
      tags: ['branch-old'],
      branchTags: ['branch-*'],
      deleted: true,
      reason: 'ephemeral: branch-old (matches branch-tags; no branch old exists)'
    },
    {name: 'branch-tags glob, branch exists', tags: ['branch-main'], branchTags: ['branch-*'], deleted: false},
    {name: 'branch-tags glob does not match prod', tags: ['prod'], branchTags: ['branch-*'], deleted: false},
    {
      name: 'branch-tags regex with a capture group, branch gone',
      tags: ['br-old-x'],
      branchTags: ['br-(.+)-x'],
      useRegex: true,
      deleted: true
    },
    {
      name: 'branch-tags regex {m,n}, branch exists',
      tags: ['b-main'],
      branchTags: ['b-([a-z]{2,8})'],
      useRegex: true,
      deleted: false
    }
  ];
  test.each(branchCases)('ephemeral branches: $name', c => {
    const p = new Pkg();
    const img = p.image(c.tags, 1).index;
    const plan = p.plan(
      policy({ephemeral: ['branches'], branchTags: c.branchTags ?? [], useRegex: c.useRegex ?? false}),
      {openPullRequests: new Set(), branches: new Set(['main']), closedBranches: new Map(c.closed ?? [])}
    );
    const d = plan.decisions.find(x => x.digest === img);
    expect(d?.action).toBe(c.deleted ? 'delete' : 'keep');
    if (c.reason) expect(d?.reason).toBe(c.reason);
  });

  test('ephemeral without the repository state deletes nothing', () => {
    const p = new Pkg();
    p.image(['pr-1'], 1);
    p.image(['feature-x'], 1);
    const plan = p.plan(policy({ephemeral: ['true'], branchTags: ['feature-*']}));
    expect(plan.decisions.every(d => d.action === 'keep')).toBe(true);
  });

  test('branch-tags needs ephemeral branches', () => {
    expect(() => policy({ephemeral: ['pull-requests'], branchTags: ['branch-*']})).toThrow(
      'branch-tags: names the tags of branches for ephemeral: branches'
    );
  });

  test('unreadable manifests and incomplete listings block the package; a missing version manifest is only reported', () => {
    const p = new Pkg();
    p.image([], 1);
    const broken = p.add(['x'], {});
    p.manifests.set(broken, 'unreadable');
    const blocked = p.plan(policy({deleteUntagged: true}));
    expect(blocked.blocked).toContain('could not be read');
    expect(blocked.deleteOrder).toEqual([]);
    expect(blocked.decisions.every(d => d.action === 'keep')).toBe(true);
    p.manifests.set(broken, 'missing');
    const ok = p.plan(policy({deleteUntagged: true}));
    expect(ok.blocked).toBeUndefined();
    expect(ok.warnings).toEqual([expect.stringContaining('has no manifest in the registry')]);
    expect(p.plan(policy({deleteUntagged: true}), {complete: false}).blocked).toContain('could not be read completely');
  });
});

describe('policy inputs and ECR documents', () => {
  test.each([
    ['30d', 30 * DAY],
    ['12h', 12 * 3_600_000],
    ['1d12h', 36 * 3_600_000],
    ['2w', 14 * DAY]
  ])('duration %s', (s, ms) => expect(parseDuration('older-than', s)).toBe(ms));
  test.each(['30', 'd', '30 days', '-1d'])('bad duration %s', s =>
    expect(() => parseDuration('older-than', s)).toThrow('older-than: "' + s + '" is not a duration')
  );
  test('no delete rule at all is refused; keep-only rules are not enough', () => {
    expect(() => policy({excludeTags: ['v*'], keepSemver: '3', olderThan: '30d'})).toThrow('no cleanup rule given');
    expect(() => policy({deleteTags: ['(']}).deleteTags?.('x')).not.toThrow();
    expect(() => policy({deleteTags: ['('], useRegex: true})).toThrow(
      'delete-tags: "(" is not a valid regular expression'
    );
  });
  test('tag kinds', () => {
    expect(['v1.2.3', '1.2.3-rc.1', 'sha-1a2b3c4', '20260101'].every(isImmutableTag)).toBe(true);
    expect(['latest', 'v1', '1.2', 'main', 'pr-3'].some(isImmutableTag)).toBe(false);
    expect(tagSubject(`sha256-${'a'.repeat(64)}.att`)).toBe(`sha256:${'a'.repeat(64)}`);
  });

  const rule = (priority: number, selection: object) => ({rulePriority: priority, selection, action: {type: 'expire'}});
  test.each([
    ['not JSON', '{', 'not valid JSON'],
    ['no rules', '{"rules":[]}', 'no "rules" list'],
    [
      'tagged without list',
      JSON.stringify({rules: [rule(1, {tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1})]}),
      'needs tagPrefixList or tagPatternList'
    ],
    [
      'any not last',
      JSON.stringify({
        rules: [
          rule(1, {tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1}),
          rule(2, {tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1})
        ]
      }),
      'tagStatus any must have the highest rulePriority'
    ],
    [
      'days missing',
      JSON.stringify({rules: [rule(1, {tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1})]}),
      'countUnit "days"'
    ],
    [
      'five wildcards',
      JSON.stringify({
        rules: [
          rule(1, {tagStatus: 'tagged', tagPatternList: ['*a*b*c*d*'], countType: 'imageCountMoreThan', countNumber: 1})
        ]
      }),
      'more than four wildcards'
    ],
    [
      'same priority',
      JSON.stringify({
        rules: [
          rule(1, {tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1}),
          rule(1, {tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 2})
        ]
      }),
      'share a rulePriority'
    ]
  ])('ECR document refused: %s', (_n, doc, msg) => expect(() => parseEcrPolicy(doc)).toThrow(msg));

  test('ECR semantics: a higher-priority rule claims its images; every listed prefix must match; oldest expire first', () => {
    const rules = parseEcrPolicy(
      JSON.stringify({
        rules: [
          rule(2, {tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1}),
          rule(1, {tagStatus: 'tagged', tagPrefixList: ['prod', 'v'], countType: 'imageCountMoreThan', countNumber: 1})
        ]
      })
    );
    const images = [
      {key: 'a', tags: ['prod-1', 'v1'], pushedAt: 1},
      {key: 'b', tags: ['prod-2', 'v2'], pushedAt: 2},
      {key: 'c', tags: ['prod-3'], pushedAt: 3},
      {key: 'd', tags: [], pushedAt: 4}
    ];
    const expired = evaluateEcrPolicy(rules, images, 10);
    expect(Object.fromEntries([...expired].map(([k, r]) => [k, r.rulePriority]))).toEqual({a: 1, c: 2});
  });
});

describe('planner properties (fast-check)', () => {
  /** A random package: indexes (some sharing platforms, some with attestations), loose images, signatures, orphans. */
  const pkgArb = fc
    .record({
      images: fc.array(
        fc.record({
          tags: fc.subarray(['v1.0.0', 'v1.1.0', 'v2.0.0', 'latest', 'main', 'pr-1', 'pr-2', 'dev', 'x', 'y']),
          platforms: fc.integer({min: 0, max: 3}),
          share: fc.boolean(),
          attest: fc.boolean(),
          signed: fc.constantFrom('none', 'legacy', 'bundle'),
          age: fc.integer({min: 0, max: 60}),
          ghostKids: fc.integer({min: 0, max: 2})
        }),
        {minLength: 1, maxLength: 12}
      ),
      orphans: fc.integer({min: 0, max: 2})
    })
    .map(spec => {
      const p = new Pkg();
      const used = new Set<string>();
      const allKids: string[] = [];
      for (const img of spec.images) {
        const tags = img.tags.filter(t => !used.has(t));
        for (const t of tags) used.add(t);
        let subject: string;
        if (img.platforms === 0) subject = p.add(tags, {}, img.age);
        else {
          const kids = Array.from({length: img.platforms}, () => p.add([], {}, img.age));
          if (img.share && allKids.length) kids.push(allKids[0]);
          allKids.push(...kids);
          const att = img.attest ? [p.add([], {}, img.age)] : [];
          const missing = Array.from({length: img.ghostKids}, (_v, i) => D(5000 + allKids.length * 10 + i));
          for (const m of missing) p.manifests.set(m, 'missing');
          subject = p.add(
            tags,
            {
              mediaType: INDEX,
              children: [
                ...[...kids, ...missing].map(d => ({digest: d, attestation: false})),
                ...att.map(d => ({digest: d, attestation: true}))
              ]
            },
            img.age
          );
        }
        if (img.signed === 'legacy') p.add([`${subject.replace(':', '-')}.sig`], {}, img.age);
        if (img.signed === 'bundle') {
          const b = p.add([], {subject}, img.age);
          p.add([subject.replace(':', '-')], {mediaType: INDEX, children: [{digest: b, attestation: false}]}, img.age);
        }
      }
      for (let i = 0; i < spec.orphans; i++) p.add([`sha256-${(7000 + i).toString(16).padStart(64, '0')}.sig`], {});
      return p;
    });
  const policyArb = fc
    .record({
      keepNTagged: fc.option(fc.integer({min: 0, max: 4}), {nil: undefined}),
      keepNUntagged: fc.option(fc.integer({min: 0, max: 3}), {nil: undefined}),
      deleteUntagged: fc.boolean(),
      deleteOrphans: fc.boolean(),
      deleteGhosts: fc.boolean(),
      deletePartial: fc.boolean(),
      deleteTags: fc.subarray(['pr-*', 'dev', 'v1.*', 'x']),
      excludeTags: fc.subarray(['latest', 'v2.*', 'y']),
      olderThan: fc.option(fc.constantFrom('5d', '30d'), {nil: undefined}),
      keepSemver: fc.option(fc.constantFrom('1', '1 overall'), {nil: undefined})
    })
    .filter(
      p =>
        p.keepNTagged !== undefined ||
        p.keepNUntagged !== undefined ||
        p.deleteUntagged ||
        p.deleteOrphans ||
        p.deleteGhosts ||
        p.deletePartial ||
        p.deleteTags.length > 0
    )
    .map(p => policy(p));

  /**
   * The versions each backend lists: every manifest (GHCR's package versions, ECR, ACR, Artifact
   * Registry, Harbor's artifacts with their references and accessories), or only what tags reach
   * (the OCI API and Docker Hub list tags; children and artifacts are found through them).
   */
  /** Each subject's artifacts (by `subject`, or a sha256-<hex> tag). */
  const artifactsOf = (p: Pkg): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const v of p.versions) {
      const f = p.manifests.get(v.digest);
      const subject = (typeof f === 'object' ? f.subject : undefined) ?? v.tags.map(tagSubject).find(Boolean);
      if (subject) out.set(subject, [...(out.get(subject) ?? []), v.digest]);
    }
    return out;
  };
  /** Digests reachable from `start` through children and artifacts, over `within` when given. */
  const reach = (p: Pkg, start: string[], within?: Set<string>, onVisit?: (d: string) => void): Set<string> => {
    const artifacts = artifactsOf(p);
    const seen = new Set<string>();
    const queue = [...start];
    while (queue.length) {
      const d = queue.shift() as string;
      if (seen.has(d) || (within && !within.has(d))) continue;
      seen.add(d);
      onVisit?.(d);
      const f = p.manifests.get(d);
      if (typeof f === 'object') queue.push(...f.children.map(c => c.digest));
      queue.push(...(artifacts.get(d) ?? []));
    }
    return seen;
  };

  const listing = (backend: BackendName, p: Pkg): PackageVersion[] => {
    if (backend !== 'oci' && backend !== 'dockerhub') return p.versions;
    const tagged = p.versions.filter(v => v.tags.length).map(v => v.digest);
    const seen = reach(p, tagged, new Set(p.versions.map(v => v.digest)));
    return p.versions.filter(v => seen.has(v.digest));
  };

  test.each(BACKENDS.map(b => [b]))(
    '%s listing: nothing reachable from a kept version is deleted; the order respects parents; planning is deterministic',
    backend => {
      fc.assert(
        fc.property(pkgArb, policyArb, fc.integer(), (full, pol, seed) => {
          const versions = listing(backend, full);
          const p = Object.assign(Object.create(Object.getPrototypeOf(full)) as Pkg, full, {versions});
          const plan = p.plan(pol);
          const action = new Map(plan.decisions.map(d => [d.digest, d.action]));
          // Walk from every kept version: children and the artifacts of kept subjects.
          reach(
            p,
            plan.decisions.filter(d => d.action !== 'delete').map(d => d.digest),
            undefined,
            d => expect(action.get(d)).not.toBe('delete')
          );
          // Excluded tags are never deleted or untagged.
          for (const d of plan.decisions) {
            if (d.tags.some(t => pol.excludeTags?.(t)))
              expect(d.action === 'delete' || (d.untag ?? []).some(t => pol.excludeTags?.(t))).toBe(false);
          }
          // The order holds exactly the deletions, each after what it depends on.
          const deleted = plan.decisions.filter(d => d.action === 'delete').map(d => d.id);
          expect([...plan.deleteOrder].sort((a, b) => a - b)).toEqual(deleted.sort((a, b) => a - b));
          for (const [id, ups] of Object.entries(plan.dependsOn)) {
            for (const u of ups) expect(plan.deleteOrder.indexOf(u)).toBeLessThan(plan.deleteOrder.indexOf(Number(id)));
          }
          // Dry run and real run plan the same set, whatever order the API lists versions in.
          const shuffled = [...p.versions].sort((a, b) => ((a.id * 7919 + seed) % 101) - ((b.id * 7919 + seed) % 101));
          const again = planCleanup({
            versions: shuffled,
            manifests: p.manifests,
            policy: pol,
            now: NOW,
            complete: true
          });
          expect(deletedOf(again)).toEqual(deletedOf(plan));
          // What a backend cannot list it never deletes.
          const listed = new Set(versions.map(v => v.digest));
          for (const d of plan.decisions) if (d.action === 'delete') expect(listed.has(d.digest)).toBe(true);
        }),
        {numRuns: 300}
      );
    }
  );
});
