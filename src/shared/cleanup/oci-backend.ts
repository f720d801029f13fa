import {errorMessage} from '../errors.js';
import {RegistryClient} from '../registry/client.js';
import {mapLimit} from '../registry/limit.js';
import {manifestFacts} from './manifests.js';
import {ManifestStore, storedOrRead} from './manifest-store.js';
import {PackageVersion} from './model.js';
import {GONE, Removal, UntagResult, recheck, removalOf} from './removal.js';

/** Where versions live and how one is deleted: GHCR's Packages API, or a registry's OCI API. */
export interface CleanupBackend {
  /** The package or repository, for reports. */
  readonly name: string;
  /** The repository path in the registry. */
  readonly repository: string;
  listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}>;
  /** The version as it is now, its tags read afresh (undefined: gone). */
  getVersion(id: number): Promise<PackageVersion | undefined>;
  /**
   * Deletes a version. With `planned` (the tags the plan removes with it), only if it carries no other
   * tag: read immediately before the write, or made a condition of the write where the registry's API
   * can (ECR by tag, Artifact Registry without force, Harbor's tag of an artifact). Without `planned`
   * (recheck off) unconditionally.
   */
  deleteVersion(id: number, planned?: readonly string[]): Promise<Removal>;
  /**
   * Deletes a wave of versions none of which lists or is the subject of another in it, as deleteVersion
   * would each, in fewer calls (ECR: 100 image ids a BatchDeleteImage). One result per item, in order.
   */
  deleteBatch?(items: Array<{id: number; planned?: readonly string[]}>): Promise<Array<Removal | Error>>;
  /** The most versions deleteBatch takes at once. */
  readonly batchSize?: number;
  /** The listing's page size, where it can be read a page at a time (recheck wave). */
  readonly pageSize?: number;
  /** One page (1-based) of the listing as it is now, in listing order (recheck wave). */
  listPage?(page: number): Promise<PackageVersion[]>;
  /**
   * Versions as they are now (undefined: gone), from one read of the repository for them all (recheck
   * wave, where the listing has no pages to read: the OCI API's tag list, each tag resolved once).
   */
  readMany?(ids: readonly number[]): Promise<Map<number, PackageVersion | undefined>>;
  /** Deletes the throwaway manifest that took the tags being removed. */
  deleteThrowaway(digest: string): Promise<void>;
  /** Whether a version is a manifest (not a record that can outlive it, as GHCR's package versions do). */
  readonly versionsAreManifests?: boolean;
  /** The registry's own lifecycle evaluation of a policy (ECR), to compare with the plan. */
  lifecyclePreview?(
    text?: string
  ): Promise<{source: string; expire: Array<{digest: string; tags: string[]; rule?: number}>} | undefined>;
  /**
   * Removes tags from a version and keeps it, where the registry's API can (else: a throwaway manifest);
   * a tag that points at another manifest by then is left alone (moved).
   */
  untag?(id: number, tags: string[]): Promise<UntagResult>;
  /**
   * After the deletions, where a registry deletes by name only (Docker Hub): the digests among those
   * reported deleted that the registry still holds, with the tags that keep them.
   */
  stillHeld?(digests: string[]): Promise<Map<string, string[]>>;
}

/**
 * Any registry with the OCI distribution API and deletes enabled (distribution, Harbor, Artifact
 * Registry): versions are the tagged manifests, plus what they reference (platform manifests,
 * attestation manifests, referrers), since untagged manifests cannot be listed. Creation times come
 * from the org.opencontainers.image.created annotation or the image config.
 */
export class OciRepositoryBackend implements CleanupBackend {
  readonly versionsAreManifests = true;
  private byId = new Map<number, PackageVersion>();

  constructor(
    private readonly client: RegistryClient,
    readonly repository: string,
    private readonly concurrency = 8,
    /** Manifests and configs kept from earlier runs, by digest (tags are always read afresh). */
    private readonly store?: ManifestStore
  ) {}

  get name(): string {
    return this.repository;
  }

  private async created(body: Buffer): Promise<string | undefined> {
    const m = JSON.parse(body.toString('utf8')) as {
      annotations?: Record<string, string>;
      config?: {digest: string; mediaType?: string};
    };
    const annotated = m.annotations?.['org.opencontainers.image.created'];
    if (annotated) return annotated;
    if (!m.config || !/config/.test(m.config.mediaType ?? '')) return undefined;
    try {
      const {body: bytes} = await storedOrRead(this.store, m.config.digest, async () => {
        const stream = await this.client.getBlob(this.repository, m.config?.digest ?? '');
        return Buffer.concat(await stream.toArray());
      });
      const config = JSON.parse(bytes?.toString('utf8') ?? '{}') as {created?: string};
      return config.created;
    } catch {
      return undefined;
    }
  }

  /**
   * The manifest a tag names now. With a store an earlier run filled: a HEAD says the digest, and a
   * manifest stored under it needs no GET (an unchanged repository costs one HEAD per tag, and no pull
   * where GETs are counted); else one GET, its bytes stored.
   */
  private async tagged(tag: string): Promise<{digest: string; body: Buffer; mediaType?: string} | undefined> {
    if (this.store?.warm) {
      const head = await this.client.headManifest(this.repository, tag);
      if (!head) return undefined;
      const kept = this.store.get(head.digest);
      if (kept) return {digest: head.digest, body: kept, mediaType: head.mediaType};
    }
    const m = await this.client.getManifest(this.repository, tag);
    // Kept by digest, so the plan's read of this version costs no second request.
    if (m) this.store?.put(m.digest, m.body);
    return m;
  }

