import {Readable} from 'node:stream';
import {RegistryClient} from './client.js';
import {RegistryError} from './errors.js';
import {referrersTag} from './digest.js';
import {Descriptor, MEDIA} from './media.js';
import {REFERRERS_TAG, mergeReferrersIndex, referrerDescriptor, subjectOf} from './referrers.js';
import {BlobState, ImageSource, ImageTarget, StoredManifest} from './store.js';

/** One repository of a registry, as a source and as a target. */
export class RegistryRepository implements ImageSource, ImageTarget {
  readonly name: string;
  readonly mountFrom: {registry: string; repository: string};
  /** Upload sessions a refused mount opened (202): used for the upload instead of a new one. */
  private readonly openUploads = new Map<string, string>();
  constructor(
    readonly client: RegistryClient,
    readonly repository: string
  ) {
    this.name = `${client.registry}/${repository}`;
    this.mountFrom = {registry: client.registry, repository};
  }

  get registry(): string {
    return this.client.registry;
  }

  async resolve(ref = 'latest'): Promise<StoredManifest> {
    const m = await this.client.getManifest(this.repository, ref);
    if (!m)
      throw new RegistryError(
        404,
        'MANIFEST_UNKNOWN',
        `${this.name}:${ref} not found`,
        'GET',
        `${this.name}/manifests/${ref}`
      );
    return m;
  }

  getManifest(digest: string): Promise<StoredManifest | undefined> {
    return this.client.getManifest(this.repository, digest);
  }

  openBlob(digest: string): Promise<Readable> {
    return this.client.getBlob(this.repository, digest);
  }

  listTags(): Promise<string[]> {
    return this.client.listTags(this.repository);
  }

  referrers(digest: string): Promise<Descriptor[] | undefined> {
    return this.client.referrers(this.repository, digest);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return (await this.client.headBlob(this.repository, digest, this.client.push(this.repository))) !== undefined;
  }

  async mountBlob(digest: string, from: {registry: string; repository: string}): Promise<BlobState> {
    if (from.registry !== this.registry || from.repository === this.repository) return 'absent';
    const r = await this.client.mountBlob(this.repository, digest, from.repository);
    if (r === true) return 'mounted';
    if (typeof r === 'string') this.openUploads.set(digest, r);
    return 'absent';
  }

  async putBlob(digest: string, size: number, open: () => Promise<Readable>): Promise<void> {
    const opened = this.openUploads.get(digest);
    this.openUploads.delete(digest);
    const location = opened ?? (await this.client.startUpload(this.repository));
    const stream = await open();
    const chunk = this.client.chunkSize;
    if (chunk !== undefined && size > chunk) {
      await this.client.putUploadChunked(this.repository, location, digest, stream);
    } else {
      await this.client.putUpload(this.repository, location, digest, size, () => stream);
    }
  }

  async hasManifest(digest: string): Promise<boolean> {
    return (await this.client.headManifest(this.repository, digest)) !== undefined;
  }

  async tagDigest(tag: string): Promise<string | undefined> {
    return (await this.client.headManifest(this.repository, tag))?.digest;
  }

  /**
   * Writes a manifest. A referrers fallback tag is merged with what the destination already lists
   * (never dropping an entry), and skipped where the destination has the referrers API; a manifest with a subject pushed to a registry that did not take it into
   * a referrers API (no OCI-Subject answer) is added to its subject's fallback index.
   */
  async putManifest(ref: string, manifest: StoredManifest): Promise<boolean> {
    if (REFERRERS_TAG.test(ref)) {
      // A registry with the referrers API lists the referrers (written with their subject) itself and
      // readers never look at a fallback tag there; olareg even stops listing a subject's referrers
      // once a manifest with its listing's bytes is tagged. The tag is written only where it is read.
      if ((await this.client.referrers(this.repository, `sha256:${ref.slice('sha256-'.length)}`)) !== undefined)
        return false;
      const listed = (JSON.parse(manifest.body.toString('utf8')) as {manifests?: Descriptor[]}).manifests ?? [];
      return this.addReferrers(ref, listed, manifest);
    }
    const put = await this.client.putManifest(this.repository, ref, manifest.body, manifest.mediaType);
    const subject = subjectOf(manifest);
    if (subject && !put.ociSubject) await this.addReferrers(referrersTag(subject), [referrerDescriptor(manifest)]);
    return true;
  }

  /**
   * A manifest with a subject that the destination already has (copied before, perhaps by a version
   * that did not keep fallback indexes): where the registry has no referrers API, makes sure its
   * subject's fallback index lists it. Writes nothing when it does.
   */
  async linkReferrer(manifest: StoredManifest): Promise<boolean> {
    const subject = subjectOf(manifest);
    if (!subject || (await this.client.referrers(this.repository, subject)) !== undefined) return false;
    return this.addReferrers(referrersTag(subject), [referrerDescriptor(manifest)]);
  }

  /** Merges entries into the fallback index at `tag`; `whole` is written as is when nothing is there. */
  private async addReferrers(tag: string, entries: Descriptor[], whole?: StoredManifest): Promise<boolean> {
    const current = await this.client.getManifest(this.repository, tag);
    if (!current && whole) {
      await this.client.putManifest(this.repository, tag, whole.body, whole.mediaType);
      return true;
    }
    const merged = mergeReferrersIndex(current?.body, entries);
    if (!merged) return false;
    await this.client.putManifest(this.repository, tag, merged, MEDIA.ociIndex);
    return true;
  }
}
