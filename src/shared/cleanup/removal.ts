import {PackageVersion} from './model.js';

/**
 * What one removal did. `kept`: the registry changed since planning (the version was tagged, or the
 * tags planned away moved to another image), so it was left alone; the reason says what changed.
 */
export type Removal = {outcome: 'deleted'} | {outcome: 'gone'} | {outcome: 'kept'; reason: string};

export const DELETED: Removal = {outcome: 'deleted'};
export const GONE: Removal = {outcome: 'gone'};
export const kept = (reason: string): Removal => ({outcome: 'kept', reason});

/** What an untag did: the tags removed, and those left alone because they no longer pointed at the image. */
export interface UntagResult {
  removed: string[];
  moved: string[];
}

/**
 * Whether a version read afresh right before its deletion may still go under the plan: `gone` when the
 * registry no longer has it, `kept` when it carries a tag the plan did not mean to remove, undefined
 * when it may be deleted. Pure.
 */
export function judgeFresh(now: PackageVersion | undefined, planned: readonly string[]): Removal | undefined {
  if (!now) return GONE;
  const added = now.tags.filter(t => !planned.includes(t));
  return added.length ? kept(`tagged ${added.join(', ')} since planning`) : undefined;
}

/**
 * The check before an unconditional delete: with `planned`, the version read afresh and judged
 * (undefined: it may go); without (recheck off), nothing is read.
 */
export async function recheck(
  planned: readonly string[] | undefined,
  read: () => Promise<PackageVersion | undefined>
): Promise<Removal | undefined> {
  return planned ? judgeFresh(await read(), planned) : undefined;
}

/** A registry DELETE's answer as a removal. */
export const removalOf = (res: 'deleted' | 'gone'): Removal => (res === 'gone' ? GONE : DELETED);

/** The reason a tag planned away is left alone: it points at another manifest now. */
export const movedReason = (tags: readonly string[]): string =>
  `${tags.join(', ')} moved to another image since planning`;
