import {UserError, errorMessage} from '../errors.js';
import {globToRegExp} from '../glob.js';
import {PackageVersion} from './model.js';
import {CleanupBackend} from './oci-backend.js';
import {DELETED, GONE, Removal, recheck} from './removal.js';
import {GitHubClient, isRateLimited, statusOf} from '../github/client.js';

export type OwnerKind = 'users' | 'orgs';

/** Whether the owner is an organisation or a user (one call). */
export async function ownerKind(octokit: GitHubClient, owner: string): Promise<OwnerKind> {
  try {
    const {data} = await octokit.request('GET /users/{username}', {username: owner});
    return data.type === 'Organization' ? 'orgs' : 'users';
  } catch (err) {
    if (statusOf(err) === 404)
      throw new UserError(`owner: ${owner} is neither a user nor an organisation on this GitHub.`);
    throw err;
  }
}

interface RawVersion {
  id: number;
  name: string;
  created_at: string;
  metadata?: {container?: {tags?: string[]}};
}

const toVersion = (v: RawVersion): PackageVersion => ({
  id: v.id,
  digest: v.name,
  tags: v.metadata?.container?.tags ?? [],
  createdAt: v.created_at
});

/** Why a Packages API call failed, in words the user can act on. */
export function packageError(pkg: string, err: unknown): string {
  const status = statusOf(err);
  if (status === 403 || status === 401) {
    return `${pkg}: the token may not manage this package (HTTP ${status}). With GITHUB_TOKEN: set permissions: packages: write and give this repository admin access in the package's settings (Manage Actions access). With a classic token: it needs read:packages and delete:packages.`;
  }
  if (status === 404)
    return `${pkg}: package not found (HTTP 404); check owner and packages (names are case-sensitive and may include a path).`;
  return `${pkg}: ${errorMessage(err)}`;
}

/** One GHCR container package through the Packages REST API. */
export class GhcrPackage implements CleanupBackend {
  constructor(
    private readonly octokit: GitHubClient,
    private readonly kind: OwnerKind,
    readonly owner: string,
    readonly name: string
  ) {}

  get repository(): string {
    return `${this.owner}/${this.name}`.toLowerCase();
  }

