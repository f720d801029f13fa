import {ImageNode} from './graph.js';
import {Reference} from './reference.js';

/** One manifest to sign, attest or verify: a repository and a digest, with the inputs that led to it. */
export interface Target {
  registry: string;
  repository: string;
  digest: string;
  mediaType: string;
  /** Tags of the inputs that resolved to this digest. */
  tags: string[];
  /** The image inputs that named it. */
  inputs: string[];
  /** For a manifest reached through an index: the index that lists it, and the platform. */
  parent?: string;
  platform?: string;
}

export const targetRef = (t: Pick<Target, 'registry' | 'repository' | 'digest'>): string =>
  `${t.registry}/${t.repository}@${t.digest}`;

/** A resolved input before de-duplication. */
export interface Resolved {
  input: string;
  ref: Reference;
  digest: string;
  mediaType: string;
  /** Every manifest below an index, at any depth (imageTree); empty for an image manifest. */
  tree: ImageNode[];
}

/**
 * The manifests to sign or check: each repo@digest once, whatever number of tags named it, in input
 * order, an index before what it lists. With recursive, every manifest below an index at any depth
 * (nested indexes and their platform manifests; buildx attestation manifests left out): the same walk
 * the copy makes, so what is signed and gated is what is copied. Pure.
 */
export function planTargets(resolved: Resolved[], recursive: boolean): Target[] {
  const out = new Map<string, Target>();
  const add = (t: Target): void => {
    const key = targetRef(t);
    const prev = out.get(key);
    if (!prev) {
      out.set(key, t);
      return;
    }
    prev.tags = [...new Set([...prev.tags, ...t.tags])];
    prev.inputs = [...new Set([...prev.inputs, ...t.inputs])];
    // Named directly as well as through an index: it stays a top-level target.
    if (!t.parent) {
      delete prev.parent;
      delete prev.platform;
    }
  };
  for (const r of resolved) {
    const base = {registry: r.ref.registry, repository: r.ref.repository};
    add({...base, digest: r.digest, mediaType: r.mediaType, tags: r.ref.tag ? [r.ref.tag] : [], inputs: [r.input]});
    if (!recursive) continue;
    for (const n of r.tree.filter(x => !x.attestation)) {
      add({
        ...base,
        digest: n.descriptor.digest,
        mediaType: n.descriptor.mediaType,
        tags: [],
        inputs: [r.input],
        parent: n.parent,
        ...(n.platform ? {platform: n.platform} : {})
      });
    }
  }
  return [...out.values()];
}
