import {UserError} from '../errors.js';
import {globToRegExp} from '../glob.js';
import {isImmutableTag} from '../tag/kind.js';
import {TagMatcher, compileRegex, tagMatcher} from '../tag/matcher.js';
import {EcrRule, parseEcrPolicy} from './ecr.js';

export {isImmutableTag, tagMatcher};
export type {TagMatcher};

/** Tags that name a branch (branch-tags): which tags, and the branch names each may stand for. */
export interface BranchTags {
  patterns: string[];
  /** The branch names a matching tag may stand for; undefined when the tag does not match. */
  branchesOf(tag: string): string[] | undefined;
}

export interface Policy {
  keepNTagged?: number;
  keepNUntagged?: number;
  keepSemver?: {count: number; perMajor: boolean};
  /** Only images older than this (milliseconds) may be deleted or untagged. */
  olderThanMs?: number;
  deleteTags?: TagMatcher;
  excludeTags?: TagMatcher;
  deleteUntagged: boolean;
  deleteOrphans: boolean;
  deleteGhosts: boolean;
  deletePartial: boolean;
  /**
   * Images whose only tags belong to closed pull requests (pr-N) and/or deleted branches. A tag is a
   * deleted branch's only with evidence: the head branch of a closed pull request that no longer
   * exists, or a tag matching branchTags whose branch no longer exists. Absence alone is no evidence.
   */
  ephemeral: {pullRequests: boolean; branches: boolean; branchTags?: BranchTags};
  ecr?: EcrRule[];
  /** The ECR lifecycle policy document as given (ECR's own preview evaluates it too). */
  ecrText?: string;
  /** Human description of each rule, for reports. */
  describe: string[];
}

const UNITS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000};

/** Parses a duration such as 30d, 12h, 1d12h, 2w. */
export function parseDuration(input: string, value: string): number {
  const v = value.trim();
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)];
  if (!v || parts.map(p => p[0]).join('') !== v) {
    throw new UserError(`${input}: "${value}" is not a duration. Write it like 30d, 12h, 1d12h or 2w (s, m, h, d, w).`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]], 0);
}

/**
 * branch-tags: a tag matching a glob stands for the branch of its own name or, with the glob's
 * literal prefix removed, the rest (branch-* on branch-feature-x: feature-x); a regex's first capture
 * group names the branch.
 */
export function branchTags(patterns: string[], useRegex: boolean): BranchTags | undefined {
  if (patterns.length === 0) return undefined;
  const tests = patterns.map(p => {
    if (useRegex) {
      const re = compileRegex('branch-tags', p);
      return (t: string): string[] | undefined => {
        const m = t.match(re);
        return m ? [t, ...(m[1] ? [m[1]] : [])] : undefined;
      };
    }
    const re = globToRegExp(p);
    const prefix = p.split(/[*?]/)[0];
    return (t: string): string[] | undefined =>
      re.test(t) ? [t, ...(prefix && t.length > prefix.length ? [t.slice(prefix.length)] : [])] : undefined;
  });
  return {
    patterns,
    branchesOf: tag => {
      for (const test of tests) {
        const b = test(tag);
        if (b) return b;
      }
      return undefined;
    }
  };
}

export interface PolicyInputs {
  keepNTagged?: number;
  keepNUntagged?: number;
  keepSemver?: string;
  olderThan?: string;
  deleteTags: string[];
  excludeTags: string[];
  useRegex: boolean;
  deleteUntagged: boolean;
  deleteOrphans: boolean;
  deleteGhosts: boolean;
  deletePartial: boolean;
  ephemeral: string[];
  /** Tag patterns that name branches (globs, or regexes with useRegex), for ephemeral branches. */
  branchTags?: string[];
  policy?: string;
}

