import {UserError, errorMessage} from '../../errors.js';
import {RegistryClient} from '../../registry/client.js';
import {mapLimit} from '../../registry/limit.js';
import {manifestFacts} from '../manifests.js';
import {ManifestStore} from '../manifest-store.js';
import {CleanupBackend} from '../oci-backend.js';
import {PackageVersion} from '../model.js';
import {DELETED, GONE, Removal, UntagResult, kept, movedReason} from '../removal.js';
import {restCall} from './rest.js';

export const HUB_API = 'https://hub.docker.com';

interface HubTag {
  name: string;
  /** Not in Docker Hub's published description, but sent: the digest the tag points at. */
  digest?: string;
  tag_last_pushed?: string | null;
  last_updated?: string | null;
  /** The description declares one image; the service sends a list (one per platform). Both are read. */
  images?: {digest?: string | null} | Array<{digest?: string | null}> | null;
}

/**
 * Docker Hub through its API (hub.docker.com): tags with the digest they point at and their last push
 * time, a tag deleted with `DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/` (which scripts
 * use; the published description leaves it out). Docker Hub lists and deletes tags only: an image goes
 * when its last tag does, its platform manifests and referrers with it (Hub removes untagged manifests
 * itself), and untagged rules are refused before the run (cannotHonour). Manifests are read by digest
 * (each read is a pull on Hub's limits) and kept in the manifest store between runs.
 */
export class DockerHubBackend implements CleanupBackend {
  readonly versionsAreManifests = true;
  private byId = new Map<number, PackageVersion>();
  private cascade = new Map<string, string[]>();
  private gone = new Set<string>();
  private jwt?: Promise<string>;
  private readonly namespace: string;
  private readonly repo: string;

  constructor(
    private readonly client: RegistryClient,
    readonly repository: string,
    private readonly api = HUB_API,
    private readonly concurrency = 8,
    private readonly store?: ManifestStore
  ) {
    const parts = repository.split('/');
    if (parts.length !== 2)
      throw new UserError(`packages: ${repository} is not namespace/repository, as Docker Hub names them.`);
    [this.namespace, this.repo] = parts;
  }

  get name(): string {
    return this.repository;
  }

  /** A short-lived API token from the login's username and personal access token (POST /v2/auth/token). */
  private token(): Promise<string> {
    this.jwt ??= (async () => {
      const cred = await this.client.opts.credential();
      if (cred.kind !== 'basic' || !cred.username)
        throw new UserError(
          `${this.client.registry}: backend dockerhub needs a login with username= and password-env= naming a personal access token.`
        );
      const res = await restCall(
        `${this.api}/v2/auth/token`,
        {
          method: 'POST',
          headers: {'content-type': 'application/json'},
          body: JSON.stringify({identifier: cred.username, secret: cred.password})
        },
        {what: 'Docker Hub login'}
      );
      const t = ((await res.json()) as {access_token?: string}).access_token;
      if (!t) throw new UserError('Docker Hub login: no access token in the answer.');
      return t;
    })();
    return this.jwt;
  }

  private async call(method: string, url: string, ok: number[] = []): Promise<Response> {
    return restCall(
      url,
      {method, headers: {authorization: `Bearer ${await this.token()}`}},
      {what: `Docker Hub ${this.repository}`, ok}
    );
  }

  /** Every tag with the digest it points at and its last push, page by page. */
  private async listTags(): Promise<{tags: HubTag[]; pages: number}> {
    const tags: HubTag[] = [];
    let pages = 0;
    let next: string | undefined =
      `${this.api}/v2/namespaces/${this.namespace}/repositories/${this.repo}/tags?page=1&page_size=100`;
    while (next) {
      const res = await this.call('GET', next, [404]);
      pages++;
      if (res.status === 404) {
        await res.body?.cancel();
        if (pages === 1) throw new UserError(`${this.repository}: no such Docker Hub repository.`);
        break;
      }
      const body = (await res.json()) as {results?: HubTag[]; next?: string | null};
      tags.push(...(body.results ?? []));
      next = body.next ?? undefined;
    }
    return {tags, pages};
  }

  private static digestOf(t: HubTag): string | undefined {
    if (t.digest) return t.digest;
    const images = Array.isArray(t.images) ? t.images : t.images ? [t.images] : [];
    return images.length === 1 ? (images[0].digest ?? undefined) : undefined;
  }

  /** A manifest by digest: from the store, else read (a pull) and stored. */
  private async manifest(digest: string): Promise<Buffer | undefined> {
    const kept = this.store?.get(digest);
    if (kept) return kept;
    const m = await this.client.getManifest(this.repository, digest).catch(() => undefined);
    if (m) this.store?.put(digest, m.body);
    return m?.body;
  }

