import type {ECRClient} from '@aws-sdk/client-ecr';
import {UserError, errorMessage} from '../../errors.js';
import {ProviderContext} from '../../registry/providers/context.js';
import {ecrClient, parseEcrHost} from '../../registry/providers/ecr.js';
import {sleep} from '../../registry/retry.js';
import {CleanupBackend} from '../oci-backend.js';
import {PackageVersion} from '../model.js';
import {DELETED, GONE, Removal, UntagResult, judgeFresh, kept, movedReason} from '../removal.js';

type Ecr = typeof import('@aws-sdk/client-ecr');

/** Failure codes that mean a tag no longer names the digest (moved, or the image is gone). */
const MOVED = new Set(['ImageTagDoesNotMatchDigest', 'ImageNotFound']);

/** What ECR's own lifecycle preview would expire, and whose policy it evaluated. */
export interface LifecyclePreview {
  source: 'input' | 'repository';
  expire: Array<{digest: string; tags: string[]; rule?: number}>;
}

export interface EcrBackendOptions {
  registry: string;
  repository: string;
  region?: string;
  role?: string;
  ctx: ProviderContext;
}

/**
 * ECR through its own API (the AWS SDK): DescribeImages lists every image, tagged or not (platform
 * manifests, signatures, referrers), with its push time; BatchDeleteImage deletes by digest (the image
 * and its tags) or removes tags (by tag). ECR refuses to delete a manifest an index still lists, which
 * the plan's order (an index before its platforms) never asks of it.
 */
export class EcrBackend implements CleanupBackend {
  readonly versionsAreManifests = true;
  private sdk?: Promise<{ecr: Ecr; client: ECRClient}>;
  private byId = new Map<number, PackageVersion>();
  private readonly registryId?: string;

  constructor(private readonly o: EcrBackendOptions) {
    this.registryId = parseEcrHost(o.registry)?.accountId;
  }

  get name(): string {
    return this.o.repository;
  }
  get repository(): string {
    return this.o.repository;
  }

  private api(): Promise<{ecr: Ecr; client: ECRClient}> {
    this.sdk ??= ecrClient({registry: this.o.registry, region: this.o.region, roleArn: this.o.role}, this.o.ctx);
    return this.sdk;
  }

  private get ids(): {registryId?: string; repositoryName: string} {
    return {...(this.registryId ? {registryId: this.registryId} : {}), repositoryName: this.o.repository};
  }

  private fail(what: string, err: unknown): never {
    throw new UserError(
      `${this.o.registry}/${this.o.repository}: ECR ${what} failed (${errorMessage(err)}). The role needs ecr:DescribeImages and ecr:BatchDeleteImage on the repository.`
    );
  }