/** Compiles the simple inputs (and an ECR lifecycle policy) into one policy; no rule at all is refused. */
/** The retention policy from the inputs; with `optional` (the audit), no rule at all is allowed: nothing is reclaimable. */
export function compilePolicy(i: PolicyInputs, optional = false): Policy {
  const describe: string[] = [];
  const p: Policy = {
    deleteUntagged: i.deleteUntagged,
    deleteOrphans: i.deleteOrphans,
    deleteGhosts: i.deleteGhosts,
    deletePartial: i.deletePartial,
    ephemeral: {pullRequests: false, branches: false},
    describe
  };
  if (i.keepNTagged !== undefined) {
    p.keepNTagged = i.keepNTagged;
    describe.push(`keep the ${i.keepNTagged} newest tagged images`);
  }
  if (i.keepNUntagged !== undefined) {
    p.keepNUntagged = i.keepNUntagged;
    describe.push(`keep the ${i.keepNUntagged} newest untagged images`);
  }
  if (i.keepSemver) {
    const m = i.keepSemver.trim().match(/^(\d+)(?:\s*,?\s*(?:per\s+)?(major|overall))?$/);
    if (!m) {
      throw new UserError(
        `keep-semver: "${i.keepSemver}" is not understood. Write N (the N highest releases per major line) or "N overall".`
      );
    }
    p.keepSemver = {count: Number(m[1]), perMajor: m[2] !== 'overall'};
    describe.push(`keep the ${m[1]} highest releases ${p.keepSemver.perMajor ? 'per major line' : 'overall'}`);
  }
  if (i.olderThan) {
    p.olderThanMs = parseDuration('older-than', i.olderThan);
    describe.push(`only images older than ${i.olderThan}`);
  }
  p.deleteTags = tagMatcher('delete-tags', i.deleteTags, i.useRegex);
  if (p.deleteTags) describe.push(`delete tags ${i.deleteTags.join(', ')}`);
  p.excludeTags = tagMatcher('exclude-tags', i.excludeTags, i.useRegex);
  if (p.excludeTags) describe.push(`never touch images tagged ${i.excludeTags.join(', ')}`);
  for (const e of i.ephemeral) {
    if (e === 'pull-requests' || e === 'pr') p.ephemeral.pullRequests = true;
    else if (e === 'branches') p.ephemeral.branches = true;
    else if (e === 'true') p.ephemeral = {pullRequests: true, branches: true};
    else if (e !== 'false') {
      throw new UserError(`ephemeral: "${e}" is not one of pull-requests, branches, true, false.`);
    }
  }
  if (i.branchTags?.length) {
    if (!p.ephemeral.branches) {
      throw new UserError(
        'branch-tags: names the tags of branches for ephemeral: branches; add branches to ephemeral.'
      );
    }
    p.ephemeral.branchTags = branchTags(i.branchTags, i.useRegex);
  }
  if (p.ephemeral.pullRequests) describe.push('delete images of closed pull requests');
  if (p.ephemeral.branches) {
    describe.push(
      `delete images of deleted branches (closed pull requests' branches${p.ephemeral.branchTags ? `, and tags matching ${i.branchTags?.join(', ')}` : ''})`
    );
  }
  if (i.deleteUntagged) describe.push('delete untagged images');
  if (i.deleteOrphans) describe.push('delete orphaned signatures and attestations');
  if (i.deleteGhosts) describe.push('delete indexes whose platforms are all missing');
  if (i.deletePartial) describe.push('delete indexes missing some platforms');
  if (i.policy?.trim()) {
    p.ecr = parseEcrPolicy(i.policy);
    p.ecrText = i.policy.trim();
    describe.push(`ECR lifecycle policy (${p.ecr.length} rule(s))`);
  }
  const deletes =
    p.keepNTagged !== undefined ||
    p.keepNUntagged !== undefined ||
    p.deleteTags ||
    p.deleteUntagged ||
    p.deleteOrphans ||
    p.deleteGhosts ||
    p.deletePartial ||
    p.ephemeral.pullRequests ||
    p.ephemeral.branches ||
    p.ecr;
  if (!deletes && !optional) {
    throw new UserError(
      'no cleanup rule given, so nothing would be deleted and the action refuses to guess. Set at least one of keep-n-tagged, keep-n-untagged, delete-tags, delete-untagged, delete-orphans, delete-ghosts, delete-partial, ephemeral or policy (keep-semver, exclude-tags and older-than only narrow the others).'
    );
  }
  return p;
}