  async listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}> {
    let listed: {tags: HubTag[]; pages: number};
    try {
      listed = await this.listTags();
    } catch (err) {
      if (err instanceof UserError && /no such Docker Hub repository/.test(err.message)) throw err;
      return {
        versions: [],
        complete: false,
        pages: 1,
        error: `${this.repository}: the tag list stopped (${errorMessage(err)})`
      };
    }
    const byDigest = new Map<string, PackageVersion>();
    for (const t of listed.tags) {
      const digest = DockerHubBackend.digestOf(t);
      if (!digest) continue;
      const at = t.tag_last_pushed ?? t.last_updated ?? new Date(0).toISOString();
      const v = byDigest.get(digest) ?? {id: byDigest.size + 1, digest, tags: [], createdAt: at};
      v.tags.push(t.name);
      if (at > v.createdAt) v.createdAt = at;
      byDigest.set(digest, v);
    }
    // What an index lists goes with it when Hub removes the index: read each index once to know.
    await mapLimit([...byDigest.values()], this.concurrency, async v => {
      const body = await this.manifest(v.digest);
      if (!body) return;
      const children = manifestFacts(v.digest, body).children.map(c => c.digest);
      this.cascade.set(v.digest, children);
    });
    for (const [parent, children] of this.cascade) {
      const at = byDigest.get(parent)?.createdAt ?? new Date(0).toISOString();
      for (const c of children)
        if (!byDigest.has(c)) byDigest.set(c, {id: byDigest.size + 1, digest: c, tags: [], createdAt: at});
    }
    const versions = [...byDigest.values()];
    for (const v of versions) v.tags.sort();
    this.byId = new Map(versions.map(v => [v.id, v]));
    return {versions, complete: true, pages: listed.pages};
  }

  /** The tags pointing at each digest now: Hub cannot say which tags point at a digest, so the tag list is read afresh. */
  private async tagsNow(): Promise<Map<string, string[]>> {
    const now = new Map<string, string[]>();
    for (const t of (await this.listTags()).tags) {
      const d = DockerHubBackend.digestOf(t);
      if (d) now.set(d, [...(now.get(d) ?? []), t.name].sort());
    }
    return now;
  }

  async getVersion(id: number): Promise<PackageVersion | undefined> {
    const v = this.byId.get(id);
    if (!v) return undefined;
    const tags = (await this.tagsNow()).get(v.digest);
    return tags ? {...v, tags} : undefined;
  }

  /**
   * Removes tags by name, each read (GET …/tags/{tag}) right before its DELETE: one pointing at another
   * image by then is left alone. Hub deletes by name only: the window between that read and the DELETE
   * is Hub's, no client can close it.
   */
  private async removeTags(digest: string, tags: readonly string[]): Promise<UntagResult> {
    const result: UntagResult = {removed: [], moved: []};
    for (const tag of tags) {
      const res = await this.call(
        'GET',
        `${this.api}/v2/namespaces/${this.namespace}/repositories/${this.repo}/tags/${encodeURIComponent(tag)}`,
        [404]
      );
      const now = res.status === 404 ? undefined : ((await res.json()) as HubTag);
      if (res.status === 404) await res.body?.cancel();
      if (!now || DockerHubBackend.digestOf(now) !== digest) {
        result.moved.push(tag);
        continue;
      }
      const del = await this.call(
        'DELETE',
        `${this.api}/v2/repositories/${this.namespace}/${this.repo}/tags/${encodeURIComponent(tag)}/`,
        [404]
      );
      await del.body?.cancel();
      result.removed.push(tag);
    }
    return result;
  }

  /**
   * An image goes when its last tag does (Hub removes the untagged manifest and what only it listed). A
   * tag written on it meanwhile keeps it: `stillHeld` finds that after the run.
   */
  async deleteVersion(id: number, planned?: readonly string[]): Promise<Removal> {
    const v = this.byId.get(id);
    if (!v) return GONE;
    if (!v.tags.length) {
      // Hub removes an untagged manifest itself once the image listing it lost its last tag.
      if (this.gone.has(v.digest)) return DELETED;
      throw new UserError(`${v.digest} has no tag, and Docker Hub's API deletes tags only.`);
    }
    const {removed, moved} = await this.removeTags(v.digest, planned ?? v.tags);
    if (!removed.length) return kept(`${movedReason(moved)}; left for the next run`);
    for (const c of this.cascade.get(v.digest) ?? []) this.gone.add(c);
    return DELETED;
  }

  async untag(id: number, tags: string[]): Promise<UntagResult> {
    const v = this.byId.get(id);
    return v ? this.removeTags(v.digest, tags) : {removed: [], moved: tags};
  }

  /** One fresh tag list: the digests reported deleted that a tag still holds, and the manifests those list. */
  async stillHeld(digests: string[]): Promise<Map<string, string[]>> {
    // A repository whose last tag went may answer 404: then nothing is held.
    const now = await this.tagsNow().catch((err: unknown) => {
      if (err instanceof UserError && /no such Docker Hub repository/.test(err.message))
        return new Map<string, string[]>();
      throw err;
    });
    const held = new Map<string, string[]>();
    for (const d of digests) {
      const tags = now.get(d);
      if (tags) held.set(d, tags);
    }
    for (const [parent, children] of this.cascade)
      if (now.has(parent)) for (const c of children) if (digests.includes(c) && !held.has(c)) held.set(c, []);
    return held;
  }

  async deleteThrowaway(): Promise<void> {
    // Tags are removed through the API: no throwaway manifest is ever pushed.
  }
}
