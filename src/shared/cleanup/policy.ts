import {UserError} from '../errors.js';
import {globToRegExp} from '../glob.js';
import {EcrRule, parseEcrPolicy} from './ecr.js';

/** A tag test: a glob (default) or a regular expression (use-regex), or a tag kind. */
export type TagMatcher = (tag: string) => boolean;

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
  /** Images whose only tags belong to closed pull requests (pr-N) and/or deleted branches. */
  ephemeral: {pullRequests: boolean; branches: boolean};
  ecr?: EcrRule[];
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

/** Tags that name one build forever (a full version, a commit); the rest (latest, branches, 1.2) move. */
export function isImmutableTag(tag: string): boolean {
  return (
    /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/.test(tag) ||
    /^(?:sha-)?[0-9a-f]{7,40}$/.test(tag) ||
    /^\d{8}(?:[-.T]?\d{4,6})?$/.test(tag)
  );
}

/**
 * A matcher for a list of patterns: globs (`*`, `?`), or regular expressions with useRegex (anchored),
 * plus `kind:immutable` and `kind:floating`, which use the same classification as the tag action.
 */
export function tagMatcher(input: string, patterns: string[], useRegex: boolean): TagMatcher | undefined {
  if (patterns.length === 0) return undefined;
  const tests = patterns.map((p): TagMatcher => {
    if (p === 'kind:immutable') return isImmutableTag;
    if (p === 'kind:floating') return t => !isImmutableTag(t);
    if (!useRegex) {
      const re = globToRegExp(p);
      return t => re.test(t);
    }
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${p})$`);
    } catch (err) {
      throw new UserError(`${input}: "${p}" is not a valid regular expression (${(err as Error).message}).`);
    }
    return t => re.test(t);
  });
  return tag => tests.some(t => t(tag));
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
  policy?: string;
}

/** Compiles the simple inputs (and an ECR lifecycle policy) into one policy; no rule at all is refused. */
export function compilePolicy(i: PolicyInputs): Policy {
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
  if (p.ephemeral.pullRequests) describe.push('delete images of closed pull requests');
  if (p.ephemeral.branches) describe.push('delete images of deleted branches');
  if (i.deleteUntagged) describe.push('delete untagged images');
  if (i.deleteOrphans) describe.push('delete orphaned signatures and attestations');
  if (i.deleteGhosts) describe.push('delete indexes whose platforms are all missing');
  if (i.deletePartial) describe.push('delete indexes missing some platforms');
  if (i.policy?.trim()) {
    p.ecr = parseEcrPolicy(i.policy);
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
  if (!deletes) {
    throw new UserError(
      'no cleanup rule given, so nothing would be deleted and the action refuses to guess. Set at least one of keep-n-tagged, keep-n-untagged, delete-tags, delete-untagged, delete-orphans, delete-ghosts, delete-partial, ephemeral or policy (keep-semver, exclude-tags and older-than only narrow the others).'
    );
  }
  return p;
}
