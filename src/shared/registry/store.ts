import {Readable} from 'node:stream';
import {Descriptor} from './media.js';

/** A manifest as stored: exact bytes, digest and media type. */
export interface StoredManifest {
  body: Buffer;
  digest: string;
  mediaType: string;
}

/** Where images are read from: a registry repository or an OCI layout (directory or tarball). */
export interface ImageSource {
  readonly name: string;
  /** The manifest a reference names (tag or digest; undefined: the layout's only image). */
  resolve(ref?: string): Promise<StoredManifest>;
  getManifest(digest: string): Promise<StoredManifest | undefined>;
  /** Streams a blob; the copier verifies its digest. */
  openBlob(digest: string, size: number): Promise<Readable>;
  /** Tags, to find cosign and referrer fallback tags; empty when the source has none. */
  listTags(): Promise<string[]>;
  /** Referrers of a digest when the source supports the referrers API. */
  referrers(digest: string): Promise<Descriptor[] | undefined>;
  /** A blob planned to be read will not be (mounted instead): a shared download need not wait for it. */
  notNeeded?(digest: string): void;
  /** For a registry source: where blobs can be mounted from within the same registry. */
  readonly mountFrom?: {registry: string; repository: string};
}

export type BlobState = 'present' | 'mounted' | 'absent';

/** Where images are written. Every write is idempotent; existence checks come first. */
export interface ImageTarget {
  readonly name: string;
  readonly registry?: string;
  readonly repository?: string;
  hasBlob(digest: string): Promise<boolean>;
  /** Tries a cross-repository mount; 'mounted' or 'absent' (then upload). */
  mountBlob(digest: string, from: {registry: string; repository: string}): Promise<BlobState>;
  putBlob(digest: string, size: number, open: () => Promise<Readable>): Promise<void>;
  hasManifest(digest: string): Promise<boolean>;
  /** The digest a tag points at, or undefined. */
  tagDigest(tag: string): Promise<string | undefined>;
  /** Writes a manifest (by digest or tag); false when there was nothing to write (a fallback index already complete). */
  putManifest(ref: string, manifest: StoredManifest): Promise<boolean>;
  /**
   * For a manifest with a subject that the target already holds: makes sure something at the target
   * finds it (its fallback index, where there is no referrers API). True when it wrote anything.
   */
  linkReferrer?(manifest: StoredManifest): Promise<boolean>;
}
