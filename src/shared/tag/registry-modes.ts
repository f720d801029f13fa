import semver from 'semver';
import {UserError, errorMessage} from '../errors.js';
import {globToRegExp} from '../glob.js';
import {Logger} from '../log.js';
import {RegistryClient} from '../registry/client.js';
import {parseReference} from '../registry/reference.js';
import {ClassifiedTag, Metadata} from './meta.js';
import {AliasLine} from './version.js';

/** Released versions among a repository's tags ("1.2.3" or "v1.2.3"; pre-releases never count). */
export function releasedVersions(tags: string[]): semver.SemVer[] {
  return tags
    .map(t => semver.parse(t.replace(/^v/, '')))
    .filter((v): v is semver.SemVer => v !== null && v.prerelease.length === 0);
}

function inLine(v: semver.SemVer, line: AliasLine): boolean {
  if (line.scope === 'all') return true;
  if (line.scope === 'major') return v.major === line.major;
  return v.major === line.major && v.minor === line.minor;
}

/**
 * Whether a moving alias may move to `version`: only when no released version of its line already in
 * the registry is higher, so a patch to an old release never steals `latest` or `1`. Pure.
 */
export function aliasMayMove(version: string, line: AliasLine, existing: semver.SemVer[]): boolean {
  return !existing.some(v => inLine(v, line) && semver.gt(v, version));
}

export interface RegistryModes {
  /** Globs of tags that must never move. */
  immutable: string[];
  /** The digest about to be pushed, when known: an immutable tag already on it is fine. */
  digest?: string;
  client: (registry: string) => RegistryClient;
  log: Logger;
}

/**
 * Applies the modes that read the registry: `highest` aliases that would move backwards are dropped
 * (per image), and an `immutable` tag that already exists elsewhere fails the step before anything
 * is pushed.
 */
export async function applyRegistryModes(meta: Metadata, modes: RegistryModes): Promise<Metadata> {
  const immutable = modes.immutable.map(globToRegExp);
  const needsTags = meta.classified.some(t => t.highest);
  const byImage = new Map<string, ClassifiedTag[]>();
  for (const t of meta.classified) byImage.set(t.image, [...(byImage.get(t.image) ?? []), t]);
  const dropped = new Set<ClassifiedTag>();
  const conflicts: string[] = [];
  for (const [image, tags] of byImage) {
    if (!image) throw new UserError('latest=highest and immutable need images: give the images input.');
    const ref = parseReference(image, 'images');
    const client = modes.client(ref.registry);
    let existing: string[] = [];
    if (needsTags) {
      try {
        existing = await client.listTags(ref.repository);
      } catch (err) {
        throw new UserError(
          `${image}: cannot list its tags for latest=highest (${errorMessage(err)}). Give registry credentials (docker login, or GITHUB_TOKEN for GHCR).`
        );
      }
    }
    const released = releasedVersions(existing);
    for (const t of tags) {
      if (t.highest && t.alias && t.version && !aliasMayMove(t.version, t.alias, released)) {
        dropped.add(t);
        modes.log.info(
          `${t.ref}: not moved, ${image} already has a higher ${t.alias.scope === 'all' ? 'release' : `release of line ${t.tag}`}`
        );
      }
      if (immutable.some(p => p.test(t.tag))) {
        const current = await client.headManifest(ref.repository, t.tag);
        if (current && current.digest !== modes.digest) conflicts.push(`${t.ref} (now ${current.digest})`);
      }
    }
  }
  if (conflicts.length) {
    throw new UserError(
      `immutable: these tags already exist on another digest and must not move: ${conflicts.join(', ')}. Release under a new version.`
    );
  }
  if (dropped.size === 0) return meta;
  const classified = meta.classified.filter(t => !dropped.has(t));
  const tags = classified.map(t => t.ref);
  const tagNames = meta.tagNames.filter(n => classified.some(t => t.tag === n));
  return {...meta, classified, tags, tagNames, json: {...meta.json, tags, 'tag-names': tagNames}};
}
