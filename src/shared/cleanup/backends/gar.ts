import {UserError, errorMessage} from '../../errors.js';
import {RegistryClient} from '../../registry/client.js';
import {sleep} from '../../registry/retry.js';
import {CleanupBackend} from '../oci-backend.js';
import {PackageVersion} from '../model.js';
import {DELETED, GONE, Removal, UntagResult, kept} from '../removal.js';
import {restCall} from './rest.js';

export const GAR_API = 'https://artifactregistry.googleapis.com';

interface DockerImage {
  uri: string;
  tags?: string[];
  uploadTime?: string;
}

interface Operation {
  name?: string;
  done?: boolean;
  error?: {message?: string};
}

/**
 * Artifact Registry through its REST API (artifactregistry.googleapis.com/v1), with the registry's
 * login (the Workload Identity access token): `dockerImages` lists every manifest of the repository,
 * tagged or not, with its tags and upload time; a version is deleted with `DELETE …/versions/{digest}`
 * (force: its tags go with it), a tag alone with `DELETE …/tags/{tag}`. Packages are
 * `project/repository/image` under `{location}-docker.pkg.dev`.
 */
export class GarBackend implements CleanupBackend {
  readonly versionsAreManifests = true;
  private byId = new Map<number, PackageVersion>();
  private readonly parent: string;
  private readonly pkg: string;
  private readonly image: string;

  constructor(
    private readonly client: RegistryClient,
    readonly repository: string,
    private readonly api = GAR_API,
    location?: string
  ) {
    const [project, repo, ...rest] = repository.split('/');
    const where = location ?? client.registry.match(/^([a-z0-9-]+)-docker\.pkg\.dev$/)?.[1];
    if (!project || !repo || !rest.length)
      throw new UserError(`packages: ${repository} is not project/repository/image, as Artifact Registry names them.`);
    if (!where)
      throw new UserError(
        `${client.registry}: no Artifact Registry location; use the <location>-docker.pkg.dev host or add location=… to its login line.`
      );
    this.parent = `projects/${project}/locations/${where}/repositories/${repo}`;
    this.image = rest.join('/');
    this.pkg = encodeURIComponent(this.image);
  }

  get name(): string {
    return this.repository;
  }

  private async call(method: string, path: string, ok: number[] = []): Promise<Response> {
    const cred = await this.client.opts.credential();
    const token = cred.kind === 'basic' ? cred.password : cred.kind === 'bearer' ? cred.token : undefined;
    return restCall(
      `${this.api.replace(/\/+$/, '')}/v1/${path}`,
      {method, headers: token ? {authorization: `Bearer ${token}`} : {}},
      {what: `Artifact Registry ${this.repository}`, ok}
    );
  }

  async listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}> {
    const versions: PackageVersion[] = [];
    const prefix = `${this.client.registry}/${this.repository}@`;
    let pages = 0;
    let token: string | undefined = '';
    try {
      do {
        const q = new URLSearchParams({pageSize: '1000', ...(token ? {pageToken: token} : {})});
        const res = await this.call('GET', `${this.parent}/dockerImages?${q}`);
        pages++;
        const body = (await res.json()) as {dockerImages?: DockerImage[]; nextPageToken?: string};
        for (const d of body.dockerImages ?? []) {
          // The listing covers the whole repository: only this image's manifests.
          if (!d.uri.startsWith(prefix)) continue;
          versions.push({
            id: versions.length + 1,
            digest: d.uri.slice(prefix.length),
            tags: [...(d.tags ?? [])].sort(),
            createdAt: d.uploadTime ?? new Date(0).toISOString()
          });
        }
        token = body.nextPageToken || undefined;
      } while (token);
    } catch (err) {
      if (pages === 0) throw err;
      return {
        versions,
        complete: false,
        pages,
        error: `${this.repository}: the image list stopped (${errorMessage(err)})`
      };
    }
    this.byId = new Map(versions.map(v => [v.id, v]));
    return {versions, complete: true, pages};
  }

  async getVersion(id: number): Promise<PackageVersion | undefined> {
    const v = this.byId.get(id);
    if (!v) return undefined;
    const res = await this.call('GET', `${this.parent}/packages/${this.pkg}/versions/${v.digest}?view=FULL`, [404]);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const version = (await res.json()) as {relatedTags?: Array<{name?: string}>};
    return {...v, tags: (version.relatedTags ?? []).map(t => (t.name ?? '').split('/').pop() as string).sort()};
  }

  /** Waits for a long-running operation (deletions are one) to finish. */
  private async finish(op: Operation): Promise<void> {
    for (let i = 0; !op.done && op.name && i < 60; i++) {
      await sleep(Math.min(500 * 2 ** i, 5000));
      op = (await (await this.call('GET', op.name)).json()) as Operation;
    }
    if (op.error) throw new UserError(`Artifact Registry: ${op.error.message ?? 'the operation failed'}`);
  }

  /**
   * The planned tags are removed one by one, each read right before its DELETE (one pointing elsewhere by
   * then is left alone; the window between that read and the DELETE is Artifact Registry's), then the
   * version without force: Artifact Registry itself refuses a version tagged meanwhile.
   */
  async deleteVersion(id: number, planned?: readonly string[]): Promise<Removal> {
    const v = this.byId.get(id);
    if (!v) return GONE;
    if (planned?.length) await this.untag(id, [...planned]);
    const res = await this.call(
      'DELETE',
      `${this.parent}/packages/${this.pkg}/versions/${v.digest}?force=${planned ? 'false' : 'true'}`,
      [400, 404, 412]
    );
    if (res.status === 404) {
      await res.body?.cancel();
      return GONE;
    }
    if (res.status === 400 || res.status === 412) {
      const why = await res.text();
      const now = await this.getVersion(id);
      if (!now) return GONE;
      if (now.tags.length) return kept(`tagged ${now.tags.join(', ')} since planning (Artifact Registry kept it)`);
      throw new UserError(`Artifact Registry refused to delete ${v.digest}: ${why}`);
    }
    await this.finish((await res.json()) as Operation);
    return DELETED;
  }

  async untag(id: number, tags: string[]): Promise<UntagResult> {
    const v = this.byId.get(id);
    const result: UntagResult = {removed: [], moved: []};
    for (const tag of tags) {
      const path = `${this.parent}/packages/${this.pkg}/tags/${encodeURIComponent(tag)}`;
      const now = await this.call('GET', path, [404]);
      let at: string | undefined;
      if (now.status === 404) await now.body?.cancel();
      else at = ((await now.json()) as {version?: string}).version;
      if (!v || !at?.endsWith(`/versions/${v.digest}`)) {
        result.moved.push(tag);
        continue;
      }
      const res = await this.call('DELETE', path, [404]);
      await res.body?.cancel();
      result.removed.push(tag);
    }
    return result;
  }

  async deleteThrowaway(): Promise<void> {
    // Tags are removed through the API: no throwaway manifest is ever pushed.
  }
}
