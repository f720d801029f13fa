import {mapLimit} from '../src/shared/registry/limit.js';
import {GhcrImages} from '../test/helpers/ghcr-images.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * Seeds a repository of about `target` manifests for the cleanup benchmarks: 20% of the images
 * multi-arch (an index with 2 platforms and 2 buildx attestation manifests), the rest single manifests;
 * `tagged(i)` says which images get a tag (build-<i>). Blobs are shared and every manifest distinct (an
 * annotation), so the registry's work is the manifests. Returns the number of images.
 */
export async function seedImages(p: GhcrImages, target: number, tagged: (i: number) => boolean): Promise<number> {
  const base = await p.platform('base', 'linux/amd64', 256);
  const raw = JSON.parse(base.body.toString()) as Record<string, unknown>;
  const manifest = (n: string): Promise<{digest: string; body: Buffer}> =>
    p.manifest({...raw, annotations: {n}}, OCI_MANIFEST);
  const jobs: Array<() => Promise<void>> = [];
  let versions = 1;
  let image = 0;
  while (versions < target) {
    const i = image++;
    const multi = i % 5 === 0;
    const tag = tagged(i) ? `build-${i}` : undefined;
    versions += multi ? 5 : 1;
    jobs.push(async () => {
      if (!multi) {
        const m = await manifest(`single-${i}`);
        if (tag) await p.client.putManifest(p.repo, tag, m.body, OCI_MANIFEST);
        return;
      }
      const kids = await Promise.all([0, 1, 2, 3].map(k => manifest(`multi-${i}-${k}`)));
      const index = {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: kids.map((k, j) => ({
          mediaType: OCI_MANIFEST,
          digest: k.digest,
          size: k.body.length,
          platform:
            j < 2 ? {os: 'linux', architecture: j ? 'arm64' : 'amd64'} : {os: 'unknown', architecture: 'unknown'},
          ...(j >= 2
            ? {
                annotations: {
                  'vnd.docker.reference.type': 'attestation-manifest',
                  'vnd.docker.reference.digest': kids[j - 2].digest
                }
              }
            : {})
        }))
      };
      await p.manifest(index, OCI_INDEX, tag);
    });
  }
  await mapLimit(jobs, 16, j => j());
  return image;
}
