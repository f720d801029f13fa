import {UserError} from '../errors.js';
import {Clients} from './clients.js';
import {ImageNode, childDescriptors, imageTree, isPlatformImage} from './graph.js';
import {Descriptor, isIndex} from './media.js';
import {Reference, parseReference} from './reference.js';
import {StoredManifest} from './store.js';

export {isPlatformImage};

/** What a reference names in its registry: the manifest (by digest), and an index's children. */
export interface ResolvedReference {
  ref: Reference;
  manifest: StoredManifest;
  /** Every child of an index (attestation manifests included; filter with isPlatformImage). */
  children: Descriptor[];
  /** Every manifest below an index, nested indexes walked to their platform manifests (imageTree). */
  tree: ImageNode[];
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
  if (!isIndex(manifest.mediaType)) return {ref, manifest, children: [], tree: []};
  const client = clients.get(ref.registry);
  const tree = await imageTree(manifest, d => client.getManifest(ref.repository, d), {leaves: false});
  return {ref, manifest, children: childDescriptors(manifest), tree};
}
