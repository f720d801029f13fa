import {referrersTag} from './digest.js';
import {Descriptor, ImageIndex, ImageManifest, isIndex, platformString} from './media.js';
import {ImageSource, StoredManifest} from './store.js';

/** An image and everything that travels with it, read from the source. */
export interface ImageGraph {
  root: StoredManifest;
  /** Every manifest by digest: the image's and its referrers'. */
  manifests: Map<string, StoredManifest>;
  /** Config and layer blobs of each manifest. */
  blobsOf: Map<string, Descriptor[]>;
  /** Image manifests in push order: children before the index. */
  imageOrder: string[];
  /** Referrer manifests (signatures, attestations, SBOMs) in push order, after the image. */
  referrerOrder: string[];
  /** Fallback and cosign tags to write after everything else: tag -> digest. */
  referrerTags: Map<string, string>;
  platforms: string[];
}

const COSIGN_SUFFIXES = ['', '.sig', '.att', '.sbom'];

function parse(m: StoredManifest): ImageManifest & ImageIndex {
  return JSON.parse(m.body.toString('utf8')) as ImageManifest & ImageIndex;
}

/** Children of a manifest: platform manifests of an index; nothing for an image manifest. */
export function childDescriptors(m: StoredManifest): Descriptor[] {
  const body = parse(m);
  return isIndex(m.mediaType) || Array.isArray(body.manifests) ? (body.manifests ?? []) : [];
}

export function blobDescriptors(m: StoredManifest): Descriptor[] {
  const body = parse(m);
  if (Array.isArray(body.manifests)) return [];
  return [...(body.config ? [body.config] : []), ...(body.layers ?? [])];
}

/** Post-order: every manifest after the manifests it references. Pure. */
export function pushOrder(roots: string[], children: (digest: string) => string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (d: string): void => {
    if (seen.has(d)) return;
    seen.add(d);
    for (const c of children(d)) visit(c);
    out.push(d);
  };
  for (const r of roots) visit(r);
  return out;
}

export interface WalkOptions {
  copyReferrers: boolean;
  /** Called for a manifest that a listed descriptor names but the source does not have. */
  onMissing?: (digest: string, parent: string) => void;
}

/**
 * Reads the image graph from the source: the index, its platform manifests, their blobs, and when
 * asked the referrers of every one of them (referrers API where it exists, cosign tags and
 * sha256-<hex> fallback tags otherwise), recursively (a signature of an attestation travels too).
 */
export async function walkGraph(source: ImageSource, root: StoredManifest, opts: WalkOptions): Promise<ImageGraph> {
  const manifests = new Map<string, StoredManifest>([[root.digest, root]]);
  const blobsOf = new Map<string, Descriptor[]>();
  const childrenOf = new Map<string, string[]>();
  const platforms: string[] = [];

  const load = async (digest: string, parent: string): Promise<StoredManifest | undefined> => {
    const cached = manifests.get(digest);
    if (cached) return cached;
    const m = await source.getManifest(digest);
    if (!m) {
      opts.onMissing?.(digest, parent);
      return undefined;
    }
    manifests.set(digest, m);
    return m;
  };

  const expand = async (start: StoredManifest, collectPlatforms: boolean): Promise<void> => {
    const queue = [start];
    while (queue.length) {
      const m = queue.shift() as StoredManifest;
      if (childrenOf.has(m.digest)) continue;
      const kids = childDescriptors(m);
      childrenOf.set(
        m.digest,
        kids.map(k => k.digest)
      );
      blobsOf.set(m.digest, blobDescriptors(m));
      if (collectPlatforms && m.digest === start.digest && kids.length) {
        for (const k of kids) if (k.platform && k.platform.os !== 'unknown') platforms.push(platformString(k.platform));
      }
      const loaded = await Promise.all(kids.map(k => load(k.digest, m.digest)));
      for (const k of loaded) if (k) queue.push(k);
    }
  };

  await expand(root, true);
  const imageOrder = pushOrder([root.digest], d => childrenOf.get(d) ?? []);

  const referrerRoots: string[] = [];
  const referrerTags = new Map<string, string>();
  if (opts.copyReferrers) {
    const tags = new Set(await source.listTags());
    let frontier = [...imageOrder];
    const visited = new Set<string>();
    for (let depth = 0; depth < 4 && frontier.length; depth++) {
      const next: string[] = [];
      for (const subject of frontier) {
        if (visited.has(subject)) continue;
        visited.add(subject);
        const found: StoredManifest[] = [];
        for (const suffix of COSIGN_SUFFIXES) {
          const tag = `${referrersTag(subject)}${suffix}`;
          if (!tags.has(tag)) continue;
          const m = await source.resolve(tag);
          if (!manifests.has(m.digest)) manifests.set(m.digest, m);
          referrerTags.set(tag, m.digest);
          found.push(m);
        }
        for (const d of (await source.referrers(subject)) ?? []) {
          const m = await load(d.digest, subject);
          if (m) found.push(m);
        }
        for (const m of found) {
          await expand(m, false);
          referrerRoots.push(m.digest);
          for (const d of pushOrder([m.digest], x => childrenOf.get(x) ?? [])) next.push(d);
        }
      }
      frontier = next;
    }
  }
  const inImage = new Set(imageOrder);
  const referrerOrder = pushOrder(referrerRoots, d => childrenOf.get(d) ?? []).filter(d => !inImage.has(d));
  return {root, manifests, blobsOf, imageOrder, referrerOrder, referrerTags, platforms};
}
