/** What the planner knows: package versions (GHCR's view) and the manifests behind them (the registry's). */

/** One package version: in GHCR one manifest (index, platform image, attestation, signature…). */
export interface PackageVersion {
  id: number;
  /** The manifest digest (GHCR's version `name`). */
  digest: string;
  tags: string[];
  /** ISO 8601. */
  createdAt: string;
  /** The image the registry's own API names this version an accessory of (Harbor), when it does. */
  subject?: string;
}

export interface ChildRef {
  digest: string;
  /** os/arch[/variant], or unknown/unknown for attestation manifests. */
  platform?: string;
  /** A buildx attestation manifest rather than a runnable platform image. */
  attestation: boolean;
}

/** The facts of one manifest the planner needs, read from the registry. */
export interface ManifestFacts {
  digest: string;
  mediaType: string;
  /** Manifests an index lists. */
  children: ChildRef[];
  /** The image this manifest is about (OCI `subject`), when it has one. */
  subject?: string;
  artifactType?: string;
  /** Config and layers: for bytes reclaimed. */
  blobs: Array<{digest: string; size: number}>;
  /**
   * The in-toto predicate types a signature or attestation manifest holds: a Sigstore bundle's
   * `dev.sigstore.bundle.predicateType`, a legacy `.att` manifest's per-layer `predicateType`.
   */
  predicateTypes?: string[];
  /** org.opencontainers.image.created of the manifest itself, when it says. */
  created?: string;
}

/** A manifest lookup: its facts, 'missing' (the registry answered 404), or 'unreadable' (broken or not a manifest). */
export type ManifestState = ManifestFacts | 'missing' | 'unreadable';

export type Role = 'image' | 'child' | 'artifact' | 'unknown';

export interface Decision {
  id: number;
  digest: string;
  tags: string[];
  createdAt: string;
  role: Role;
  action: 'keep' | 'delete' | 'untag';
  /** For untag: the tags removed (the image and its other tags stay). */
  untag?: string[];
  /** The top-level image this version belongs to (itself for an image). */
  image?: string;
  reason: string;
}

export interface Plan {
  decisions: Decision[];
  /** Versions to delete, in a safe order: an image before its children, a subject before its signatures. */
  deleteOrder: number[];
  /** For each version to delete, the versions (its parents, its subject) that must go first. */
  dependsOn: Record<number, number[]>;
  /** Why nothing may be deleted in this package, when that is so (incomplete listing, unreadable manifest). */
  blocked?: string;
  /** Bytes of blobs referenced only by deleted manifests. */
  bytesReclaimed: number;
  warnings: string[];
}
