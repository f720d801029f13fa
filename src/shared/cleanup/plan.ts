import semver from 'semver';
import {evaluateEcrPolicy} from './ecr.js';
import {Decision, ManifestFacts, ManifestState, PackageVersion, Plan, Role} from './model.js';
import {Policy, isImmutableTag} from './policy.js';

export interface PlanInput {
  versions: PackageVersion[];
  /** Manifest facts by digest: every version's, and the children and subjects they name. */
  manifests: Map<string, ManifestState>;
  policy: Policy;
  now: number;
  /** Whether the version list was read to its end. */
  complete: boolean;
  /** For ephemeral: open pull request numbers and existing branches (as tags: / replaced by -). */
  openPullRequests?: Set<number>;
  branches?: Set<string>;
  /** For ephemeral: head branches (as tags) of closed pull requests from this repository, with the number. */
  closedBranches?: Map<string, number>;
}

const FALLBACK_TAG = /^sha256-([a-f0-9]{64})(?:\.(sig|att|sbom))?$/;
const short = (d: string): string => d.slice(7, 19);

/** The subject a cosign or referrers fallback tag names (sha256-<hex>[.sig|.att|.sbom]). */
export function tagSubject(tag: string): string | undefined {
  const m = tag.match(FALLBACK_TAG);
  return m ? `sha256:${m[1]}` : undefined;
}

const facts = (m: ManifestState | undefined): ManifestFacts | undefined => (m && typeof m === 'object' ? m : undefined);

/** How a package's versions relate: platforms to their indexes, signatures and attestations to their subjects. */
export interface Graph {
  byDigest: Map<string, PackageVersion>;
  parents: Map<string, Set<string>>;
  subjectOf: Map<string, string>;
  artifactsOf: Map<string, Set<string>>;
  role: Map<string, Role>;
}

/** The package's graph, and each version's role in it (image, child, artifact, unknown). Pure. */
export function packageGraph(input: Pick<PlanInput, 'versions' | 'manifests'>): Graph {
  const byDigest = new Map(input.versions.map(v => [v.digest, v]));
  const parents = new Map<string, Set<string>>();
  const subjectOf = new Map<string, string>();
  const artifactsOf = new Map<string, Set<string>>();
  const add = <K, V>(m: Map<K, Set<V>>, k: K, v: V): void => {
    const s = m.get(k) ?? new Set<V>();
    s.add(v);
    m.set(k, s);
  };
  for (const v of input.versions) {
    const f = facts(input.manifests.get(v.digest));
    for (const c of f?.children ?? []) add(parents, c.digest, v.digest);
    const subject = f?.subject ?? v.subject ?? v.tags.map(tagSubject).find(Boolean);
    if (subject && subject !== v.digest) {
      subjectOf.set(v.digest, subject);
      add(artifactsOf, subject, v.digest);
    }
  }
  // Children of an artifact (bundles listed by a sha256-<hex> fallback index) are artifacts of its subject.
  for (const [artifact, subject] of [...subjectOf]) {
    for (const c of facts(input.manifests.get(artifact))?.children ?? []) {
      if (!subjectOf.has(c.digest)) {
        subjectOf.set(c.digest, subject);
        add(artifactsOf, subject, c.digest);
      }
    }
  }
  const role = new Map<string, Role>();
  for (const v of input.versions) {
    const state = input.manifests.get(v.digest);
    if (state === undefined || state === 'unreadable') role.set(v.digest, 'unknown');
    else if (subjectOf.has(v.digest)) role.set(v.digest, 'artifact');
    else if (v.tags.length === 0 && [...(parents.get(v.digest) ?? [])].some(p => byDigest.has(p)))
      role.set(v.digest, 'child');
    else role.set(v.digest, 'image');
  }
  return {byDigest, parents, subjectOf, artifactsOf, role};
}

interface Verdict {
  keep: string[];
  del: string[];
  untag: string[];
}

