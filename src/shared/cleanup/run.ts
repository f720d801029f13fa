import crypto from 'node:crypto';
import {UserError, errorMessage} from '../errors.js';
import {Logger} from '../log.js';
import {Clients} from '../registry/clients.js';
import {RegistryClient} from '../registry/client.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {sha256} from '../registry/digest.js';
import {mapLimit} from '../registry/limit.js';
import {MEDIA} from '../registry/media.js';
import {DEFAULT_RETRY} from '../registry/retry.js';
import {ApiStats, GitHubClient, githubClient, isRateLimited} from '../github/client.js';
import {
  GhcrPackage,
  OwnerKind,
  matchPackages,
  ownerKind,
  packageError,
  RepositoryState,
  repositoryState
} from './github.js';
import {FactsCache, ReadStats, readManifests} from './manifests.js';
import {ManifestStore} from './manifest-store.js';
import {CleanupBackend} from './oci-backend.js';
import {BackendName, cannotHonour, vendorBackend} from './backends/index.js';
import {Decision, ManifestState, PackageVersion, Plan} from './model.js';
import {planCleanup} from './plan.js';
import {Removal, UntagResult, judgeFresh, movedReason} from './removal.js';
import {PagedListing, Recheck, RemovedPositions, WAVE_SIZE, readWave, tagReadsHint} from './wave-read.js';
import {StopRequest, apiBudget} from './stop.js';
import {Shard, inShard, shardNote} from '../shard.js';
import {Policy} from './policy.js';
import {PreviewComparison, comparePreview} from './ecr.js';
import {CleanupInputs} from './inputs.js';
import {openManifestStore, storeScope} from './manifest-store.js';

export interface CleanupOptions {
  owner: string;
  packages: string[];
  token: string;
  /** ghcr: GitHub's Packages API; oci: any registry's OCI API (tags, manifests, DELETE); the others: the registry's own API. */
  backend: BackendName;
  /** The vendor API's base URL where it is not the registry's host (Artifact Registry, Docker Hub). */
  vendorApiUrl?: string;
  /** Registry logins (every backend but ghcr: the registry and, on its host, its API). */
  logins?: Map<string, RegistryLogin>;
  /** GitHub REST API base (GitHub Enterprise Server: https://HOST/api/v3). */
  apiUrl: string;
  /** The container registry host (ghcr.io, or containers.HOST on GHES). */
  registry: string;
  /** Username for the registry token exchange (any non-empty name works with a token). */
  username: string;
  policy: Policy;
  dryRun: boolean;
  /** owner/repo whose pull requests and branches decide ephemeral images. */
  repository?: string;
  deletesPerMinute: number;
  concurrency: number;
  /** Walk every kept tag after a real run. */
  verify: boolean;
  /** How a deletion is checked against what changed since planning (each: a read per deletion; wave: per wave). */
  recheck: Recheck;
  now: number;
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  /** Manifests kept from earlier runs: only versions not seen before are read from the registry. */
  store?: ManifestStore;
  /** Also run the registry's own lifecycle preview (ECR) and report where it and the plan differ. */
  ecrPreview?: boolean;
  /** A stop asked for (a cancelled job): the image in flight is finished, no new one is started. */
  stop?: StopRequest;
  /** Start no new image when the GitHub API reports fewer requests left than this (rate-limit-floor). */
  floor?: number;
  /** This job's part of the packages (shard: k/n in a matrix). */
  shard?: Shard;
}

export interface VersionReport {
  id: number;
  digest: string;
  tags: string[];
  reason: string;
}

export interface PackageReport {
  package: string;
  deleted: VersionReport[];
  untagged: Array<VersionReport & {removed: string[]}>;
  kept: VersionReport[];
  /** Already gone when deleted (404): another run, or a person. */
  alreadyGone: number;
  /** Versions not deleted because they changed since planning or a parent could not be deleted. */
  skipped: VersionReport[];
  failed: Array<VersionReport & {error: string}>;
  bytesReclaimed: number;
  blocked?: string;
  error?: string;
  /** Kept tags that no longer resolve completely after the run. */
  broken: string[];
  /** Planned deletions and untags not started because the run was asked to stop. */
  left: VersionReport[];
  warnings: string[];
  pages: number;
  manifestRequests: number;
  /** Manifests taken from the store instead of the registry. */
  manifestsStored: number;
  /** With ecr-lifecycle-preview: where ECR's own evaluation and the plan differ. */
  ecrPreview?: PreviewComparison;
}

