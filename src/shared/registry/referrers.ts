import {Descriptor, ImageIndex, MEDIA, Manifest} from './media.js';
import {StoredManifest} from './store.js';

/** The referrers fallback tag of a subject, `sha256-<hex>` (no cosign suffix). */
export const REFERRERS_TAG = /^sha256-[a-f0-9]{64}$/;

/** The subject a manifest refers to, or undefined. */
export function subjectOf(m: StoredManifest): string | undefined {
  try {
    return (JSON.parse(m.body.toString('utf8')) as Manifest).subject?.digest;
  } catch {
    return undefined;
  }
}

/**
 * The descriptor that stands for a referrer in a referrers index (distribution spec 1.1): its media
 * type, digest and size, its artifactType (or its config's media type when it declares none) and its
 * annotations.
 */
export function referrerDescriptor(m: StoredManifest): Descriptor {
  const parsed = JSON.parse(m.body.toString('utf8')) as Manifest & {config?: Descriptor};
  const artifactType = parsed.artifactType ?? ('config' in parsed ? parsed.config?.mediaType : undefined);
  return {
    mediaType: m.mediaType,
    digest: m.digest,
    size: m.body.length,
    ...(artifactType ? {artifactType} : {}),
    ...(parsed.annotations ? {annotations: parsed.annotations} : {})
  };
}

/**
 * A referrers index holding every entry of `current` and of `adding`, each digest once, the existing
 * entries first and in their order; undefined when `current` already holds them all (nothing to write).
 * Pure: entries already there are never dropped.
 */
export function mergeReferrersIndex(current: Buffer | undefined, adding: Descriptor[]): Buffer | undefined {
  let index: ImageIndex = {schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: []};
  if (current) {
    try {
      const parsed = JSON.parse(current.toString('utf8')) as ImageIndex;
      if (Array.isArray(parsed.manifests)) index = parsed;
    } catch {
      // Not an index: replaced by one that holds the new entries.
    }
  }
  const have = new Set(index.manifests.map(d => d.digest));
  const added = adding.filter(d => !have.has(d.digest) && have.add(d.digest));
  if (current && added.length === 0) return undefined;
  return Buffer.from(JSON.stringify({...index, manifests: [...index.manifests, ...added]}));
}
