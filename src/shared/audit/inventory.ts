import {Graph} from '../cleanup/plan.js';
import {ManifestFacts, ManifestState, PackageVersion, Plan} from '../cleanup/model.js';

/** What one repository holds, and what a cleanup under the given retention policy would reclaim. */
export interface RepositoryInventory {
  repository: string;
  images: {tagged: number; untagged: number};
  /** Tags on images (signature, attestation and referrers fallback tags are not counted). */
  tags: number;
  /** Every manifest listed: images, platform manifests, signatures, attestations. */
  manifests: number;
  /** Signature and attestation manifests among them. */
  accessories: number;
  /** os/arch[/variant] of the platform manifests, sorted. */
  platforms: string[];
  /** Bytes of the distinct blobs (configs, layers) the manifests reference, each counted once. */
  storedBytes: number;
  /** Bytes of blobs that only manifests a cleanup would delete reference (0 when the plan is blocked). */
  reclaimableBytes: number;
  /** Manifests a cleanup would delete. */
  reclaimableManifests: number;
  /** Why nothing would be reclaimed (an incomplete listing, an unreadable manifest), when so. */
  blocked?: string;
  /** ISO 8601: the oldest and newest image pushed (by creation time; undated images are not counted). */
  oldestPush?: string;
  newestPush?: string;
}

const facts = (m: ManifestState | undefined): ManifestFacts | undefined => (m && typeof m === 'object' ? m : undefined);

/** Undated images carry the epoch (or nothing) as their creation time. */
export const dated = (createdAt: string): boolean => Date.parse(createdAt) > 0;

/**
 * A repository's inventory from the listing, the manifests' facts, their graph and a cleanup plan
 * over them. Blobs are counted once per repository however many manifests share them. Pure.
 */
export function inventory(
  repository: string,
  versions: PackageVersion[],
  manifests: Map<string, ManifestState>,
  graph: Graph,
  plan: Plan
): RepositoryInventory {
  const images = versions.filter(v => graph.role.get(v.digest) === 'image');
  const tagged = images.filter(v => v.tags.length > 0);
  const blobs = new Map<string, number>();
  const platforms = new Set<string>();
  // Every manifest read: the versions, and what they list that is not a version of its own.
  for (const state of manifests.values()) {
    const f = facts(state);
    if (!f) continue;
    for (const b of f.blobs) blobs.set(b.digest, b.size);
    for (const c of f.children) if (c.platform && !c.attestation) platforms.add(c.platform);
  }
  const times = images
    .map(v => v.createdAt)
    .filter(dated)
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  return {
    repository,
    images: {tagged: tagged.length, untagged: images.length - tagged.length},
    tags: tagged.reduce((n, v) => n + v.tags.length, 0),
    manifests: versions.length,
    accessories: versions.filter(v => graph.role.get(v.digest) === 'artifact').length,
    platforms: [...platforms].sort(),
    storedBytes: [...blobs.values()].reduce((n, s) => n + (Number.isFinite(s) ? s : 0), 0),
    reclaimableBytes: plan.blocked ? 0 : plan.bytesReclaimed,
    reclaimableManifests: plan.blocked ? 0 : plan.deleteOrder.length,
    ...(plan.blocked ? {blocked: plan.blocked} : {}),
    ...(times.length ? {oldestPush: times[0], newestPush: times[times.length - 1]} : {})
  };
}

/** The inventory of a repository that could not be read. */
export const emptyInventory = (repository: string): RepositoryInventory => ({
  repository,
  images: {tagged: 0, untagged: 0},
  tags: 0,
  manifests: 0,
  accessories: 0,
  platforms: [],
  storedBytes: 0,
  reclaimableBytes: 0,
  reclaimableManifests: 0
});