export interface CleanupResult {
  /** incomplete: the run was asked to stop (see each package's left); the next run continues. */
  outcome: 'complete' | 'incomplete';
  /** Why it stopped early, when it did. */
  stopped?: string;
  /** A signal (a cancelled job) or the budget (rate-limit floor). */
  stoppedBy?: 'signal' | 'budget';
  /** With shard: which part this run did ("shard 2/4: 3 of 10 package(s)"). */
  shard?: string;
  packages: PackageReport[];
  api: ApiStats;
  registryRequests: number;
  failed: string[];
}

const report = (d: Decision): VersionReport => ({id: d.id, digest: d.digest, tags: d.tags, reason: d.reason});

/**
 * Removes tags from an image without deleting it, where the registry cannot remove a tag alone: a
 * throwaway manifest takes the tags, then it is deleted. Each tag is read first: one that no longer
 * points at the image is left alone (moved).
 */
async function untag(
  client: RegistryClient,
  backend: CleanupBackend,
  digest: string,
  tags: string[],
  log: Logger
): Promise<UntagResult> {
  const repository = backend.repository;
  const now = await mapLimit(tags, 4, async t => ({t, at: (await client.headManifest(repository, t))?.digest}));
  const removed = now.filter(x => x.at === digest).map(x => x.t);
  const moved = now.filter(x => x.at !== digest).map(x => x.t);
  if (!removed.length) return {removed, moved};
  const empty = Buffer.from('{}');
  const emptyDigest = sha256(empty);
  if ((await client.headBlob(repository, emptyDigest)) === undefined) {
    const location = await client.startUpload(repository);
    await client.putUpload(repository, location, emptyDigest, empty.length, empty);
  }
  const descriptor = {mediaType: MEDIA.ociEmpty, digest: emptyDigest, size: empty.length};
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      artifactType: 'application/vnd.registry-actions.untag.v1',
      config: descriptor,
      layers: [descriptor],
      annotations: {'dev.registry-actions.untag': crypto.randomUUID()}
    })
  );
  const throwaway = sha256(body);
  for (const tag of removed) await client.putManifest(repository, tag, body, MEDIA.ociManifest);
  try {
    await backend.deleteThrowaway(throwaway);
  } catch (err) {
    throw new UserError(`${removed.join(', ')} now point at the throwaway manifest ${throwaway}: ${errorMessage(err)}`);
  }
  log.debug(`untagged ${removed.join(', ')} through throwaway manifest ${throwaway}`);
  return {removed, moved};
}

/** Walks a reference (a tag, or a digest) completely: index, platforms, blobs by HEAD; what is broken, or undefined. */
async function walkTag(
  client: RegistryClient,
  repository: string,
  tag: string,
  seenBlobs: Set<string>
): Promise<string | undefined> {
  const root = await client.getManifest(repository, tag);
  // A digest another client deleted meanwhile is not broken; a tag that no longer resolves is.
  if (!root) return tag.startsWith('sha256:') ? undefined : `${tag} no longer resolves`;
  const queue = [root];
  while (queue.length) {
    const m = queue.shift() as NonNullable<typeof root>;
    const raw = JSON.parse(m.body.toString('utf8')) as {
      manifests?: Array<{digest: string}>;
      config?: {digest: string};
      layers?: Array<{digest: string}>;
    };
    for (const c of raw.manifests ?? []) {
      const child = await client.getManifest(repository, c.digest);
      if (!child) return `${tag}: manifest ${c.digest} of its index is missing`;
      queue.push(child);
    }
    for (const b of [...(raw.config ? [raw.config] : []), ...(raw.layers ?? [])]) {
      if (seenBlobs.has(b.digest)) continue;
      if ((await client.headBlob(repository, b.digest)) === undefined) return `${tag}: blob ${b.digest} is missing`;
      seenBlobs.add(b.digest);
    }
  }
  return undefined;
}

export interface PackageContext {
  opts: CleanupOptions;
  clients: Clients;
  cache: FactsCache;
  state?: RepositoryState;
}

