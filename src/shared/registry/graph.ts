import {referrersTag} from './digest.js';
import {Descriptor, ImageIndex, ImageManifest, isIndex, platformString} from './media.js';
import {ImageSource, StoredManifest} from './store.js';

/**
 * Whether a child of an index is a runnable platform image, not a buildx attestation manifest
 * (platform unknown/unknown, annotated vnd.docker.reference.type=attestation-manifest).
 */
export function isPlatformImage(d: Descriptor): boolean {
  if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
  return !(d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown');
}

/** One manifest below an image's root, as the index above it lists it. */
export interface ImageNode {
  descriptor: Descriptor;
  /** The index that lists it (the first one, when several do). */
  parent: string;
  /** The platform it is, or leads to: its own descriptor's, else the one of the index above it. */
  platform?: string;
  /** A buildx attestation manifest, or anything below one: not a platform image. */
  attestation: boolean;
  /** An index (nested in the image): its children are nodes too. */
  index: boolean;
  /** The manifest, where it was read: every index, and the others with `leaves`. */
  manifest?: StoredManifest;
}

/**
 * Every manifest of an image below its root, at any depth (OCI lets an index list indexes): the one walk
 * that copying, signing, evidence and the promotion gate share, so what the gate checks is what is
 * copied. Indexes are always read (to find what they list); other manifests only with `leaves`. Each
 * digest once, in breadth-first order; a manifest `load` cannot find stays a node without `manifest`.
 */
export async function imageTree(
  root: StoredManifest,
  load: (digest: string, parent: string) => Promise<StoredManifest | undefined>,
  opts: {leaves: boolean}
): Promise<ImageNode[]> {
  const nodes: ImageNode[] = [];
  const seen = new Set([root.digest]);
  const queue: Array<{m: StoredManifest; platform?: string; attestation: boolean}> = [{m: root, attestation: false}];
  while (queue.length) {
    const at = queue.shift() as (typeof queue)[number];
    const kids = childDescriptors(at.m).filter(k => !seen.has(k.digest));
    for (const k of kids) seen.add(k.digest);
    const loaded = await Promise.all(
      kids.map(k => (isIndex(k.mediaType) || opts.leaves ? load(k.digest, at.m.digest) : undefined))
    );
    kids.forEach((k, i) => {
      const m = loaded[i];
      const node: ImageNode = {
        descriptor: k,
        parent: at.m.digest,
        platform: k.platform && k.platform.os !== 'unknown' ? platformString(k.platform) : at.platform,
        attestation: at.attestation || !isPlatformImage(k),
        index: isIndex(k.mediaType) || (m !== undefined && childDescriptors(m).length > 0),
        ...(m ? {manifest: m} : {})
      };
      nodes.push(node);
      if (m && node.index) queue.push({m, platform: node.platform, attestation: node.attestation});
    });
  }
  return nodes;
}

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

  /** Reads a manifest and everything below it (imageTree), recording what each lists and holds. */
  const expand = async (start: StoredManifest): Promise<ImageNode[]> => {
    if (childrenOf.has(start.digest)) return [];
    const nodes = await imageTree(start, load, {leaves: true});
    for (const m of [start, ...nodes.map(n => n.manifest)]) {
      if (!m || childrenOf.has(m.digest)) continue;
      childrenOf.set(
        m.digest,
        childDescriptors(m).map(k => k.digest)
      );
      blobsOf.set(m.digest, blobDescriptors(m));
    }
    return nodes;
  };

  for (const n of await expand(root)) if (!n.index && !n.attestation && n.platform) platforms.push(n.platform);
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
          await expand(m);
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
