import {parseItems} from '../inputs.js';
import {UserError, errorMessage} from '../errors.js';
import {Clients} from '../registry/clients.js';
import {isPlatformImage, resolveReference} from '../registry/resolve.js';
import {Resolved} from '../registry/targets.js';

export {isPlatformImage};
export {planTargets, targetRef} from '../registry/targets.js';
export type {Resolved, Target} from '../registry/targets.js';

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
        const {ref, manifest: m, tree} = await resolveReference(clients, image, image);
        return {input: image, ref, digest: m.digest, mediaType: m.mediaType, tree};
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