const emptyReport = (name: string): PackageReport => ({
  package: name,
  deleted: [],
  untagged: [],
  kept: [],
  alreadyGone: 0,
  skipped: [],
  failed: [],
  bytesReclaimed: 0,
  broken: [],
  left: [],
  warnings: [],
  pages: 0,
  manifestRequests: 0,
  manifestsStored: 0
});

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * Deletes the plan's versions in waves: consecutive versions of the order none of which depends on
 * another in the same wave (the images, then what they list, …), a wave in few calls where the backend
 * deletes many at once. A version whose parent or subject was not deleted is skipped; asked to stop,
 * only what an image deleted in this run still lists is finished. Fills the report; returns the ids
 * not deleted.
 */
async function deleteInWaves(
  pkg: CleanupBackend,
  plan: Plan,
  manifests: Map<string, ManifestState>,
  listed: readonly PackageVersion[],
  opts: CleanupOptions,
  rep: PackageReport
): Promise<Set<number>> {
  // With recheck each, the backend deletes only what carries no tag outside the plan, read right
  // before the write (a release or another run may have tagged it meanwhile); with recheck wave, the
  // wave is read before it (GHCR: the listing pages holding it; the OCI API: its tags, once) and the
  // wave's deletes are unconditional. (A backend that has neither checks each deletion.)
  const byWave = opts.recheck === 'wave' && (!!pkg.listPage || !!pkg.readMany);
  const eachChecked = opts.recheck === 'each' || (opts.recheck === 'wave' && !byWave);
  const planned = (d: Decision): readonly string[] | undefined => (eachChecked ? d.tags : undefined);
  const positions = new Map(listed.map((v, i) => [v.id, i]));
  const removed = new RemovedPositions();
  const notDeleted = new Set<number>();
  const stop = opts.stop;
  const byId = new Map(plan.decisions.map(d => [d.id, d]));
  const deletedIds = new Set<number>();
  const record = (d: Decision, res: Removal | Error): void => {
    // The rate limit ran out under this deletion (a budget stop, not waited out): left for the next run.
    if (res instanceof Error && stop?.kind === 'budget' && isRateLimited(res)) {
      notDeleted.add(d.id);
      rep.left.push({...report(d), reason: `not deleted: ${stop.reason} asked to stop`});
    } else if (res instanceof Error) {
      notDeleted.add(d.id);
      rep.failed.push({...report(d), error: errorMessage(res)});
    } else if (res.outcome === 'gone') rep.alreadyGone++;
    else if (res.outcome === 'kept') {
      notDeleted.add(d.id);
      rep.skipped.push({...report(d), reason: `not deleted: ${res.reason}`});
    } else {
      rep.deleted.push(report(d));
      deletedIds.add(d.id);
    }
    if (!(res instanceof Error) && res.outcome !== 'kept') removed.add(positions.get(d.id) ?? 0);
  };
  // Waves: consecutive versions of the order none of which depends on another in the same wave (all
  // the images, then what they list, …); a backend that deletes many at once takes a wave in few calls.
  const size = pkg.deleteBatch ? Math.max(1, pkg.batchSize ?? 100) : byWave ? WAVE_SIZE : 1;
  const order = plan.deleteOrder;
  // What finishing costs, for a budget: each version below a deleted one must still go (a read and a
  // delete with recheck each; a delete and the wave's few pages with recheck wave), and starting an
  // image commits to it and everything below it.
  const perDeletion = eachChecked ? 2 : 1;
  const perWave = byWave ? 3 : 0;
  const below = new Map<number, number[]>();
  for (const [id, ups] of Object.entries(plan.dependsOn))
    for (const up of ups) {
      const list = below.get(up) ?? [];
      list.push(Number(id));
      below.set(up, list);
    }
  const subtree = (id: number, seen = new Set<number>()): number => {
    for (const c of below.get(id) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      subtree(c, seen);
    }
    return seen.size + 1;
  };
  let committed = 0;
  for (let i = 0; i < order.length;) {
    const wave: Decision[] = [];
    const inWave = new Set<number>();
    for (; i < order.length && wave.length < size; i++) {
      const id = order[i];
      if ((plan.dependsOn[id] ?? []).some(p => inWave.has(p))) break;
      const d = byId.get(id) as Decision;
      // Asked to stop: what an image deleted in this run still lists is finished (no index is left
      // without its platforms); nothing else is started.
      const started = (plan.dependsOn[id] ?? []).some(p => deletedIds.has(p));
      if (started) committed = Math.max(0, committed - 1);
      if (!started && stop?.before(() => (committed + subtree(id)) * perDeletion + perWave)) {
        notDeleted.add(id);
        rep.left.push({...report(d), reason: `not deleted: ${stop.reason} asked to stop`});
        continue;
      }
      const blockedBy = (plan.dependsOn[id] ?? []).find(p => notDeleted.has(p));
      if (blockedBy !== undefined) {
        notDeleted.add(id);
        rep.skipped.push({...report(d), reason: `not deleted: version ${blockedBy} above it was not deleted`});
        continue;
      }
      // Where a version is the manifest itself (every backend but GHCR's package records), one the
      // registry no longer has (a platform a partial index still names) is already gone.
      if (pkg.versionsAreManifests && manifests.get(d.digest) === 'missing') {
        rep.alreadyGone++;
        continue;
      }
      if (!started) committed += subtree(id) - 1;
      wave.push(d);
      inWave.add(id);
    }
    if (byWave && wave.length) {
      const judged = await judgeWave(pkg, wave, positions, removed);
      for (const [d, res] of judged) record(d, res);
      wave.splice(0, wave.length, ...wave.filter(d => !judged.has(d)));
    }
    if (pkg.deleteBatch && wave.length > 1) {
      const results = await pkg
        .deleteBatch(wave.map(d => ({id: d.id, planned: planned(d)})))
        .catch((err: unknown) => wave.map(() => asError(err)));
      wave.forEach((d, k) => record(d, results[k]));
    } else for (const d of wave) record(d, await pkg.deleteVersion(d.id, planned(d)).catch(asError));
  }
  return notDeleted;
}