  async listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}> {
    const {ecr, client} = await this.api();
    const versions: PackageVersion[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    try {
      do {
        const out = await client.send(new ecr.DescribeImagesCommand({...this.ids, maxResults: 1000, nextToken}));
        pages++;
        for (const d of out.imageDetails ?? []) {
          if (!d.imageDigest) continue;
          versions.push({
            id: versions.length + 1,
            digest: d.imageDigest,
            tags: [...(d.imageTags ?? [])].sort(),
            createdAt: (d.imagePushedAt ?? new Date(0)).toISOString()
          });
        }
        nextToken = out.nextToken;
      } while (nextToken);
    } catch (err) {
      if ((err as {name?: string}).name === 'RepositoryNotFoundException')
        throw new UserError(`${this.o.registry}/${this.o.repository}: no such ECR repository.`);
      return {
        versions,
        complete: false,
        pages,
        error: `${this.o.repository}: DescribeImages stopped (${errorMessage(err)})`
      };
    }
    this.byId = new Map(versions.map(v => [v.id, v]));
    return {versions, complete: true, pages};
  }

  async getVersion(id: number): Promise<PackageVersion | undefined> {
    const v = this.byId.get(id);
    if (!v) return undefined;
    const {ecr, client} = await this.api();
    try {
      const out = await client.send(new ecr.DescribeImagesCommand({...this.ids, imageIds: [{imageDigest: v.digest}]}));
      const d = out.imageDetails?.[0];
      return d ? {...v, tags: [...(d.imageTags ?? [])].sort()} : undefined;
    } catch (err) {
      if ((err as {name?: string}).name === 'ImageNotFoundException') return undefined;
      return this.fail('DescribeImages', err);
    }
  }

  /** One BatchDeleteImage: the failures by code (ImageNotFound among them); a failed call is an error. */
  private async batchDeleteIds(
    imageIds: Array<{imageDigest?: string; imageTag?: string}>
  ): Promise<Array<{digest?: string; tag?: string; code: string; reason: string}>> {
    const {ecr, client} = await this.api();
    let out;
    try {
      out = await client.send(new ecr.BatchDeleteImageCommand({...this.ids, imageIds}));
    } catch (err) {
      return this.fail('BatchDeleteImage', err);
    }
    return (out.failures ?? []).map(f => ({
      digest: f.imageId?.imageDigest,
      tag: f.imageId?.imageTag,
      code: f.failureCode ?? 'Unknown',
      reason: f.failureReason ?? ''
    }));
  }

  /**
   * A tagged image goes by its tags: ECR removes a tag only while it points at the digest named with it
   * (ImageTagDoesNotMatchDigest otherwise) and deletes the image only with its last tag, so a tag
   * written meanwhile keeps it. An untagged one goes by digest after a fresh read (ECR cannot make that
   * conditional: the window between the read and the delete is ECR's); one an index lists is refused by
   * ECR itself (ImageReferencedByManifestList).
   */
  async deleteVersion(id: number, planned?: readonly string[]): Promise<Removal> {
    const [res] = await this.deleteBatch([{id, planned}]);
    if (res instanceof Error) throw res;
    return res;
  }

  /** How many versions one wave deletes (BatchDeleteImage takes 100 image ids). */
  readonly batchSize = 100;

  /**
   * The digests of these that ECR still holds, with their tags now: one DescribeImages for them all, or,
   * when some are gone (ECR then refuses the whole call), BatchGetImage to tell which remain and
   * DescribeImages for those.
   */
  private async tagsNow(digests: string[]): Promise<Map<string, string[]>> {
    const {ecr, client} = await this.api();
    const describe = async (ds: string[]): Promise<Map<string, string[]>> => {
      const out = new Map<string, string[]>();
      if (!ds.length) return out;
      const res = await client.send(
        new ecr.DescribeImagesCommand({...this.ids, imageIds: ds.map(imageDigest => ({imageDigest}))})
      );
      for (const d of res.imageDetails ?? [])
        if (d.imageDigest) out.set(d.imageDigest, [...(d.imageTags ?? [])].sort());
      return out;
    };
    try {
      return await describe(digests);
    } catch (err) {
      if ((err as {name?: string}).name !== 'ImageNotFoundException') return this.fail('DescribeImages', err);
    }
    let got;
    try {
      got = await client.send(
        new ecr.BatchGetImageCommand({...this.ids, imageIds: digests.map(imageDigest => ({imageDigest}))})
      );
    } catch (err) {
      return this.fail('BatchGetImage', err);
    }
    const present = [...new Set((got.images ?? []).map(i => i.imageId?.imageDigest ?? ''))].filter(Boolean);
    try {
      return await describe(present);
    } catch (err) {
      return this.fail('DescribeImages', err);
    }
  }

  /**
   * A wave of deletions in a few calls: tagged images by their tags (a tag removed only while it names
   * the digest, the image only with its last tag), then one read of which remain; untagged ones after
   * one read of their tags, by digest. An error that is not about one image fails the whole wave.
   */
  async deleteBatch(items: Array<{id: number; planned?: readonly string[]}>): Promise<Array<Removal | Error>> {
    const out = new Map<number, Removal | Error>();
    const known = items.flatMap(x => {
      const v = this.byId.get(x.id);
      if (!v) out.set(x.id, GONE);
      return v ? [{...x, v, tags: x.planned ?? v.tags}] : [];
    });
    const tagged = known.filter(x => x.tags.length);
    if (tagged.length) {
      const ids = tagged.flatMap(x => x.tags.map(imageTag => ({imageDigest: x.v.digest, imageTag})));
      const failures = [];
      for (let i = 0; i < ids.length; i += 100) failures.push(...(await this.batchDeleteIds(ids.slice(i, i + 100))));
      const now = await this.tagsNow(tagged.map(x => x.v.digest));
      for (const x of tagged) {
        const mine = failures.filter(f => f.digest === x.v.digest);
        const moved = mine.filter(f => MOVED.has(f.code)).map(f => f.tag ?? '');
        const real = mine.filter(f => !MOVED.has(f.code));
        const tags = now.get(x.v.digest);
        if (real.length) out.set(x.id, new UserError(real.map(f => `${f.code}: ${f.reason}`.trim()).join('; ')));
        else if (!tags) out.set(x.id, moved.length === x.tags.length ? GONE : DELETED);
        else if (tags.length) out.set(x.id, kept(`tagged ${tags.join(', ')} since planning (ECR kept it)`));
        else out.set(x.id, kept(`${movedReason(moved)}; left untagged for the next run`));
      }
    }
    const untagged = known.filter(x => !x.tags.length);
    if (untagged.length) {
      const now = items.some(x => x.planned) ? await this.tagsNow(untagged.map(x => x.v.digest)) : undefined;
      const go = untagged.filter(x => {
        if (!now) return true;
        const judged = judgeFresh(
          now.has(x.v.digest) ? {...x.v, tags: now.get(x.v.digest) ?? []} : undefined,
          x.planned ?? []
        );
        if (judged) out.set(x.id, judged);
        return !judged;
      });
      for (let i = 0; i < go.length; i += 100) {
        const chunk = go.slice(i, i + 100);
        const failures = await this.batchDeleteIds(chunk.map(x => ({imageDigest: x.v.digest})));
        for (const x of chunk) {
          const f = failures.find(y => y.digest === x.v.digest);
          if (!f) out.set(x.id, DELETED);
          else if (f.code === 'ImageNotFound') out.set(x.id, GONE);
          else if (f.code === 'ImageReferencedByManifestList')
            out.set(x.id, kept(`an index lists it (ECR refused: ${f.reason})`));
          else out.set(x.id, new UserError(`${f.code}: ${f.reason}`.trim()));
        }
      }
    }
    return items.map(x => out.get(x.id) ?? new UserError('not deleted'));
  }

  async untag(id: number, tags: string[]): Promise<UntagResult> {
    const v = this.byId.get(id);
    return v ? this.removeTags(v.digest, tags) : {removed: [], moved: tags};
  }

  /** Removes tags by tag and digest: ECR removes each only while it points at the digest (else: moved). */
  private async removeTags(digest: string, tags: readonly string[]): Promise<UntagResult> {
    const failures = await this.batchDeleteIds(tags.map(imageTag => ({imageDigest: digest, imageTag})));
    const moved = failures.filter(f => MOVED.has(f.code)).map(f => f.tag ?? '');
    const real = failures.filter(f => !moved.includes(f.tag ?? ''));
    if (real.length) throw new UserError(real.map(f => `${f.code}: ${f.reason}`.trim()).join('; '));
    return {removed: tags.filter(t => !moved.includes(t)), moved};
  }

  /**
   * ECR's own lifecycle preview of a policy document (the given one, else the repository's): what ECR
   * would expire, to be compared with this plan. Undefined when the repository has no policy to preview.
   */
  async lifecyclePreview(text?: string): Promise<LifecyclePreview | undefined> {
    const {ecr, client} = await this.api();
    let source: LifecyclePreview['source'] = 'input';
    if (!text) {
      try {
        text = (await client.send(new ecr.GetLifecyclePolicyCommand(this.ids))).lifecyclePolicyText;
        source = 'repository';
      } catch (err) {
        if ((err as {name?: string}).name === 'LifecyclePolicyNotFoundException') return undefined;
        return this.fail('GetLifecyclePolicy', err);
      }
    }
    if (!text) return undefined;
    for (let i = 0; ; i++) {
      try {
        await client.send(new ecr.StartLifecyclePolicyPreviewCommand({...this.ids, lifecyclePolicyText: text}));
        break;
      } catch (err) {
        // One preview at a time per repository: wait for the one running.
        if ((err as {name?: string}).name !== 'LifecyclePolicyPreviewInProgressException' || i > 60)
          return this.fail('StartLifecyclePolicyPreview', err);
        await sleep(2000);
      }
    }
    const expire: LifecyclePreview['expire'] = [];
    for (let i = 0; i < 300; i++) {
      let nextToken: string | undefined;
      let status: string | undefined;
      expire.length = 0;
      do {
        const out = await client.send(
          new ecr.GetLifecyclePolicyPreviewCommand({...this.ids, maxResults: 100, nextToken})
        );
        status = out.status;
        if (status !== 'COMPLETE') break;
        for (const r of out.previewResults ?? [])
          if (r.imageDigest && r.action?.type === 'EXPIRE')
            expire.push({digest: r.imageDigest, tags: [...(r.imageTags ?? [])].sort(), rule: r.appliedRulePriority});
        nextToken = out.nextToken;
      } while (nextToken);
      if (status === 'COMPLETE') return {source, expire};
      if (status === 'FAILED' || status === 'EXPIRED') throw new UserError(`ECR's lifecycle preview ended ${status}.`);
      await sleep(1000);
    }
    throw new UserError("ECR's lifecycle preview did not complete within 5 minutes.");
  }

  async deleteThrowaway(): Promise<void> {
    // ECR removes tags through its API: no throwaway manifest is ever pushed.
  }
}
