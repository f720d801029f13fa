import type {ECRClient} from '@aws-sdk/client-ecr';
import {UserError, errorMessage} from '../../errors.js';
import {ProviderContext} from '../../registry/providers/context.js';
import {ecrClient, parseEcrHost} from '../../registry/providers/ecr.js';
import {sleep} from '../../registry/retry.js';
import {CleanupBackend} from '../oci-backend.js';
import {PackageVersion} from '../model.js';
import {DELETED, GONE, Removal, UntagResult, judgeFresh, kept, movedReason} from '../removal.js';

type Ecr = typeof import('@aws-sdk/client-ecr');

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
  private async batchDelete(
    imageIds: Array<{imageDigest?: string; imageTag?: string}>
  ): Promise<Array<{tag?: string; code: string; reason: string}>> {
    const {ecr, client} = await this.api();
    let out;
    try {
      out = await client.send(new ecr.BatchDeleteImageCommand({...this.ids, imageIds}));
    } catch (err) {
      return this.fail('BatchDeleteImage', err);
    }
    return (out.failures ?? []).map(f => ({
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
    const v = this.byId.get(id);
    if (!v) return GONE;
    const tags = planned ?? v.tags;
    if (tags.length) {
      const {moved} = await this.removeTags(v.digest, tags);
      const now = await this.getVersion(id);
      if (!now) return moved.length === tags.length ? GONE : DELETED;
      if (now.tags.length) return kept(`tagged ${now.tags.join(', ')} since planning (ECR kept it)`);
      return kept(`${movedReason(moved)}; left untagged for the next run`);
    }
    if (planned) {
      const judged = judgeFresh(await this.getVersion(id), planned);
      if (judged) return judged;
    }
    const failures = await this.batchDelete([{imageDigest: v.digest}]);
    if (!failures.length) return DELETED;
    if (failures.every(f => f.code === 'ImageNotFound')) return GONE;
    if (failures.every(f => f.code === 'ImageReferencedByManifestList'))
      return kept(`an index lists it (ECR refused: ${failures[0].reason})`);
    throw new UserError(failures.map(f => `${f.code}: ${f.reason}`.trim()).join('; '));
  }

  async untag(id: number, tags: string[]): Promise<UntagResult> {
    const v = this.byId.get(id);
    return v ? this.removeTags(v.digest, tags) : {removed: [], moved: tags};
  }

  /** Removes tags by tag and digest: ECR removes each only while it points at the digest (else: moved). */
  private async removeTags(digest: string, tags: readonly string[]): Promise<UntagResult> {
    const failures = await this.batchDelete(tags.map(imageTag => ({imageDigest: digest, imageTag})));
    const moved = failures
      .filter(f => f.code === 'ImageTagDoesNotMatchDigest' || f.code === 'ImageNotFound')
      .map(f => f.tag ?? '');
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