/**
 * Reads a wave's versions as they are now (recheck wave: GHCR's listing pages holding it, or the
 * backend's one read for many) and judges each: those that may not go (tagged since planning, gone)
 * or whose read failed, with their outcome; the rest may be deleted unconditionally.
 */
async function judgeWave(
  pkg: CleanupBackend,
  wave: readonly Decision[],
  positions: Map<number, number>,
  removed: RemovedPositions
): Promise<Map<Decision, Removal | Error>> {
  const out = new Map<Decision, Removal | Error>();
  const ids = wave.map(d => d.id);
  try {
    const now = pkg.readMany
      ? await pkg.readMany(ids)
      : (
          await readWave(
            pkg as CleanupBackend & PagedListing,
            ids,
            id => positions.get(id) ?? 0,
            removed,
            id => pkg.getVersion(id)
          )
        ).now;
    for (const d of wave) {
      const judged = judgeFresh(now.get(d.id), d.tags);
      if (judged) out.set(d, judged);
    }
  } catch (err) {
    for (const d of wave) out.set(d, asError(err));
  }
  return out;
}

/** A package read and planned: its listing, its manifests' facts and the plan (none when it could not be listed). */
export interface PlannedPackage {
  rep: PackageReport;
  listing?: Awaited<ReturnType<CleanupBackend['listVersions']>>;
  manifests: Map<string, ManifestState>;
  plan?: Plan;
}

/** Lists a package, reads its manifests (the store first) and plans the policy over them. Nothing is changed. */
export async function planPackage(pkg: CleanupBackend, ctx: PackageContext): Promise<PlannedPackage> {
  const {opts} = ctx;
  const rep = emptyReport(pkg.name);
  const client = ctx.clients.get(opts.registry);
  let listing: Awaited<ReturnType<CleanupBackend['listVersions']>>;
  try {
    listing = await pkg.listVersions();
  } catch (err) {
    rep.error = errorMessage(err);
    return {rep, manifests: new Map()};
  }
  rep.pages = listing.pages;
  if (listing.error) rep.warnings.push(listing.error);
  const stats: ReadStats = {manifestRequests: 0, stored: 0};
  const manifests = await readManifests(
    client,
    pkg.repository,
    listing.versions,
    ctx.cache,
    opts.concurrency,
    stats,
    opts.store
  );
  rep.manifestRequests = stats.manifestRequests;
  rep.manifestsStored = stats.stored;
  const plan: Plan = planCleanup({
    versions: listing.versions,
    manifests,
    policy: opts.policy,
    now: opts.now,
    complete: listing.complete,
    openPullRequests: ctx.state?.openPullRequests,
    branches: ctx.state?.branches,
    closedBranches: ctx.state?.closedBranches
  });
  rep.blocked = plan.blocked;
  rep.warnings.push(...plan.warnings);
  return {rep, listing, manifests, plan};
}

