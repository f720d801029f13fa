import {mapLimit} from '../registry/limit.js';
import {PackageVersion} from './model.js';

/** Versions read on their own at once when a wave's pages missed them. */
const ALONE_AT_ONCE = 8;

/**
 * How a cleanup makes sure a version it deletes carries no tag outside the plan:
 * - `each`: the version read right before its delete (one API call per deletion);
 * - `wave`: a wave of up to WAVE_SIZE deletions read at once right before it (GHCR: the listing pages
 *   holding it, a few API calls; the OCI API: the tag list and each tag once); a tag added during the
 *   wave is the window;
 * - `off`: not checked.
 */
export type Recheck = 'each' | 'wave' | 'off';

/** The most deletions one fresh read covers (about 40 s at GitHub's pace of 150 a minute). */
export const WAVE_SIZE = 100;

/** A backend whose listing can be read one page at a time, in the order it lists (GHCR's Packages API). */
export interface PagedListing {
  readonly pageSize: number;
  /** Page `page` (1-based) of the listing as it is now. */
  listPage(page: number): Promise<PackageVersion[]>;
}

/**
 * The pages to read for versions at the given planning positions (0-based, in listing order), now that
 * `removedBefore(position)` versions listed before each have been deleted: each version's estimated
 * page, and the page after the last (versions pushed since planning move later ones down the listing).
 * Sorted and distinct. Pure.
 */
export function pagesToRead(
  positions: readonly number[],
  removedBefore: (position: number) => number,
  pageSize: number
): number[] {
  const pages = new Set<number>();
  for (const p of positions) {
    const page = Math.floor(Math.max(0, p - removedBefore(p)) / pageSize) + 1;
    pages.add(page);
    pages.add(page + 1);
  }
  return [...pages].sort((a, b) => a - b);
}

/**
 * Counts, for a planning position, how many versions listed before it are deleted: the deleted
 * versions' planning positions, kept sorted.
 */
export class RemovedPositions {
  private readonly sorted: number[] = [];

  add(position: number): void {
    this.sorted.splice(this.before(position), 0, position);
  }

  /** How many removed positions are below `position` (a binary search). */
  before(position: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The wave's versions as the listing shows them now: the pages where they are expected, read in
 * parallel. A version not on those pages (the listing shifted more than a page, or it is gone) is read
 * on its own with `readOne`, so a missing one is judged on a fresh read, never on absence. Returns each
 * id's version now (undefined: gone) and the number of API calls made.
 */
export async function readWave(
  listing: PagedListing,
  ids: readonly number[],
  positionOf: (id: number) => number,
  removed: RemovedPositions,
  readOne: (id: number) => Promise<PackageVersion | undefined>
): Promise<{now: Map<number, PackageVersion | undefined>; calls: number}> {
  const pages = pagesToRead(ids.map(positionOf), p => removed.before(p), listing.pageSize);
  const seen = new Map<number, PackageVersion>();
  for (const page of await Promise.all(pages.map(p => listing.listPage(p)))) for (const v of page) seen.set(v.id, v);
  const now = new Map<number, PackageVersion | undefined>();
  for (const id of ids) if (seen.has(id)) now.set(id, seen.get(id));
  const missing = ids.filter(id => !seen.has(id));
  await mapLimit(missing, ALONE_AT_ONCE, async id => void now.set(id, await readOne(id)));
  return {now, calls: pages.length + missing.length};
}

/**
 * Where the check before each delete reads every tag (the OCI API): what recheck true will cost
 * against recheck wave, said when wave would save most of it (at least ten times fewer requests and
 * 10,000 saved). `removes`: how many tags each deletion takes with it, in deletion order (the tags
 * left to read shrink as the run goes); `tags` in the repository.
 */
export function tagReadsHint(removes: readonly number[], tags: number): string | undefined {
  let left = tags;
  let each = 0;
  let wave = removes.length;
  removes.forEach((n, k) => {
    each += left + 2;
    if (k % WAVE_SIZE === 0) wave += left + 1;
    left = Math.max(0, left - n);
  });
  if (each < 10 * wave || each - wave < 10000) return undefined;
  return `recheck: true reads the tag list and every tag left (${tags} at first) before each of ${removes.length} deletions: about ${each} requests; recheck: wave reads them once per ${WAVE_SIZE} deletions (about ${wave}), leaving a tag moved onto a version while its wave runs to go with it.`;
}
