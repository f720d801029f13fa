import {UserError} from '../errors.js';
import {Clients} from './clients.js';
import {childDescriptors} from './graph.js';
import {Descriptor, isIndex} from './media.js';
import {Reference, parseReference} from './reference.js';
import {StoredManifest} from './store.js';

/**
 * Whether a child of an index is a runnable platform image, not a buildx attestation manifest
 * (platform unknown/unknown, annotated vnd.docker.reference.type=attestation-manifest).
 */
export function isPlatformImage(d: Descriptor): boolean {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
  return !(d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown');
}

/** What a reference names in its registry: the manifest (by digest), and an index's children. */
export interface ResolvedReference {
  ref: Reference;
  manifest: StoredManifest;
  /** Every child of an index (attestation manifests included; filter with isPlatformImage). */
  children: Descriptor[];
}

/**
 * Reads the manifest a reference (tag, digest, or neither: latest) names, the one way every action
 * resolves images: a missing tag or digest is a user error saying which and what to do.
 */
export async function resolveReference(clients: Clients, input: string, inputName: string): Promise<ResolvedReference> {
  const ref = parseReference(input, inputName);
  const at = ref.digest ?? ref.tag ?? 'latest';
  const manifest = await clients.get(ref.registry).getManifest(ref.repository, at);
  if (!manifest) {
    throw new UserError(
      ref.digest
        ? `${input}: no manifest with this digest in ${ref.registry}/${ref.repository}; push it first (push-multi) or check the digest`
        : `${input}: the tag ${at} does not exist in ${ref.registry}/${ref.repository}; push it first or check the tag`
    );
  }
  return {ref, manifest, children: isIndex(manifest.mediaType) ? childDescriptors(manifest) : []};
}