async function cleanPackage(pkg: CleanupBackend, ctx: PackageContext): Promise<PackageReport> {
  const {opts} = ctx;
  const planned = await planPackage(pkg, ctx);
  const {rep, manifests} = planned;
  if (!planned.plan) return rep;
  const plan = planned.plan;
  const repository = pkg.repository;
  const client = ctx.clients.get(opts.registry);
  const byId = new Map(plan.decisions.map(d => [d.id, d]));
  for (const d of plan.decisions) {
    if (d.action === 'keep') rep.kept.push(report(d));
    else if (d.action === 'untag') rep.untagged.push({...report(d), removed: d.untag ?? []});
  }
  if (opts.ecrPreview && pkg.lifecyclePreview && !plan.blocked) {
    const preview = await pkg.lifecyclePreview(opts.policy.ecrText);
    if (!preview)
      rep.warnings.push('ecr-lifecycle-preview: the repository has no lifecycle policy, and policy gives none');
    else {
      rep.ecrPreview = comparePreview(preview, plan.decisions);
      const c = rep.ecrPreview;
      if (c.breaks)
        rep.warnings.push(
          `ECR's lifecycle policy (${c.source}) would expire ${c.breaks} manifest(s) that images this plan keeps need (platforms, attestations, signatures): pulling those images would fail. This plan keeps them.`
        );
    }
  }
  // What recheck true's tag reads will cost, said where wave would save most (a dry run says it too).
  if (opts.recheck === 'each' && pkg.readMany) {
    const tags = new Set((planned.listing?.versions ?? []).flatMap(v => v.tags)).size;
    const tagsOf = new Map(plan.decisions.map(d => [d.id, d.tags.length]));
    const removes = plan.deleteOrder.map(id => tagsOf.get(id) ?? 0);
    const hint = tagReadsHint(removes, tags);
    if (hint) opts.log.info(`${pkg.name}: ${hint}`);
  }
  if (opts.dryRun) {
    rep.deleted = plan.deleteOrder.map(id => report(byId.get(id) as Decision));
    rep.bytesReclaimed = plan.bytesReclaimed;
    return rep;
  }

  const stop = opts.stop;
  for (const u of [...rep.untagged]) {
    if (stop?.requested) {
      rep.untagged = rep.untagged.filter(x => x !== u);
      rep.left.push({
        id: u.id,
        digest: u.digest,
        tags: u.removed,
        reason: `not untagged: ${stop.reason} asked to stop`
      });
      continue;
    }
    try {
      const r = pkg.untag ? await pkg.untag(u.id, u.removed) : await untag(client, pkg, u.digest, u.removed, opts.log);
      if (r.moved.length) {
        const why = `${movedReason(r.moved)}: left alone`;
        if (r.removed.length) u.reason = `${u.reason}; ${why}`;
        else {
          rep.untagged = rep.untagged.filter(x => x !== u);
          rep.skipped.push({id: u.id, digest: u.digest, tags: u.removed, reason: `not untagged: ${why}`});
        }
      }
      u.removed = r.removed;
    } catch (err) {
      rep.untagged = rep.untagged.filter(x => x !== u);
      rep.failed.push({...u, error: `untag ${u.removed.join(', ')}: ${errorMessage(err)}`});
    }
  }
  const notDeleted = await deleteInWaves(pkg, plan, manifests, planned.listing?.versions ?? [], opts, rep);
  if (pkg.stillHeld && rep.deleted.length) {
    // A registry that deletes by name only: what was tagged during the run outlived its planned tags.
    const held = await pkg.stillHeld(rep.deleted.map(d => d.digest)).catch((err: unknown) => {
      rep.warnings.push(
        `could not confirm what the deletions left (${errorMessage(err)}): deleted may list images tagged during the run`
      );
      return new Map<string, string[]>();
    });
    for (const d of rep.deleted.filter(x => held.has(x.digest))) {
      notDeleted.add(d.id);
      const tags = held.get(d.digest) ?? [];
      rep.skipped.push({
        ...d,
        reason: `not deleted: ${tags.length ? `still tagged ${tags.join(', ')}` : 'still listed by a tagged image'} (tagged during the run)`
      });
    }
    rep.deleted = rep.deleted.filter(x => !held.has(x.digest));
  }
  rep.bytesReclaimed = notDeleted.size === 0 && rep.failed.length === 0 ? plan.bytesReclaimed : 0;
  if (rep.deleted.length && rep.bytesReclaimed === 0 && plan.bytesReclaimed) {
    rep.warnings.push('bytes reclaimed not reported: some planned deletions did not happen');
  }
  if (opts.verify && (rep.deleted.length || rep.untagged.length)) {
    const seen = new Set<string>();
    // What stays: kept and untagged images by their remaining tags, and planned deletions that did not
    // happen (skipped, failed) by digest: the tags the plan removes with them may be gone, what they list must not.
    const stayed = new Set([...rep.failed, ...rep.skipped].map(d => d.id));
    const tags = [
      ...plan.decisions
        .filter(d => d.action !== 'delete')
        .flatMap(d => d.tags.filter(t => !(d.untag ?? []).includes(t))),
      ...plan.decisions.filter(d => d.action === 'delete' && stayed.has(d.id) && d.role === 'image').map(d => d.digest)
    ];
    // Tags whose index already missed platforms before the run are reported, not blamed on it.
    const before = new Set(
      plan.decisions
        .filter(d => {
          const f = manifests.get(d.digest);
          return typeof f === 'object' && f.children.some(c => manifests.get(c.digest) === 'missing');
        })
        .flatMap(d => [...d.tags, d.digest])
    );
    const problems = await mapLimit(tags, opts.concurrency, async t => ({
      t,
      problem: await walkTag(client, repository, t, seen)
    }));
    for (const {t, problem} of problems) {
      if (!problem) continue;
      if (before.has(t)) rep.warnings.push(`${problem} (already so before this run)`);
      else rep.broken.push(problem);
    }
  }
  return rep;
}

