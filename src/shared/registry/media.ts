/** Media types of the four manifest kinds and the artifacts that travel with images. */
export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  sigstoreBundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  dsse: 'application/vnd.dsse.envelope.v1+json'
} as const;

/** Always ask for every manifest type: without the OCI index type distribution answers 404 for one. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

export function isIndex(mediaType: string | undefined): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

export function isManifestType(mediaType: string | undefined): boolean {
  return (
    mediaType === MEDIA.ociIndex ||
    mediaType === MEDIA.ociManifest ||
    mediaType === MEDIA.dockerList ||
    mediaType === MEDIA.dockerManifest
  );
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type Manifest = ImageManifest | ImageIndex;

export function platformString(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The media type of manifest bytes: the mediaType field, or inferred from its shape. */
export function manifestMediaType(body: Buffer, fallback?: string): string {
  const m = JSON.parse(body.toString('utf8')) as {mediaType?: string; manifests?: unknown; config?: unknown};
  if (m.mediaType) return m.mediaType;
  if (fallback && isManifestType(fallback)) return fallback;
  return m.manifests ? MEDIA.ociIndex : MEDIA.ociManifest;
}
