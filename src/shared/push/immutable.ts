import {UserError} from '../errors.js';
import {TagMatcher, tagMatcher} from '../tag/matcher.js';

/**
 * Release tags never move: a tag classified immutable (by default the tag action's classes, a full
 * version, a commit or a date) that already names another image at a destination is not rewritten.
 */
export interface ImmutableTags {
  patterns: string[];
  matches: TagMatcher;
}

/** The immutable-tags input: globs, kind:immutable, kind:floating; `none` turns the guard off. */
export function readImmutableTags(values: string[], input = 'immutable-tags'): ImmutableTags | undefined {
  const patterns = values.length ? values : ['kind:immutable'];
  if (patterns.length === 1 && patterns[0] === 'none') return undefined;
  if (patterns.includes('none'))
    throw new UserError(`${input}: none turns the guard off and stands alone; give none, or the patterns to guard.`);
  return {patterns, matches: tagMatcher(input, patterns, false) as TagMatcher};
}

/** A tag a write would move: it names `current` at the destination, the write would make it `wanted`. */
export interface TagMove {
  destination: string;
  tag: string;
  current: string;
  wanted: string;
}

/**
 * The immutable tags each destination holds on another image than `wanted` (a tag that is absent, or
 * already on `wanted`, is no move). Pure.
 */
export function immutableMoves(
  wanted: string,
  destinations: Array<{destination: string; current: Map<string, string | undefined>}>,
  rule: ImmutableTags
): TagMove[] {
  const moves: TagMove[] = [];
  for (const d of destinations)
    for (const [tag, current] of d.current)
      if (current && current !== wanted && rule.matches(tag))
        moves.push({destination: d.destination, tag, current, wanted});
  return moves;
}

/** What a refused write says: every move, old and new digest, and the ways forward. */
export function refusalMessage(moves: TagMove[], what: string): string {
  const list = moves.map(m => `${m.destination}:${m.tag} is ${m.current}, the copy is ${m.wanted}`).join('; ');
  return `immutable-tags: ${list}. A release tag names one image forever, so ${what}. Publish a new version (or commit), or set move-immutable-tags: true to move it deliberately; immutable-tags chooses which tags are guarded (none: no guard).`;
}

/** The warning for a tag moved on purpose (move-immutable-tags). Pure. */
export const moveWarning = (m: TagMove): string =>
  `move-immutable-tags: moving ${m.destination}:${m.tag} from ${m.current} to ${m.wanted}.`;