/**
 * What backend oci cannot see, said before the run when the policy asks for it: the OCI API lists tags,
 * not manifests, so a manifest pushed by digest with no tag (and not referenced by a tagged image) is
 * invisible, and untagged-image rules cannot reach it.
 */
export function ociBlindSpots(policy: Policy): string | undefined {
  const rules = [
    policy.deleteUntagged && 'delete-untagged',
    policy.keepNUntagged !== undefined && 'keep-n-untagged',
    policy.deleteOrphans && 'delete-orphans'
  ].filter((r): r is string => Boolean(r));
  if (!rules.length) return undefined;
  return `backend oci: the registry's OCI API lists tags, not manifests, so manifests pushed by digest with no tag (and not referenced by a tagged image) cannot be seen; ${rules.join(', ')} reaches only untagged manifests found through tags (platforms, attestations, referrers). Use the registry's own cleanup (distribution: garbage-collect --delete-untagged) for the rest.`;
}

/** The packages a run covers and how each is reached; nothing read from them yet. */
export interface PackageSet {
  /** This run's packages (its shard's, when sharded). */
  names: string[];
  backendFor: (name: string) => CleanupBackend;
  ctx: PackageContext;
  /** With shard: which part this run does. */
  shard?: string;
  /** GHCR: whether the owner is a user or an organisation (for links to package pages). */
  ownerKind?: OwnerKind;
  /** The GitHub API's use so far (zero when the run needs no GitHub API). */
  apiStats: () => ApiStats;
}

/**
 * Resolves the packages of a run (GHCR's listing for wildcards; the shard's part), the backend of
 * each, the registry clients and, for ephemeral rules, the repository's pull requests and branches.
 * The GitHub API is opened only where it is used, with the rate-limit floor watched.
 */