  async listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}> {
    let tags: string[];
    try {
      tags = await this.client.listTags(this.repository);
    } catch (err) {
      return {
        versions: [],
        complete: false,
        pages: 1,
        error: `${this.repository}: tags could not be listed (${errorMessage(err)})`
      };
    }
    const byDigest = new Map<string, {tags: string[]; body?: Buffer; mediaType?: string}>();
    let complete = true;
    await mapLimit(tags, this.concurrency, async tag => {
      try {
        const m = await this.tagged(tag);
        if (!m) return;
        const entry = byDigest.get(m.digest) ?? {tags: [], body: m.body, mediaType: m.mediaType};
        entry.tags.push(tag);
        byDigest.set(m.digest, entry);
      } catch {
        complete = false;
      }
    });
    // What the tagged manifests reference is part of the package too (it can only be found this way).
    const queue = [...byDigest.entries()];
    for (let i = 0; i < queue.length; i++) {
      const [digest, entry] = queue[i];
      const facts = entry.body ? manifestFacts(digest, entry.body, entry.mediaType) : undefined;
      const referrers = (await this.client.referrers(this.repository, digest).catch(() => undefined)) ?? [];
      for (const d of [...(facts?.children ?? []).map(c => c.digest), ...referrers.map(r => r.digest)]) {
        if (byDigest.has(d)) continue;
        const {body} = await storedOrRead(
          this.store,
          d,
          async () => (await this.client.getManifest(this.repository, d).catch(() => undefined))?.body
        );
        if (!body) continue;
        const e = {tags: [], body, mediaType: undefined};
        byDigest.set(d, e);
        queue.push([d, e]);
      }
    }
    const digests = [...byDigest.keys()].sort();
    const createdOf = new Map<string, string | undefined>();
    await mapLimit(digests, this.concurrency, async d => {
      const body = byDigest.get(d)?.body;
      createdOf.set(d, body ? await this.created(body) : undefined);
    });
    // An index without a date of its own takes its newest platform's.
    for (const d of digests) {
      if (createdOf.get(d)) continue;
      const body = byDigest.get(d)?.body;
      const kids = body
        ? manifestFacts(d, body)
            .children.map(c => createdOf.get(c.digest))
            .filter((x): x is string => !!x)
        : [];
      createdOf.set(d, kids.sort().pop());
    }
    const versions = digests.map((digest, i) => ({
      id: i + 1,
      digest,
      tags: (byDigest.get(digest)?.tags ?? []).sort(),
      createdAt: createdOf.get(digest) ?? new Date(0).toISOString()
    }));
    this.byId = new Map(versions.map(v => [v.id, v]));
    return {versions, complete, pages: 1};
  }

  /**
   * Which tags point at which digest now. The OCI API cannot say which tags point at a digest: the tag
   * list is read afresh and every tag resolved (a HEAD each).
   */
  private async tagsNow(): Promise<Map<string, string[]>> {
    const tags = await this.client.listTags(this.repository);
    const digests = await mapLimit(
      tags,
      this.concurrency,
      async t => (await this.client.headManifest(this.repository, t))?.digest
    );
    const byDigest = new Map<string, string[]>();
    tags.forEach((t, i) => {
      const d = digests[i];
      if (d) byDigest.set(d, [...(byDigest.get(d) ?? []), t]);
    });
    return byDigest;
  }

  async getVersion(id: number): Promise<PackageVersion | undefined> {
    return (await this.readMany([id])).get(id);
  }

  /** The tags are read once for all of them; each manifest's presence with a HEAD. */
  async readMany(ids: readonly number[]): Promise<Map<number, PackageVersion | undefined>> {
    const known = ids.map(id => this.byId.get(id)).filter((v): v is PackageVersion => !!v);
    const out = new Map<number, PackageVersion | undefined>(ids.map(id => [id, undefined]));
    if (known.length === 0) return out;
    const [tags, present] = await Promise.all([
      this.tagsNow(),
      mapLimit(known, this.concurrency, v => this.client.headManifest(this.repository, v.digest))
    ]);
    known.forEach((v, i) => {
      if (present[i]) out.set(v.id, {...v, tags: [...(tags.get(v.digest) ?? [])].sort()});
    });
    return out;
  }

  /**
   * The OCI API deletes a manifest by digest with every tag on it, unconditionally: the tags are read
   * right before (the window between that read and the DELETE is the registry's, no client can close it).
   */
  async deleteVersion(id: number, planned?: readonly string[]): Promise<Removal> {
    const v = this.byId.get(id);
    if (!v) return GONE;
    const judged = await recheck(planned, () => this.getVersion(id));
    if (judged) return judged;
    return removalOf(await this.client.deleteManifest(this.repository, v.digest));
  }

  async deleteThrowaway(digest: string): Promise<void> {
    await this.client.deleteManifest(this.repository, digest);
  }
}
