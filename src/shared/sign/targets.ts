import {parseItems} from '../inputs.js';
import {UserError, errorMessage} from '../errors.js';
import {Clients} from '../registry/clients.js';
import {Descriptor, platformString} from '../registry/media.js';
import {Reference} from '../registry/reference.js';
import {isPlatformImage, resolveReference} from '../registry/resolve.js';

export {isPlatformImage};

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
  return [...new Set(parseItems(lines.join('\n')))];
}

/**
 * Resolves every image to its digest through the registry (tags by HEAD; digests checked to exist)
 * and reads the platform list of indexes. Every problem is collected and reported together before
 * anything is signed.
 */
export async function resolveImages(images: string[], clients: Clients, input = 'images'): Promise<Resolved[]> {
  const problems: string[] = [];
  const resolved = await Promise.all(
    images.map(async (image): Promise<Resolved | undefined> => {
      try {
        const {ref, manifest: m, children} = await resolveReference(clients, image, image);
        return {input: image, ref, digest: m.digest, mediaType: m.mediaType, children};
      } catch (err) {
        problems.push(err instanceof UserError ? err.message : `${image}: ${errorMessage(err)}`);
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