  /** The throwaway manifest's version appears in the listing shortly after the push: find it, delete it. */
  async deleteThrowaway(digest: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const found = (await this.newest()).find(v => v.digest === digest);
      if (found) {
        await this.deleteVersion(found.id);
        return;
      }
      await new Promise(r => setTimeout(r, 1000 * (attempt + 1)));
    }
    throw new UserError(`the package version of the throwaway manifest ${digest} did not appear; delete it by hand.`);
  }

  private get base(): string {
    return `/${this.kind}/{owner}/packages/container/{name}/versions`;
  }
  private params(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {owner: this.owner, name: this.name, ...extra};
  }

  /** Every active version, 100 a page; `complete` is false when a page could not be read. */
  async listVersions(): Promise<{versions: PackageVersion[]; complete: boolean; pages: number; error?: string}> {
    const versions: PackageVersion[] = [];
    let pages = 0;
    try {
      for await (const page of this.octokit.paginate.iterator(
        `GET ${this.base}`,
        this.params({per_page: 100, state: 'active'})
      )) {
        pages++;
        // The page size GitHub actually served (it may cap per_page), for reading one page later.
        if (pages === 1 && page.data.length) this.pageSize = page.data.length;
        for (const v of page.data as RawVersion[]) versions.push(toVersion(v));
      }
    } catch (err) {
      if (pages === 0) throw new UserError(packageError(this.name, err));
      return {versions, complete: false, pages, error: packageError(this.name, err)};
    }
    return {versions, complete: true, pages};
  }

  /** The version as it is now; undefined when it is gone. */
  async getVersion(id: number): Promise<PackageVersion | undefined> {
    try {
      const {data} = await this.octokit.request(`GET ${this.base}/{id}`, this.params({id}));
      return toVersion(data as RawVersion);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Deletes a version: with `planned`, only when read right before it carries no other tag (GitHub
   * deletes a version unconditionally: the window between that read and the DELETE is GitHub's).
   * GitHub's 400 refusals are explained.
   */
  async deleteVersion(id: number, planned?: readonly string[]): Promise<Removal> {
    const judged = await recheck(planned, () => this.getVersion(id));
    if (judged) return judged;
    try {
      await this.octokit.request(`DELETE ${this.base}/{id}`, this.params({id}));
      return DELETED;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return GONE;
      // The run decides what a rate limit means (a clean stop); the error keeps its answer.
      if (isRateLimited(err)) throw err;
      if (status === 400) {
        throw new UserError(
          `GitHub refused (HTTP 400: ${errorMessage(err)}): it keeps the last tagged version of a package and public versions with more than 5,000 downloads; delete the whole package in its settings if that is meant.`
        );
      }
      throw new UserError(packageError(this.name, err));
    }
  }

  /** The newest versions (first page), to find one just created (the untag throwaway). */
  newest(): Promise<PackageVersion[]> {
    return this.listPage(1);
  }

  /** Versions a page: 100 asked for, what the first page of the listing held when that was less. */
  pageSize = 100;

  /** One page of the active versions, as listVersions pages them (recheck wave reads a wave's pages). */
  async listPage(page: number): Promise<PackageVersion[]> {
    const {data} = await this.octokit.request(
      `GET ${this.base}`,
      this.params({per_page: this.pageSize, page, state: 'active'})
    );
    return (data as RawVersion[]).map(toVersion);
  }
}

/** Package names of an owner matching the patterns (wildcards need listing: a classic token). */
export async function matchPackages(
  octokit: GitHubClient,
  kind: OwnerKind,
  owner: string,
  patterns: string[]
): Promise<string[]> {
  const literal = patterns.filter(p => !/[*?]/.test(p));
  const globs = patterns.filter(p => /[*?]/.test(p));
  if (globs.length === 0) return literal;
  let names: string[];
  try {
    const all = await octokit.paginate(`GET /${kind}/{owner}/packages`, {
      owner,
      package_type: 'container',
      per_page: 100
    });
    names = (all as Array<{name: string}>).map(p => p.name);
  } catch (err) {
    throw new UserError(
      `packages: listing ${owner}'s packages to match ${globs.join(', ')} failed (${errorMessage(err)}). GITHUB_TOKEN cannot list packages: give a classic token with read:packages (and delete:packages) as token, or name the packages without wildcards.`
    );
  }
  const res = globs.map(globToRegExp);
  return [...new Set([...literal, ...names.filter(n => res.some(r => r.test(n)))])];
}

export interface RepositoryState {
  openPullRequests: Set<number>;
  /** Existing branches, as tags name them (characters a tag cannot hold become -). */
  branches: Set<string>;
  /** Head branches (as tags) of closed pull requests opened from this repository, with the newest number. */
  closedBranches: Map<string, number>;
}

const asTag = (branch: string): string => branch.replace(/[^a-zA-Z0-9._-]+/g, '-');

interface PullSummary {
  number: number;
  state: string;
  head: {ref: string; repo: {full_name: string} | null};
}

/**
 * Pull requests (open and closed) and branches of a repository, for ephemeral: the evidence that a
 * tag's pull request is closed or its branch deleted. A fork's head branch says nothing about this
 * repository's branches, so only heads in the repository itself count.
 */
export async function repositoryState(octokit: GitHubClient, repository: string): Promise<RepositoryState> {
  const [owner, repo] = repository.split('/');
  const pulls = (await octokit.paginate('GET /repos/{owner}/{repo}/pulls', {
    owner,
    repo,
    state: 'all',
    per_page: 100
  })) as PullSummary[];
  const branches = (await octokit.paginate('GET /repos/{owner}/{repo}/branches', {
    owner,
    repo,
    per_page: 100
  })) as Array<{
    name: string;
  }>;
  const closedBranches = new Map<string, number>();
  for (const p of pulls) {
    if (p.state !== 'closed' || p.head.repo?.full_name.toLowerCase() !== repository.toLowerCase()) continue;
    const b = asTag(p.head.ref);
    closedBranches.set(b, Math.max(closedBranches.get(b) ?? 0, p.number));
  }
  return {
    openPullRequests: new Set(pulls.filter(p => p.state === 'open').map(p => p.number)),
    branches: new Set(branches.map(b => asTag(b.name))),
    closedBranches
  };
}
