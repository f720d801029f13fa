import {errorMessage} from '../errors.js';
import {RegistryClient} from '../registry/client.js';
import {sha256} from '../registry/digest.js';
import {Descriptor, MEDIA, platformString} from '../registry/media.js';
import {mapLimit} from '../registry/limit.js';
import {ManifestStore} from './manifest-store.js';
import {ManifestFacts, ManifestState, PackageVersion} from './model.js';

interface RawManifest {
  mediaType?: string;
  artifactType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The planner's facts from a manifest's bytes. Pure. */
export function manifestFacts(digest: string, body: Buffer, mediaType?: string): ManifestFacts {
  const m = JSON.parse(body.toString('utf8')) as RawManifest;
  if (typeof m !== 'object' || m === null) throw new Error('not a JSON object');
  return {
    digest,
    mediaType: m.mediaType ?? mediaType ?? '',
    children: (m.manifests ?? []).map(d => ({
      digest: d.digest,
      platform: d.platform ? platformString(d.platform) : undefined,
      attestation:
        d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
        (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown')
    })),
    subject: m.subject?.digest,
    artifactType: m.artifactType ?? (m.config?.mediaType !== MEDIA.ociConfig ? m.config?.mediaType : undefined),
    blobs: [...(m.config ? [m.config] : []), ...(m.layers ?? [])].map(d => ({digest: d.digest, size: d.size})),
    predicateTypes: [
      ...new Set(
        [
          m.annotations?.['dev.sigstore.bundle.predicateType'],
          ...(m.layers ?? []).map(l => l.annotations?.predicateType)
        ].filter((t): t is string => !!t)
      )
    ],
    ...(m.annotations?.['org.opencontainers.image.created']
      ? {created: m.annotations['org.opencontainers.image.created']}
      : {})
  };
}

/** Manifests are immutable by digest: one cache for a run, across packages of one registry. */
export type FactsCache = Map<string, ManifestState>;

export interface ReadStats {
  manifestRequests: number;
  /** Manifests taken from the store. */
  stored: number;
}

/** A manifest's state from the store, else from the registry (then stored). */
async function readOne(
  client: RegistryClient,
  repository: string,
  digest: string,
  store: ManifestStore | undefined,
  stats: ReadStats
): Promise<ManifestState> {
  const stored = store?.get(digest);
  if (stored) {
    try {
      const facts = manifestFacts(digest, stored);
      // A manifest the listing read moments ago (backends that read while listing) was a registry read.
      if (store?.fromEarlierRun(digest)) stats.stored++;
      else stats.manifestRequests++;
      return facts;
    } catch {
      // Not a manifest after all: read it from the registry.
    }
  }
  try {
    stats.manifestRequests++;
    const m = await client.getManifest(repository, digest);
    if (!m) return 'missing';
    if (sha256(m.body) !== digest) return 'unreadable';
    const facts = manifestFacts(digest, m.body, m.mediaType);
    store?.put(digest, m.body);
    return facts;
  } catch (err) {
    client.opts.log?.debug(`${repository}@${digest}: ${errorMessage(err)}`);
    return 'unreadable';
  }
}

/**
 * Reads the manifest of every version, then of every child and subject they name that is not a
 * version itself (to tell a missing platform from a present one), concurrently. A 404 is 'missing';
 * a failed or garbled read is 'unreadable' (the planner then deletes nothing in the package).
 */
export async function readManifests(
  client: RegistryClient,
  repository: string,
  versions: PackageVersion[],
  cache: FactsCache,
  concurrency: number,
  stats: ReadStats,
  store?: ManifestStore
): Promise<Map<string, ManifestState>> {
  const out = new Map<string, ManifestState>();
  const read = async (digest: string): Promise<void> => {
    const cached = cache.get(`${repository}@${digest}`);
    if (cached) {
      out.set(digest, cached);
      return;
    }
    const state = await readOne(client, repository, digest, store, stats);
    if (state !== 'unreadable') cache.set(`${repository}@${digest}`, state);
    out.set(digest, state);
  };
  await mapLimit(
    versions.map(v => v.digest),
    concurrency,
    read
  );
  const named = new Set<string>();
  for (const s of out.values()) {
    if (typeof s !== 'object') continue;
    for (const c of s.children) named.add(c.digest);
    if (s.subject) named.add(s.subject);
  }
  const extra = [...named].filter(d => !out.has(d));
  await mapLimit(extra, concurrency, read);
  return out;
}
