import {UserError} from '../../errors.js';
import {RegistryClient} from '../../registry/client.js';
import {CleanupBackend} from '../oci-backend.js';
import {PackageVersion} from '../model.js';
import {GONE, Removal, UntagResult, recheck, removalOf} from '../removal.js';

/** The data-plane API version this backend speaks (containerregistry.json, stable 2021-07-01). */
export const ACR_API_VERSION = '2021-07-01';

interface AcrManifest {
  digest: string;
  createdTime?: string;
  lastUpdateTime?: string;
  tags?: string[];
  changeableAttributes?: {deleteEnabled?: boolean};
}

/**
 * Azure Container Registry through its data-plane API on the registry host, with the registry's own
 * login (the ACR refresh token exchanged for scoped access tokens, as pushes use):
 * `GET /acr/v1/{name}/_manifests` lists every manifest, tagged or not, with its tags and creation time;
 * a manifest is deleted with `DELETE /v2/{name}/manifests/{digest}`, a tag alone with
 * `DELETE /acr/v1/{name}/_tags/{tag}`. A manifest locked against deletion (deleteEnabled false) is
 * reported, never forced.
 */
export class AcrBackend implements CleanupBackend {
  readonly versionsAreManifests = true;
  private byId = new Map<number, PackageVersion>();
  /** Digests ACR refuses to delete (changeableAttributes.deleteEnabled false). */
  readonly locked = new Set<string>();

  constructor(
    private readonly client: RegistryClient,
    readonly repository: string
  ) {}

  get name(): string {
    return this.repository;
  }

  private url(path: string, query: Record<string, string> = {}): string {
    const q = new URLSearchParams({...query, 'api-version': ACR_API_VERSION});
    return `${this.client.base}/acr/v1/${this.repository}/${path}?${q}`;
  }

  private async json<T>(
    url: string,
    scopes: string[],
    ok: number[] = []
  ): Promise<{status: number; body?: T; link?: string}> {
    const res = await this.client.request({method: 'GET', repository: this.repository, path: url, scopes, ok});
    if (!res.ok) {
      await res.body?.cancel();
      return {status: res.status};
    }
    return {status: res.status, body: (await res.json()) as T, link: res.headers.get('link') ?? undefined};
  }

  private get readScope(): string[] {
    return [`repository:${this.repository}:metadata_read`];
  }

  async listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}> {
    const versions: PackageVersion[] = [];
    let pages = 0;
    let next: string | undefined = this.url('_manifests', {n: '1000', orderby: 'timeasc'});
    try {
      while (next) {
        const page: {status: number; body?: {manifests?: AcrManifest[]; link?: string}; link?: string} =
          await this.json(next, this.readScope, [404]);
        pages++;
        if (page.status === 404) throw new UserError(`${this.client.registry}/${this.repository}: no such repository.`);
        for (const m of page.body?.manifests ?? []) {
          if (m.changeableAttributes?.deleteEnabled === false) this.locked.add(m.digest);
          versions.push({
            id: versions.length + 1,
            digest: m.digest,
            tags: [...(m.tags ?? [])].sort(),
            createdAt: m.createdTime ?? new Date(0).toISOString()
          });
        }
        // The next page: the Link header the service sends (`<…>; rel="next"`), or the body's link (the
        // description's), in either form.
        const raw = page.link ?? page.body?.link;
        const link = raw?.match(/<([^>]+)>/)?.[1] ?? raw;
        next = link ? new URL(link, this.client.base).toString() : undefined;
        if (next && !next.includes('api-version=')) next += `&api-version=${ACR_API_VERSION}`;
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      return {
        versions,
        complete: false,
        pages,
        error: `${this.repository}: the manifest list stopped (${String(err)})`
      };
    }
    this.byId = new Map(versions.map(v => [v.id, v]));
    return {versions, complete: true, pages};
  }

  async getVersion(id: number): Promise<PackageVersion | undefined> {
    const v = this.byId.get(id);
    if (!v) return undefined;
    const res = await this.json<{manifest?: AcrManifest}>(this.url(`_manifests/${v.digest}`), this.readScope, [404]);
    if (res.status === 404 || !res.body?.manifest) return undefined;
    return {...v, tags: [...(res.body.manifest.tags ?? [])].sort()};
  }

  /**
   * ACR deletes a manifest by digest with its tags, unconditionally: its tags are read right before
   * (the window between that read and the DELETE is ACR's).
   */
  async deleteVersion(id: number, planned?: readonly string[]): Promise<Removal> {
    const v = this.byId.get(id);
    if (!v) return GONE;
    if (this.locked.has(v.digest))
      throw new UserError(`${v.digest} is locked in ACR (deleteEnabled: false); unlock it to let it be deleted.`);
    const judged = await recheck(planned, () => this.getVersion(id));
    if (judged) return judged;
    return removalOf(await this.client.deleteManifest(this.repository, v.digest));
  }

  /** Each tag is read (GET _tags/{tag}) right before its DELETE; one pointing elsewhere by then is left alone. */
  async untag(id: number, tags: string[]): Promise<UntagResult> {
    const v = this.byId.get(id);
    const result: UntagResult = {removed: [], moved: []};
    for (const tag of tags) {
      const now = await this.json<{tag?: {digest?: string}}>(
        this.url(`_tags/${encodeURIComponent(tag)}`),
        this.readScope,
        [404]
      );
      if (!v || now.body?.tag?.digest !== v.digest) {
        result.moved.push(tag);
        continue;
      }
      const res = await this.client.request({
        method: 'DELETE',
        repository: this.repository,
        path: this.url(`_tags/${encodeURIComponent(tag)}`),
        scopes: [`repository:${this.repository}:delete`],
        ok: [404]
      });
      await res.body?.cancel();
      result.removed.push(tag);
    }
    return result;
  }

  async deleteThrowaway(): Promise<void> {
    // Tags are removed through the API: no throwaway manifest is ever pushed.
  }
}