export async function openPackages(opts: CleanupOptions): Promise<PackageSet> {
  // The GitHub API only where it is used (GHCR, ephemeral evidence); the OCI backend may run without a token.
  let stats: ApiStats = {calls: 0, throttled: 0};
  let client: GitHubClient | undefined;
  const github = (why: string): GitHubClient => {
    if (client) return client;
    if (!opts.token) throw new UserError(`github-token: ${why} needs a GitHub token; give github-token.`);
    ({octokit: client, stats} = githubClient({
      token: opts.token,
      baseUrl: opts.apiUrl,
      userAgent: 'registry-actions/ghcr-cleanup',
      writesPerMinute: opts.deletesPerMinute,
      waitForRateLimit: true,
      // The primary limit is not waited out for up to an hour: the run stops cleanly, the next continues.
      maxPrimaryWait: 60,
      onGiveUp: why => opts.stop?.request(why, 'budget'),
      log: opts.log
    }));
    if (opts.floor) opts.stop?.watch(reserve => apiBudget(stats, opts.floor as number, reserve));
    return client;
  };
  const ghcr = opts.backend === 'ghcr';
  const clients = new Clients(
    {env: opts.env, mask: opts.mask, log: opts.log, retry: DEFAULT_RETRY, concurrency: opts.concurrency},
    ghcr
      ? new Map([[opts.registry, {provider: 'basic', username: opts.username, password: opts.token}]])
      : (opts.logins ?? new Map())
  );
  let backendFor: (name: string) => CleanupBackend;
  let kind: OwnerKind | undefined;
  let names: string[];
  if (!ghcr) {
    const wild = opts.packages.filter(p => /[*?]/.test(p));
    if (wild.length) {
      throw new UserError(
        `packages: wildcards (${wild.join(', ')}) need GHCR's package listing; with backend: ${opts.backend} name the repositories.`
      );
    }
    names = opts.packages;
    // A rule the backend cannot honour fails here, before anything is read or deleted.
    const unable = cannotHonour(opts.backend, opts.policy);
    if (unable) throw new UserError(unable);
    const blind = opts.backend === 'oci' ? ociBlindSpots(opts.policy) : undefined;
    if (blind) opts.log.warning(blind);
    const ctx = {env: opts.env, mask: opts.mask, log: opts.log};
    backendFor = name =>
      vendorBackend(opts.backend, {
        registry: opts.registry,
        repository: name.toLowerCase(),
        login: opts.logins?.get(opts.registry),
        client: clients.get(opts.registry),
        apiUrl: opts.vendorApiUrl,
        ctx,
        concurrency: opts.concurrency,
        store: opts.store
      });
  } else {
    const octokit = github('backend ghcr (the Packages API)');
    kind = await ownerKind(octokit, opts.owner);
    names = await matchPackages(octokit, kind, opts.owner, opts.packages);
    backendFor = name => new GhcrPackage(octokit, kind as OwnerKind, opts.owner, name);
  }
  if (names.length === 0)
    throw new UserError(`packages: nothing matches ${opts.packages.join(', ')} for ${opts.owner}.`);
  const matched = names.length;
  names = inShard(names, n => n.toLowerCase(), opts.shard);
  const shard = opts.shard ? shardNote(opts.shard, names.length, matched, 'package(s)') : undefined;
  if (shard) opts.log.info(shard);
  let state: PackageContext['state'];
  if (opts.policy.ephemeral.pullRequests || opts.policy.ephemeral.branches) {
    if (!opts.repository)
      throw new UserError('ephemeral: needs the repository (owner/name) whose pull requests and branches count.');
    const octokit = github('ephemeral (pull requests and branches)');
    try {
      state = await repositoryState(octokit, opts.repository);
    } catch (err) {
      throw new UserError(
        `ephemeral: could not read ${opts.repository}'s pull requests and branches (${errorMessage(err)}); the token needs contents: read and pull-requests: read.`
      );
    }
  }
  return {
    names,
    backendFor,
    ctx: {opts, clients, cache: new Map(), state},
    ...(shard ? {shard} : {}),
    ...(kind ? {ownerKind: kind} : {}),
    apiStats: () => stats
  };
}

