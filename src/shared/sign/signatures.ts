import {RegistryClient} from '../registry/client.js';
import {referrersTag} from '../registry/digest.js';
import {Descriptor, ImageIndex, ImageManifest, MEDIA} from '../registry/media.js';

/** The cosign signatures a digest carries in one repository, in either format. */
export interface Signatures {
  /** Legacy format: the `sha256-<hex>.sig` tag, its manifest digest and how many signatures it holds. */
  legacy?: {tag: string; digest: string; count: number};
  /** Sigstore bundles (new format) whose predicate is a signature: manifest digests. */
  bundles: string[];
  /** Bundles holding attestations (other predicate types): manifest digests. */
  attestations: string[];
}

export const signatureCount = (s: Signatures): number => (s.legacy?.count ?? 0) + s.bundles.length;

const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** Referrers of a digest: the referrers API, or the `sha256-<hex>` fallback index where there is none. */
export async function listReferrers(client: RegistryClient, repository: string, digest: string): Promise<Descriptor[]> {
  const viaApi = await client.referrers(repository, digest);
  if (viaApi) return viaApi;
  const fallback = await client.getManifest(repository, referrersTag(digest));
  if (!fallback) return [];
  return (JSON.parse(fallback.body.toString('utf8')) as ImageIndex).manifests ?? [];
}

/** Reads both signature formats for one digest. */
export async function readSignatures(client: RegistryClient, repository: string, digest: string): Promise<Signatures> {
  const out: Signatures = {bundles: [], attestations: []};
  const tag = `${referrersTag(digest)}.sig`;
  const legacy = await client.getManifest(repository, tag);
  if (legacy) {
    const m = JSON.parse(legacy.body.toString('utf8')) as ImageManifest;
    out.legacy = {
      tag,
      digest: legacy.digest,
      count: (m.layers ?? []).filter(l => l.mediaType === MEDIA.cosignSimpleSigning).length
    };
  }
  const bundles = (await listReferrers(client, repository, digest)).filter(
    d => d.artifactType === MEDIA.sigstoreBundle
  );
  await Promise.all(
    bundles.map(async d => {
      // The descriptor may lack annotations (fallback index): the manifest says what the bundle holds.
      let predicate = d.annotations?.['dev.sigstore.bundle.predicateType'];
      if (!predicate) {
        const m = await client.getManifest(repository, d.digest);
        predicate = m
          ? (JSON.parse(m.body.toString('utf8')) as ImageManifest).annotations?.['dev.sigstore.bundle.predicateType']
          : undefined;
      }
      (predicate === SIGN_PREDICATE ? out.bundles : out.attestations).push(d.digest);
    })
  );
  out.bundles.sort();
  out.attestations.sort();
  return out;
}

/** Signature references written since `before`: the legacy tag at its new digest, or new bundles. */
export function newSignatureRefs(name: string, before: Signatures, after: Signatures): string[] {
  const refs: string[] = [];
  if (after.legacy && after.legacy.count > (before.legacy?.count ?? 0)) {
    refs.push(`${name}:${after.legacy.tag}@${after.legacy.digest}`);
  }
  const old = new Set(before.bundles);
  for (const b of after.bundles) if (!old.has(b)) refs.push(`${name}@${b}`);
  return refs;
}
