import {UserError, errorMessage} from '../../errors.js';
import {basicHeader} from '../../registry/auth.js';
import {RegistryClient} from '../../registry/client.js';
import {restCall} from './rest.js';
import {CleanupBackend} from '../oci-backend.js';
import {PackageVersion} from '../model.js';
import {DELETED, GONE, Removal, UntagResult, recheck, kept} from '../removal.js';

interface HarborArtifact {
  digest: string;
  push_time?: string;
  tags?: Array<{name: string}> | null;
  references?: Array<{child_digest: string}> | null;
  accessories?: Array<{digest: string; type?: string; subject_artifact_digest?: string; creation_time?: string}> | null;
}

/**
 * Harbor through its v2.0 API on the registry host, with the registry's login (a robot account):
 * `GET /projects/{project}/repositories/{repository}/artifacts` lists artifacts (tagged or not) with
 * their tags, push time, the platform manifests they reference and their accessories (cosign
 * signatures, SBOMs); an artifact is deleted with `DELETE …/artifacts/{digest}`, which takes its
 * platform manifests and accessories with it, and a tag alone with `DELETE …/artifacts/{digest}/tags/{tag}`.
 */
export class HarborBackend implements CleanupBackend {
  readonly versionsAreManifests = true;
  private byId = new Map<number, PackageVersion>();
  /** Top-level artifacts (deleted through the API); the rest go with them. */
  private topLevel = new Set<string>();
  /** What deleting a top-level artifact also removes (its references and accessories). */
  private cascade = new Map<string, string[]>();
  private deleted = new Set<string>();
  private readonly project: string;
  private readonly repo: string;

  constructor(
    private readonly client: RegistryClient,
    readonly repository: string
  ) {
    const slash = repository.indexOf('/');
    if (slash < 0) throw new UserError(`packages: ${repository} is not project/repository, as Harbor names them.`);
    this.project = repository.slice(0, slash);
    // Harbor takes a repository name with slashes encoded twice (a/b → a%252Fb).
    this.repo = encodeURIComponent(encodeURIComponent(repository.slice(slash + 1)));
  }

  get name(): string {
    return this.repository;
  }

  private api(path: string, query: Record<string, string> = {}): string {
    const q = new URLSearchParams(query).toString();
    return `${this.client.base}/api/v2.0/projects/${encodeURIComponent(this.project)}/repositories/${this.repo}/${path}${q ? `?${q}` : ''}`;
  }

  /** Harbor's API takes the robot account's basic credentials (not the registry's bearer tokens). */
  private async call(method: string, url: string, ok: number[] = []): Promise<Response> {
    const auth = basicHeader(await this.client.opts.credential());
    return restCall(url, {method, headers: auth ? {authorization: auth} : {}}, {what: `Harbor ${this.repository}`, ok});
  }

  async listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}> {
    const byDigest = new Map<string, PackageVersion>();
    const add = (digest: string, tags: string[], createdAt: string, subject?: string): void => {
      if (!byDigest.has(digest))
        byDigest.set(digest, {id: byDigest.size + 1, digest, tags, createdAt, ...(subject ? {subject} : {})});
    };
    let pages = 0;
    let next: string | undefined = this.api('artifacts', {
      page: '1',
      page_size: '100',
      with_tag: 'true',
      with_accessory: 'true'
    });
    let missing = false;
    try {
      while (next) {
        const res = await this.call('GET', next, [404]);
        pages++;
        if (res.status === 404) {
          await res.body?.cancel();
          missing = true;
          break;
        }
        for (const a of (await res.json()) as HarborArtifact[]) {
          const at = a.push_time ?? new Date(0).toISOString();
          this.topLevel.add(a.digest);
          add(a.digest, (a.tags ?? []).map(t => t.name).sort(), at);
          const goes: string[] = [];
          for (const r of a.references ?? []) {
            add(r.child_digest, [], at);
            goes.push(r.child_digest);
          }
          for (const x of a.accessories ?? []) {
            // An accessory (a cosign or Notation signature, an SBOM…) is Harbor's link to its subject,
            // whatever its type: tags are only what Harbor reports (an accessory lists none), the
            // subject is Harbor's, and it goes with its subject (Harbor's accessories are hard references).
            add(x.digest, [], x.creation_time ?? at, x.subject_artifact_digest ?? a.digest);
            goes.push(x.digest);
          }
          this.cascade.set(a.digest, goes);
        }
        const link = res.headers.get('link')?.match(/<([^>]+)>;\s*rel="next"/)?.[1];
        next = link ? new URL(link, this.client.base).toString() : undefined;
      }
    } catch (err) {
      return {
        versions: [...byDigest.values()],
        complete: false,
        pages,
        error: `${this.repository}: the artifact list stopped (${errorMessage(err)})`
      };
    }
    if (missing)
      throw new UserError(`${this.client.registry}/${this.repository}: no such Harbor project or repository.`);
    const versions = [...byDigest.values()];
    this.byId = new Map(versions.map(v => [v.id, v]));
    return {versions, complete: true, pages};
  }

  async getVersion(id: number): Promise<PackageVersion | undefined> {
    const v = this.byId.get(id);
    if (!v) return undefined;
    const res = await this.call('GET', this.api(`artifacts/${v.digest}`, {with_tag: 'true'}), [404]);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const a = (await res.json()) as HarborArtifact;
    return {...v, tags: (a.tags ?? []).map(t => t.name).sort()};
  }

  /**
   * Harbor deletes an artifact with its tags unconditionally: its tags are read right before (the window
   * between that read and the DELETE is Harbor's). Platform manifests and accessories go with it.
   */
  async deleteVersion(id: number, planned?: readonly string[]): Promise<Removal> {
    const v = this.byId.get(id);
    if (!v) return GONE;
    // A platform manifest or accessory goes with the artifact deleted before it (the plan's order), but
    // Harbor keeps a platform manifest that carries a tag or that another artifact lists: read it afresh.
    if (!this.topLevel.has(v.digest)) {
      const now = await this.getVersion(id);
      if (!now) return this.deleted.has(v.digest) ? DELETED : GONE;
      return kept(
        now.tags.length
          ? `tagged ${now.tags.join(', ')} since planning (Harbor keeps a tagged platform manifest)`
          : 'Harbor kept it (another artifact lists it)'
      );
    }
    const judged = await recheck(planned, () => this.getVersion(id));
    if (judged) return judged;
    const res = await this.call('DELETE', this.api(`artifacts/${v.digest}`), [404]);
    await res.body?.cancel();
    if (res.status === 404) return GONE;
    for (const d of this.cascade.get(v.digest) ?? []) this.deleted.add(d);
    return DELETED;
  }

  /** A tag is removed from the artifact by digest: Harbor answers 404 when it no longer is on it (moved). */
  async untag(id: number, tags: string[]): Promise<UntagResult> {
    const v = this.byId.get(id);
    const result: UntagResult = {removed: [], moved: []};
    for (const tag of tags) {
      if (!v) {
        result.moved.push(tag);
        continue;
      }
      const res = await this.call('DELETE', this.api(`artifacts/${v.digest}/tags/${encodeURIComponent(tag)}`), [404]);
      await res.body?.cancel();
      (res.status === 404 ? result.moved : result.removed).push(tag);
    }
    return result;
  }

  async deleteThrowaway(): Promise<void> {
    // Tags are removed through the API: no throwaway manifest is ever pushed.
  }
}
