import semver from 'semver';
import {TagRules} from './config.js';

/** A tag read as a version, if it is one (a leading v allowed; 1.27 and 1 count as 1.27.0 and 1.0.0). */
export function tagVersion(tag: string): semver.SemVer | undefined {
  const clean = semver.valid(tag, {loose: true});
  if (clean) return new semver.SemVer(clean, {loose: true});
  const m = /^v?(\d+)(?:\.(\d+))?$/.exec(tag);
  if (!m) return undefined;
  return new semver.SemVer(`${m[1]}.${m[2] ?? 0}.0`);
}

/** Signature, attestation and referrers-fallback tags: they travel with the image they belong to. */
const REFERRER_TAG = /^sha256-[a-f0-9]{64}(\.(sig|att|sbom))?$/;

/**
 * The tags a rule set selects, before any newest-by-created cut: never a signature or referrers tag; allow (any pattern; none given: every
 * tag), minus deny, within the semver range, then the newest N by version when asked. Sorted newest
 * version first, then by name. Pure.
 */
export function selectTags(tags: string[], rules: TagRules): string[] {
  let out = tags.filter(
    t =>
      !REFERRER_TAG.test(t) &&
      (rules.allow.length === 0 || rules.allow.some(p => p.re.test(t))) &&
      !rules.deny.some(p => p.re.test(t))
  );
  if (rules.semver) {
    const range = rules.semver;
    out = out.filter(t => {
      const v = tagVersion(t);
      return v !== undefined && semver.satisfies(v, range, {includePrerelease: false});
    });
  }
  const ordered = [...out].sort((a, b) => {
    const va = tagVersion(a);
    const vb = tagVersion(b);
    if (va && vb) return semver.rcompare(va, vb) || a.localeCompare(b);
    if (va) return -1;
    if (vb) return 1;
    return a.localeCompare(b);
  });
  if (rules.newest && rules.newestBy === 'semver') return ordered.filter(t => tagVersion(t)).slice(0, rules.newest);
  return ordered;
}

/** The newest N tags by creation time (newest first; ties by name). Pure. */
export function newestByCreated(tags: string[], created: Map<string, number>, n: number): string[] {
  return [...tags]
    .filter(t => created.has(t))
    .sort((a, b) => (created.get(b) as number) - (created.get(a) as number) || a.localeCompare(b))
    .slice(0, n);
}

/** What one destination needs: the tags to copy, grouped by the source digest they point at. */
export interface DestinationNeeds {
  destination: string;
  /** Source digest → tags of this destination that must point at it and do not. */
  byDigest: Map<string, string[]>;
  unchanged: string[];
}

/**
 * Compares the source's tags with one destination's, digest for digest (both read by HEAD). A pinned
 * digest the destination lacks is needed with no tag. Pure.
 */
export function destinationNeeds(
  destination: string,
  source: Map<string, string>,
  target: Map<string, string | undefined>,
  pinned: Array<{digest: string; present: boolean}>
): DestinationNeeds {
  const byDigest = new Map<string, string[]>();
  const unchanged: string[] = [];
  for (const [tag, digest] of source) {
    if (target.get(tag) === digest) {
      unchanged.push(tag);
      continue;
    }
    byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag]);
  }
  for (const p of pinned) if (!p.present && !byDigest.has(p.digest)) byDigest.set(p.digest, []);
  return {destination, byDigest, unchanged};
}

/**
 * Parses Docker Hub's ratelimit-remaining ("76;w=21600") or a plain count; undefined when absent. Pure.
 */
export function remainingPulls(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const n = Number.parseInt(header.split(';')[0], 10);
  return Number.isFinite(n) ? n : undefined;
}
