import crypto from 'node:crypto';
import {Credential} from '../../src/shared/registry/auth.js';
import {RegistryClient} from '../../src/shared/registry/client.js';
import {GH_TOKEN} from './ghcr.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const EMPTY = 'application/vnd.oci.empty.v1+json';

const digestOf = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export interface Pushed {
  digest: string;
  /** Platform (and attestation) manifests of an index. */
  children: string[];
  body: Buffer;
  mediaType: string;
}

/**
 * Pushes images shaped as buildx and cosign leave them into an emulated registry (GHCR, or a vendor's
 * with its `credential`), as real registry writes.
 */
export class GhcrImages {
  readonly client: RegistryClient;
  readonly repo: string;
  constructor(
    emu: {host: string},
    readonly owner: string,
    readonly pkg: string,
    credential: Credential = {kind: 'basic', username: 'tester', password: GH_TOKEN}
  ) {
    this.repo = `${owner}/${pkg}`.toLowerCase();
    this.client = new RegistryClient({registry: emu.host, credential: async () => credential});
  }

  private async blob(data: Buffer, mediaType: string): Promise<{mediaType: string; digest: string; size: number}> {
    const digest = digestOf(data);
    if ((await this.client.headBlob(this.repo, digest)) === undefined) {
      const loc = await this.client.startUpload(this.repo);
      await this.client.putUpload(this.repo, loc, digest, data.length, data);
    }
    return {mediaType, digest, size: data.length};
  }

  async manifest(obj: unknown, mediaType: string, ref?: string): Promise<Pushed> {
    const body = Buffer.from(JSON.stringify(obj));
    const digest = digestOf(body);
    await this.client.putManifest(this.repo, ref ?? digest, body, mediaType);
    return {digest, children: [], body, mediaType};
  }