/** Runs the policy over every package: plan, then (unless dry-run) untag, delete in a safe order, verify. */
export async function runCleanup(opts: CleanupOptions): Promise<CleanupResult> {
  const {names, backendFor, ctx, shard, apiStats} = await openPackages(opts);
  const packages = await mapLimit(names, 3, async name => {
    if (opts.stop?.requested)
      return {...emptyReport(name), warnings: [`not started: ${opts.stop.reason} asked to stop`]};
    const pkg = backendFor(name);
    try {
      return await cleanPackage(pkg, ctx);
    } catch (err) {
      return {...emptyReport(name), error: err instanceof UserError ? err.message : packageError(name, err)};
    }
  });
  const failed = packages
    .filter(p => p.error || p.failed.length || p.broken.length)
    .map(
      p =>
        p.error ??
        (p.broken.length
          ? `${p.package}: ${p.broken.join('; ')}`
          : `${p.package}: ${p.failed.map(f => `${f.id} ${f.error}`).join('; ')}`)
    );
  const registryRequests = ctx.clients.get(opts.registry).stats.requests;
  const stopped = opts.stop?.reason;
  return {
    outcome: stopped ? 'incomplete' : 'complete',
    ...(stopped ? {stopped, stoppedBy: opts.stop?.kind} : {}),
    ...(shard ? {shard} : {}),
    packages,
    api: apiStats(),
    registryRequests,
    failed
  };
}

/** A run's outputs: every deleted, untagged and kept version with its package, and the totals. Pure. */
export function cleanupOutputs(res: CleanupResult): {
  deleted: Array<VersionReport & {package: string}>;
  untagged: Array<PackageReport['untagged'][number] & {package: string}>;
  kept: Array<VersionReport & {package: string}>;
  skipped: Array<VersionReport & {package: string}>;
  left: Array<VersionReport & {package: string}>;
  counts: Record<string, number | string | undefined>;
  bytesReclaimed: number;
} {
  const flat = <T>(pick: (p: PackageReport) => T[]): Array<T & {package: string}> =>
    res.packages.flatMap(p => pick(p).map(x => ({package: p.package, ...x})));
  const sum = (f: (p: PackageReport) => number): number => res.packages.reduce((n, p) => n + f(p), 0);
  const bytesReclaimed = sum(p => p.bytesReclaimed);
  return {
    deleted: flat(p => p.deleted),
    untagged: flat(p => p.untagged),
    kept: flat(p => p.kept),
    skipped: flat(p => p.skipped),
    left: flat(p => p.left),
    counts: {
      deleted: sum(p => p.deleted.length),
      untagged: sum(p => p.untagged.length),
      kept: sum(p => p.kept.length),
      alreadyGone: sum(p => p.alreadyGone),
      skipped: sum(p => p.skipped.length),
      failed: sum(p => p.failed.length + (p.error ? 1 : 0)),
      bytesReclaimed,
      apiCalls: res.api.calls,
      apiRemaining: res.api.remaining,
      registryRequests: res.registryRequests
    },
    bytesReclaimed
  };
}

/**
 * The cleanup job, for the action and the command line alike: the manifest store opened (when asked),
 * the policy run over every package on the real clock, the store kept for the next run.
 */
export async function runCleanupJob(
  inputs: CleanupInputs,
  ctx: {env: NodeJS.ProcessEnv; mask: Mask; log: Logger}
): Promise<CleanupResult> {
  const {manifestCache, allowIncomplete: _allowIncomplete, ...opts} = inputs;
  const cached = manifestCache ? await openManifestStore(storeScope(opts, ctx)) : undefined;
  // A cancelled job or a job timeout (SIGINT, SIGTERM): the image in flight is finished, nothing new starts.
  const stop = new StopRequest().listen(signal =>
    ctx.log.warning(
      `${signal}: finishing the image being deleted, starting no other; the next run continues with what is left`
    )
  );
  try {
    const res = await runCleanup({
      ...opts,
      // The real clock: SOURCE_DATE_EPOCH pins build metadata, not the age of what is in the registry.
      now: Date.now(),
      ...ctx,
      store: cached?.store,
      stop
    });
    await cached?.finish(res.packages.every(p => !p.error && !p.blocked));
    return res;
  } finally {
    stop.close();
  }
}