/** Which images the keep-semver rule protects: the N highest releases per major line (or overall). */
function semverProtected(images: PackageVersion[], count: number, perMajor: boolean): Set<string> {
  const releases: Array<{digest: string; v: semver.SemVer}> = [];
  for (const i of images) {
    for (const t of i.tags) {
      const v = semver.parse(t.replace(/^v/, ''));
      if (v && v.prerelease.length === 0) releases.push({digest: i.digest, v});
    }
  }
  const groups = new Map<string, Array<{digest: string; v: semver.SemVer}>>();
  for (const r of releases) {
    const k = perMajor ? String(r.v.major) : 'all';
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  const out = new Set<string>();
  for (const g of groups.values()) {
    const seen = new Set<string>();
    for (const r of g.sort((a, b) => semver.rcompare(a.v, b.v))) {
      if (seen.size >= count) break;
      seen.add(r.v.version);
      out.add(r.digest);
    }
  }
  return out;
}

/**
 * Why a tag belongs to a closed pull request or a deleted branch, or undefined when there is no
 * evidence that it does. A branch counts as deleted only when it is the head of a closed pull request
 * or its tag matches branch-tags, and no branch of that name exists now: a tag naming no current
 * branch (prod, staging, stable, 1.2) is not evidence by itself.
 */
function ephemeralEvidence(tag: string, input: PlanInput): string | undefined {
  const e = input.policy.ephemeral;
  const pr = tag.match(/^pr-(\d+)$/);
  if (pr) {
    const open = input.openPullRequests;
    return e.pullRequests && open && !open.has(Number(pr[1]))
      ? `${tag} (pull request #${pr[1]} is not open)`
      : undefined;
  }
  const branches = input.branches;
  if (!e.branches || !branches || tag === 'latest' || isImmutableTag(tag) || tagSubject(tag)) return undefined;
  const named = e.branchTags?.branchesOf(tag);
  const candidates = [tag, ...(named ?? [])];
  if (candidates.some(b => branches.has(b))) return undefined;
  for (const b of candidates) {
    const closed = input.closedBranches?.get(b);
    if (closed !== undefined) return `${tag} (branch ${b} of closed pull request #${closed} no longer exists)`;
  }
  if (named) return `${tag} (matches branch-tags; no branch ${named.at(-1)} exists)`;
  return undefined;
}

const newestFirst = (a: PackageVersion, b: PackageVersion): number =>
  Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id;

function judgeImages(input: PlanInput, g: Graph): Map<string, Verdict> {
  const p = input.policy;
  const images = input.versions.filter(v => g.role.get(v.digest) === 'image');
  const verdicts = new Map<string, Verdict>(images.map(i => [i.digest, {keep: [], del: [], untag: []}]));
  const v = (d: string): Verdict => verdicts.get(d) as Verdict;
  const age = (i: PackageVersion): number => input.now - Date.parse(i.createdAt);
  const semverKeep = p.keepSemver ? semverProtected(images, p.keepSemver.count, p.keepSemver.perMajor) : new Set();

  for (const i of images) {
    if (p.excludeTags && i.tags.some(p.excludeTags)) v(i.digest).keep.push('exclude-tags');
    if (semverKeep.has(i.digest)) v(i.digest).keep.push('keep-semver');
    if (p.olderThanMs !== undefined && age(i) < p.olderThanMs) v(i.digest).keep.push('newer than older-than');
  }
  // Targeted deletes (every tag matches delete-tags; a closed pull request's or deleted branch's image)
  // before the counts: such an image takes none of the N places keep-n-tagged keeps, so closed pull
  // requests never crowd releases out. The protections above still win over them.
  for (const i of images) {
    const verdict = v(i.digest);
    if (p.deleteTags) {
      const matching = i.tags.filter(t => p.deleteTags?.(t) && !p.excludeTags?.(t));
      if (matching.length && matching.length === i.tags.length)
        verdict.del.push(`every tag matches delete-tags (${matching.join(', ')})`);
      else if (matching.length) verdict.untag.push(...matching);
    }
    if ((p.ephemeral.pullRequests || p.ephemeral.branches) && i.tags.length) {
      const evidence = i.tags.map(t => ephemeralEvidence(t, input));
      if (evidence.every(Boolean)) verdict.del.push(`ephemeral: ${evidence.join('; ')}`);
    }
  }
  const candidates = (tagged: boolean): PackageVersion[] =>
    images
      .filter(i => i.tags.length > 0 === tagged && v(i.digest).keep.length === 0 && v(i.digest).del.length === 0)
      .sort(newestFirst);
  if (p.keepNTagged !== undefined) {
    candidates(true).forEach((i, n) => {
      if (n < (p.keepNTagged as number))
        v(i.digest).keep.push(`among the ${p.keepNTagged} newest tagged (keep-n-tagged)`);
      else v(i.digest).del.push(`older than the ${p.keepNTagged} newest tagged images (keep-n-tagged)`);
    });
  }
  if (p.keepNUntagged !== undefined) {
    candidates(false).forEach((i, n) => {
      if (n < (p.keepNUntagged as number))
        v(i.digest).keep.push(`among the ${p.keepNUntagged} newest untagged (keep-n-untagged)`);
      else v(i.digest).del.push(`older than the ${p.keepNUntagged} newest untagged images (keep-n-untagged)`);
    });
  } else if (p.deleteUntagged) {
    for (const i of candidates(false)) v(i.digest).del.push('untagged (delete-untagged)');
  }
  for (const i of images) {
    const verdict = v(i.digest);
    const f = facts(input.manifests.get(i.digest));
    const platforms = (f?.children ?? []).filter(c => !c.attestation);
    if (platforms.length && (p.deleteGhosts || p.deletePartial)) {
      const missing = platforms.filter(c => {
        const s = input.manifests.get(c.digest);
        return s === 'missing' || (s === undefined && !g.byDigest.has(c.digest));
      });
      if (missing.length === platforms.length && p.deleteGhosts)
        verdict.del.push('ghost: every platform manifest is missing (delete-ghosts)');
      else if (missing.length && p.deletePartial) {
        verdict.del.push(
          `partial: ${missing.map(c => c.platform ?? short(c.digest)).join(', ')} missing (delete-partial)`
        );
      }
    }
  }
  if (p.ecr) {
    const expired = evaluateEcrPolicy(
      p.ecr,
      images.map(i => ({key: i.digest, tags: i.tags, pushedAt: Date.parse(i.createdAt)})),
      input.now
    );
    for (const [d, rule] of expired) {
      v(d).del.push(`ECR rule ${rule.rulePriority}${rule.description ? ` (${rule.description})` : ''}`);
    }
  }
  return verdicts;
}

/**
 * Plans a cleanup. Pure: versions, manifests, policy and now in; a keep, delete or untag decision with
 * its reason for every version out, and a safe deletion order. Images are the unit; children and
 * signatures follow their image, and nothing reachable from a kept version is ever deleted.
 */
export function planCleanup(input: PlanInput): Plan {
  const g = packageGraph(input);
  const verdicts = judgeImages(input, g);
  const warnings: string[] = [];

  // Candidates: images judged for deletion, what they own (children, artifacts), and orphans.
  const roots = [...verdicts].filter(([, v]) => v.del.length && !v.keep.length).map(([d]) => d);
  const owner = new Map<string, string>();
  const candidates = new Set<string>();
  const own = (root: string): void => {
    const queue = [root];
    for (let qi = 0; qi < queue.length; qi++) {
      const d = queue[qi];
      if (candidates.has(d) || !g.byDigest.has(d)) continue;
      candidates.add(d);
      if (!owner.has(d)) owner.set(d, root);
      for (const c of facts(input.manifests.get(d))?.children ?? []) queue.push(c.digest);
      for (const a of g.artifactsOf.get(d) ?? []) queue.push(a);
    }
  };
  for (const r of roots) own(r);
  const orphanReason = new Map<string, string>();
  for (const [artifact, subject] of g.subjectOf) {
    if (!g.byDigest.has(artifact) || g.byDigest.has(subject) || candidates.has(artifact)) continue;
    if (facts(input.manifests.get(subject))) continue; // the subject exists, untagged and unlisted
    if (input.policy.deleteOrphans) {
      orphanReason.set(artifact, `orphan: its subject ${short(subject)} is gone (delete-orphans)`);
      own(artifact);
    }
  }

  // Everything reachable from what stays is kept: children, and the artifacts of kept subjects.
  const protectedSet = new Set<string>();
  const queue = input.versions.map(v => v.digest).filter(d => !candidates.has(d));
  for (let qi = 0; qi < queue.length; qi++) {
    const d = queue[qi];
    if (protectedSet.has(d)) continue;
    protectedSet.add(d);
    for (const c of facts(input.manifests.get(d))?.children ?? []) queue.push(c.digest);
    for (const a of g.artifactsOf.get(d) ?? []) queue.push(a);
  }
  const deleting = new Set([...candidates].filter(d => !protectedSet.has(d)));

  const imageOf = (d: string): string | undefined => {
    const seen = new Set<string>();
    let cur = d;
    while (!seen.has(cur)) {
      seen.add(cur);
      if (g.role.get(cur) === 'image') return cur;
      const up = g.subjectOf.get(cur) ?? [...(g.parents.get(cur) ?? [])].find(p => g.byDigest.has(p));
      if (!up) return undefined;
      cur = up;
    }
    return undefined;
  };

  const decisions: Decision[] = input.versions.map(v => {
    const role = g.role.get(v.digest) as Role;
    const base = {id: v.id, digest: v.digest, tags: v.tags, createdAt: v.createdAt, role, image: imageOf(v.digest)};
    if (role === 'unknown') {
      const state = input.manifests.get(v.digest);
      return {
        ...base,
        action: 'keep' as const,
        reason: `manifest ${state === undefined ? 'not read' : 'unreadable'}: kept, never guessed at`
      };
    }
    if (deleting.has(v.digest)) {
      const verdict = verdicts.get(v.digest);
      const ownerRoot = owner.get(v.digest) as string;
      const reason =
        orphanReason.get(v.digest) ??
        (verdict && ownerRoot === v.digest
          ? verdict.del.join('; ')
          : `${role === 'artifact' ? 'signature or attestation' : 'platform manifest'} of deleted ${short(ownerRoot)}`);
      return {...base, action: 'delete' as const, reason};
    }
    const verdict = verdicts.get(v.digest);
    if (verdict) {
      if (verdict.untag.length && !verdict.keep.includes('newer than older-than')) {
        return {
          ...base,
          action: 'untag' as const,
          untag: verdict.untag,
          reason: `tags ${verdict.untag.join(', ')} match delete-tags; the image keeps ${v.tags.filter(t => !verdict.untag.includes(t)).join(', ')}`
        };
      }
      const why = verdict.keep.length
        ? verdict.keep.join('; ')
        : candidates.has(v.digest)
          ? 'still referenced by a kept image'
          : 'no rule deletes it';
      const overruled = verdict.keep.length && verdict.del.length ? ` (over: ${verdict.del.join('; ')})` : '';
      return {...base, action: 'keep' as const, reason: `${why}${overruled}`};
    }
    if (candidates.has(v.digest)) {
      return {...base, action: 'keep' as const, reason: 'still referenced by a kept image'};
    }
    if (role === 'artifact' && !g.byDigest.has(g.subjectOf.get(v.digest) as string) && !input.policy.deleteOrphans) {
      return {...base, action: 'keep' as const, reason: 'orphan (its subject is gone); delete-orphans is off'};
    }
    return {
      ...base,
      action: 'keep' as const,
      reason: role === 'child' ? 'part of a kept image' : 'belongs to a kept image'
    };
  });

  for (const v of input.versions) {
    if (input.manifests.get(v.digest) === 'missing')
      warnings.push(`version ${v.id} (${v.digest}) has no manifest in the registry`);
  }
  const unreadable = [
    ...decisions.filter(d => d.role === 'unknown').map(d => String(d.id)),
    ...[...input.manifests].filter(([d, st]) => st === 'unreadable' && !g.byDigest.has(d)).map(([d]) => short(d))
  ];
  let blocked: string | undefined;
  if (!input.complete) blocked = 'the version list could not be read completely';
  else if (unreadable.length) {
    blocked = `${unreadable.length} manifest(s) could not be read (${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', …' : ''})`;
  }
  if (blocked) {
    for (const d of decisions) {
      if (d.action === 'keep') continue;
      d.reason = `would ${d.action} (${d.reason}), but ${blocked}: nothing is changed in this package`;
      d.action = 'keep';
      delete d.untag;
    }
  }

  // Order: an image before its children, a subject before its artifacts (Kahn over the deleted set).
  const order: number[] = [];
  const dependsOn: Record<number, number[]> = {};
  const idOf = (d: string): number => (g.byDigest.get(d) as PackageVersion).id;
  if (!blocked) {
    const pending = new Map<string, number>();
    const next = new Map<string, string[]>();
    for (const d of deleting) {
      const ups = [...(g.parents.get(d) ?? []), ...(g.subjectOf.has(d) ? [g.subjectOf.get(d) as string] : [])].filter(
        u => deleting.has(u)
      );
      pending.set(d, ups.length);
      if (ups.length) dependsOn[idOf(d)] = ups.map(idOf);
      for (const u of ups) {
        const list = next.get(u) ?? [];
        list.push(d);
        next.set(u, list);
      }
    }
    const byAge = (a: string, b: string): number =>
      newestFirst(g.byDigest.get(b) as PackageVersion, g.byDigest.get(a) as PackageVersion);
    // Oldest first among those ready; what becomes ready follows in discovery order (deterministic).
    const ready = [...pending]
      .filter(([, n]) => n === 0)
      .map(([d]) => d)
      .sort(byAge);
    for (let qi = 0; qi < ready.length; qi++) {
      const d = ready[qi];
      order.push(idOf(d));
      for (const c of next.get(d) ?? []) {
        const n = (pending.get(c) as number) - 1;
        pending.set(c, n);
        if (n === 0) ready.push(c);
      }
    }
  }

  const keptBlobs = new Set<string>();
  const deletedBlobs = new Map<string, number>();
  for (const d of decisions) {
    for (const b of facts(input.manifests.get(d.digest))?.blobs ?? []) {
      if (d.action === 'delete') deletedBlobs.set(b.digest, b.size);
      else keptBlobs.add(b.digest);
    }
  }
  const bytesReclaimed = [...deletedBlobs].filter(([d]) => !keptBlobs.has(d)).reduce((n, [, s]) => n + s, 0);
  return {decisions, deleteOrder: order, dependsOn, blocked, bytesReclaimed, warnings};
}