  /** One platform image (a manifest with a config and a layer of `size` bytes). */
  async platform(seed: string, platform = 'linux/amd64', size = 512, tag?: string): Promise<Pushed> {
    const [os, architecture, variant] = platform.split('/');
    const hex = crypto.createHash('sha512').update(seed).digest('hex');
    const layer = await this.blob(Buffer.from(hex.repeat(Math.ceil(size / hex.length)).slice(0, size)), LAYER);
    const config = await this.blob(
      Buffer.from(JSON.stringify({os, architecture, variant, seed, rootfs: {type: 'layers', diff_ids: []}})),
      CONFIG
    );
    return this.manifest({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer]}, OCI_MANIFEST, tag);
  }

  /** A buildx attestation manifest for a platform manifest. */
  async attestation(seed: string, of: string): Promise<Pushed> {
    const layer = await this.blob(
      Buffer.from(JSON.stringify({predicateType: 'https://slsa.dev/provenance/v0.2', seed, of})),
      'application/vnd.in-toto+json'
    );
    const config = await this.blob(Buffer.from(JSON.stringify({architecture: 'unknown', os: 'unknown', seed})), CONFIG);
    const m = await this.manifest({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer]}, OCI_MANIFEST);
    return {...m, children: [of]};
  }

  /**
   * A multi-platform image as buildx pushes it: platform manifests by digest, optionally their
   * attestation manifests, then the index under its tags.
   */
  async image(
    seed: string,
    tags: string[],
    opts: {platforms?: string[]; attestations?: boolean; reuse?: Pushed[]; created?: string} = {}
  ): Promise<Pushed> {
    const platforms = opts.platforms ?? ['linux/amd64', 'linux/arm64'];
    const kids = opts.reuse ?? (await Promise.all(platforms.map(p => this.platform(`${seed}-${p}`, p))));
    const descs: unknown[] = kids.map((k, i) => {
      const [os, architecture, variant] = (platforms[i] ?? 'linux/amd64').split('/');
      return {
        mediaType: OCI_MANIFEST,
        digest: k.digest,
        size: k.body.length,
        platform: {os, architecture, ...(variant ? {variant} : {})}
      };
    });
    const children = kids.map(k => k.digest);
    if (opts.attestations) {
      for (const k of kids) {
        const a = await this.attestation(seed, k.digest);
        descs.push({
          mediaType: OCI_MANIFEST,
          digest: a.digest,
          size: a.body.length,
          platform: {os: 'unknown', architecture: 'unknown'},
          annotations: {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': k.digest}
        });
        children.push(a.digest);
      }
    }
    const index = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: descs,
      ...(opts.created ? {annotations: {'org.opencontainers.image.created': opts.created}} : {})
    };
    const pushed = await this.manifest(index, OCI_INDEX, tags[0]);
    for (const t of tags.slice(1)) await this.client.putManifest(this.repo, t, pushed.body, OCI_INDEX);
    return {...pushed, children};
  }

  /**
   * An index of indexes (OCI allows it): a root listing index A (linux/amd64, linux/arm64 and an
   * attestation manifest) and index B (linux/s390x), tagged `tag`. `nested` has A's and B's digests,
   * `platforms` every platform manifest at any depth.
   */
  async nestedImage(seed: string, tag: string): Promise<Pushed & {nested: string[]; platforms: string[]}> {
    const a = await this.image(`${seed}-a`, [], {platforms: ['linux/amd64', 'linux/arm64'], attestations: true});
    const b = await this.image(`${seed}-b`, [], {platforms: ['linux/s390x']});
    const desc = (p: Pushed): unknown => ({mediaType: OCI_INDEX, digest: p.digest, size: p.body.length});
    const root = await this.manifest(
      {schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc(a), desc(b)]},
      OCI_INDEX,
      tag
    );
    const platforms = [...a.children.slice(0, 2), ...b.children];
    return {
      ...root,
      children: [a.digest, b.digest, ...a.children, ...b.children],
      nested: [a.digest, b.digest],
      platforms
    };
  }

  /** Puts an existing manifest under another tag. */
  async tag(p: Pushed, tag: string): Promise<void> {
    await this.client.putManifest(this.repo, tag, p.body, p.mediaType);
  }

  /** A cosign legacy signature: the sha256-<hex>.sig tag. */
  async legacySignature(subject: string): Promise<Pushed> {
    const layer = await this.blob(
      Buffer.from(JSON.stringify({critical: {image: {'docker-manifest-digest': subject}}})),
      'application/vnd.dev.cosign.simplesigning.v1+json'
    );
    const config = await this.blob(
      Buffer.from(JSON.stringify({rootfs: {type: 'layers', diff_ids: [layer.digest]}, subject})),
      CONFIG
    );
    return this.manifest(
      {schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer]},
      OCI_MANIFEST,
      `${subject.replace(':', '-')}.sig`
    );
  }

  /**
   * A referrer pushed with only its subject (no fallback tag), as a client does on a registry with the
   * referrers API: `artifactType` on the manifest, or (Notation) as the config's media type.
   */
  async referrer(subject: Pushed, kind: 'cosign-oci11' | 'notation' | 'spdx'): Promise<Pushed> {
    const types = {
      'cosign-oci11': {
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        layer: 'application/vnd.dev.cosign.simplesigning.v1+json'
      },
      notation: {config: 'application/vnd.cncf.notary.signature', layer: 'application/jose+json'},
      spdx: {artifactType: 'application/spdx+json', layer: 'application/spdx+json'}
    } as const;
    const t: {artifactType?: string; config?: string; layer: string} = types[kind];
    const layer = await this.blob(
      Buffer.from(JSON.stringify({kind, of: subject.digest, nonce: crypto.randomUUID()})),
      t.layer
    );
    const config = t.config ? await this.blob(Buffer.from('{}'), t.config) : await this.blob(Buffer.from('{}'), EMPTY);
    return this.manifest(
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        ...(t.artifactType ? {artifactType: t.artifactType} : {}),
        config,
        layers: [layer],
        subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.body.length}
      },
      OCI_MANIFEST
    );
  }

  /** A cosign bundle-format signature: a manifest with a subject, listed in the sha256-<hex> fallback index. */
  async bundleSignature(subject: Pushed): Promise<{bundle: Pushed; fallback: Pushed}> {
    const empty = await this.blob(Buffer.from('{}'), EMPTY);
    const layer = await this.blob(
      Buffer.from(JSON.stringify({bundle: subject.digest, nonce: crypto.randomUUID()})),
      'application/vnd.dev.sigstore.bundle.v0.3+json'
    );
    const bundle = await this.manifest(
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        config: empty,
        layers: [layer],
        subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.body.length},
        annotations: {'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1'}
      },
      OCI_MANIFEST
    );
    const fallback = await this.manifest(
      {
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: OCI_MANIFEST,
            digest: bundle.digest,
            size: bundle.body.length,
            artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json'
          }
        ]
      },
      OCI_INDEX,
      subject.digest.replace(':', '-')
    );
    return {bundle, fallback: {...fallback, children: [bundle.digest]}};
  }
}

/** Config and layer sizes of pushed image manifests, by blob digest (what a registry stores for them). */
export function blobSizes(pushed: Pushed[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pushed) {
    const m = JSON.parse(p.body.toString('utf8')) as {
      config: {digest: string; size: number};
      layers: Array<{digest: string; size: number}>;
    };
    for (const b of [m.config, ...m.layers]) out.set(b.digest, b.size);
  }
  return out;
}

/** Bytes of the distinct blobs of several blobSizes maps (a blob in two counted once). */
export const distinctBytes = (...maps: Array<Map<string, number>>): number =>
  [...new Map(maps.flatMap(m => [...m])).values()].reduce((n, s) => n + s, 0);

/** An index's children as the registry holds them (for reuse in another image, or their blobs). */
export async function childrenOf(p: GhcrImages, index: Pushed): Promise<Pushed[]> {
  return Promise.all(
    index.children.map(async d => {
      const m = await p.client.getManifest(p.repo, d);
      return {digest: d, children: [], body: m?.body as Buffer, mediaType: m?.mediaType ?? ''};
    })
  );
}
