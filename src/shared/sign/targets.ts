import {UserError, errorMessage} from '../errors.js';
import {Clients} from '../registry/clients.js';
import {childDescriptors} from '../registry/graph.js';
import {Descriptor, isIndex, platformString} from '../registry/media.js';
import {Reference, parseReference} from '../registry/reference.js';

/** One manifest to sign or verify: a repository and a digest, with the inputs that led to it. */
export interface Target {
  registry: string;
  repository: string;
  digest: string;
  mediaType: string;
  /** Tags of the inputs that resolved to this digest. */
  tags: string[];
  /** The image inputs that named it. */
  inputs: string[];
  /** For a platform manifest reached through an index: the index digest and the platform. */
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
  /** Platform manifests of an index (attestation manifests excluded). */
  children: Descriptor[];
}

/**
 * Whether a child of an index is a runnable platform image, not a buildx attestation manifest
 * (platform unknown/unknown, annotated vnd.docker.reference.type=attestation-manifest).
 */
export function isPlatformImage(d: Descriptor): boolean {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
  return !(d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown');
}

/**
 * The manifests to sign: each repo@digest once, whatever number of tags named it, in input order,
 * an index before its platform manifests (with recursive). Pure.
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
    for (const c of r.children.filter(isPlatformImage)) {
      add({
        ...base,
        digest: c.digest,
        mediaType: c.mediaType,
        tags: [],
        inputs: [r.input],
        parent: r.digest,
        platform: platformString(c.platform)
      });
    }
  }
  return [...out.values()];
}

/** Splits the images input: one reference per line or comma-separated; the push-multi refs output fits as is. */
export function parseImages(lines: string[]): string[] {
  return [
    ...new Set(
      lines
        .flatMap(l => l.split(','))
        .map(s => s.trim())
        .filter(Boolean)
    )
  ];
}

/**
 * Resolves every image to its digest through the registry (tags by HEAD; digests checked to exist)
 * and reads the platform list of indexes. Every problem is collected and reported together before
 * anything is signed.
 */
export async function resolveImages(images: string[], clients: Clients, input = 'images'): Promise<Resolved[]> {
  const problems: string[] = [];
  const refs: Array<{input: string; ref: Reference}> = [];
  for (const input of images) {
    try {
      refs.push({input, ref: parseReference(input, input)});
    } catch (err) {
      problems.push(errorMessage(err));
    }
  }
  if (problems.length) throw new UserError(`${input}: ${problems.join('; ')}`);
  const resolved = await Promise.all(
    refs.map(async ({input: image, ref}): Promise<Resolved | undefined> => {
      const client = clients.get(ref.registry);
      const at = ref.digest ?? ref.tag ?? 'latest';
      try {
        const m = await client.getManifest(ref.repository, at);
        if (!m) {
          problems.push(
            ref.digest
              ? `${image}: no manifest with this digest in ${ref.registry}/${ref.repository}; push it first (push-multi) or check the digest`
              : `${image}: the tag ${at} does not exist in ${ref.registry}/${ref.repository}; push it first or check the tag`
          );
          return undefined;
        }
        const children = isIndex(m.mediaType) ? childDescriptors(m) : [];
        return {input: image, ref, digest: m.digest, mediaType: m.mediaType, children};
      } catch (err) {
        problems.push(`${image}: ${errorMessage(err)}`);
        return undefined;
      }
    })
  );
  if (problems.length) {
    throw new UserError(
      `${input}: ${problems.length} image(s) could not be resolved, nothing was done: ${problems.join('; ')}`
    );
  }
  return resolved.filter((r): r is Resolved => r !== undefined);
}
