import {errorMessage} from '../errors.js';
import {CleanupOptions, openPackages, planPackage} from '../cleanup/run.js';
import {packageGraph} from '../cleanup/plan.js';
import {OwnerKind} from '../cleanup/github.js';
import {mapLimit} from '../registry/limit.js';
import {PackageVersion} from '../cleanup/model.js';
import {Policy} from '../policy/policy.js';
import {TagMatcher} from '../tag/matcher.js';
import {CosignGate, cosignGate} from '../sign/gate.js';
import {Logger} from '../log.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {openManifestStore, storeScope} from '../cleanup/manifest-store.js';
import {StopRequest} from '../cleanup/stop.js';
import {AuditInputs} from './inputs.js';
import {ImageCompliance, VULN_PREDICATE, evidenceOf, platformsOf, presenceCompliance, Failure} from './compliance.js';
import {RepositoryInventory, emptyInventory, inventory} from './inventory.js';
import {readScans} from './scans.js';

export interface AuditOptions extends CleanupOptions {
  /** What a served image must carry (the sign action's policy format); none: inventory only. */
  compliance?: Policy;
  /** Served images whose tags match are verified with cosign (newest first, up to maxVerifications). */
  verifyTags?: TagMatcher;
  maxVerifications: number;
  /** cosign, for verification (made by the job, closed by it). */
  gate?: CosignGate;
}

export interface RepositoryAudit extends RepositoryInventory {
  /** The repository's path in the registry (GHCR: owner/package). */
  path: string;
  /** Pages of the registry's listing API read (GHCR's versions, ECR's DescribeImages…; 1 for a tag list). */
  pages: number;
  /** Served (tagged) images against the compliance policy, non-compliant first. */
  served: ImageCompliance[];
  warnings: string[];
  error?: string;
  /** Links to the registry's page of the repository (GHCR, Docker Hub). */
  url?: string;
}

export interface AuditResult {
  registry: string;
  backend: string;
  /** ISO 8601. */
  generatedAt: string;
  outcome: 'complete' | 'incomplete';
  stopped?: string;
  shard?: string;
  repositories: RepositoryAudit[];
  /** Repositories not audited because the run was asked to stop (the next run covers them). */
  left: string[];
  verifications: {done: number; notVerified: number};
  requests: {api: number; apiRemaining?: string; registry: number; manifestReads: number; manifestsStored: number};
}

/** The registry's web pages for a repository and for one of its images, where it has them (GHCR, Docker Hub). */
function webPages(
  opts: CleanupOptions,
  kind: OwnerKind | undefined,
  name: string
): {repository?: string; image: (v: PackageVersion) => string | undefined} {
  if (opts.backend === 'ghcr' && kind) {
    const base = `https://github.com/${kind}/${opts.owner}/packages/container`;
    return {
      repository: `${base}/package/${encodeURIComponent(name)}`,
      image: v => `${base}/${encodeURIComponent(name)}/${v.id}`
    };
  }
  if (opts.backend === 'dockerhub')
    return {
      repository: `https://hub.docker.com/r/${name}`,
      image: v => `https://hub.docker.com/layers/${name}/${v.tags[0]}/images/${v.digest.replace(':', '-')}`
    };
  return {image: () => undefined};
}

/** A verdict's failures as the audit reports them: one per failed requirement and digest. Pure. */
function verifiedFailures(verdict: Awaited<ReturnType<CosignGate['check']>>): Failure[] {
  return verdict.images.flatMap(v =>
    (v.requirements ?? [{requirement: 'signature', ok: v.verified, detail: v.error ?? 'not verified'}])
      .filter(r => !r.ok)
      .map(r => ({
        requirement: r.requirement,
        digest: v.digest,
        ...(v.platform ? {platform: v.platform} : {}),
        reason: r.detail
      }))
  );
}

/**
 * Audits every repository: the cleanup backend's listing and manifests (the store first), the plan a
 * cleanup would make (for what is reclaimable, nothing deleted), the inventory, and each served image
 * against the compliance policy by presence; then cosign verifies the selected images, newest first,
 * up to the cap. A stop (budget, signal) leaves the rest of the repositories for the next run.
 */
export async function runAudit(opts: AuditOptions): Promise<AuditResult> {
  const set = await openPackages({...opts, dryRun: true});
  const left: string[] = [];
  let manifestReads = 0;
  let manifestsStored = 0;
  const audited = await mapLimit(set.names, 3, async (name): Promise<RepositoryAudit | undefined> => {
    if (opts.stop?.requested) {
      left.push(name);
      return undefined;
    }
    const pkg = set.backendFor(name);
    const web = webPages(opts, set.ownerKind, name);
    const url = web.repository;
    const empty: RepositoryAudit = {
      path: pkg.repository,
      pages: 0,
      served: [],
      warnings: [],
      ...emptyInventory(name),
      ...(url ? {url} : {})
    };
    try {
      const {rep, listing, manifests, plan} = await planPackage(pkg, set.ctx);
      manifestReads += rep.manifestRequests;
      manifestsStored += rep.manifestsStored;
      if (!listing || !plan) return {...empty, error: rep.error ?? 'could not be listed'};
      const graph = packageGraph({versions: listing.versions, manifests});
      const inv = inventory(name, listing.versions, manifests, graph, plan);
      const tagged = listing.versions.filter(v => v.tags.length && graph.role.get(v.digest) === 'image');
      let served: ImageCompliance[] = [];
      if (opts.compliance) {
        const policy = opts.compliance;
        const scanAttestations = policy.attestations.some(r => r.kind === 'vuln')
          ? tagged.flatMap(v =>
              [v.digest, ...platformsOf(v.digest, manifests).map(p => p.digest)].flatMap(
                d => evidenceOf(d, graph, manifests).attestations.get(VULN_PREDICATE) ?? []
              )
            )
          : [];
        const client = set.ctx.clients.get(opts.registry);
        const {scans, reads} = await readScans(client, pkg.repository, scanAttestations, opts.store, opts.concurrency);
        manifestReads += reads;
        served = tagged.map(v =>
          presenceCompliance(
            {repository: name, digest: v.digest, tags: v.tags, createdAt: v.createdAt, url: web.image(v)},
            graph,
            manifests,
            policy,
            scans,
            opts.now
          )
        );
      }
      return {...empty, ...inv, pages: rep.pages, served, warnings: rep.warnings};
    } catch (err) {
      return {...empty, error: errorMessage(err)};
    }
  });
  const repositories = audited.filter((r): r is RepositoryAudit => !!r);
  // Verification: the selected served images, newest first, up to the cap; the rest stay at presence.
  let done = 0;
  let notVerified = 0;
  if (opts.compliance && opts.gate && opts.verifyTags) {
    const matcher = opts.verifyTags;
    const candidates = repositories
      .flatMap(r => r.served.map(i => ({r, i})))
      .filter(({i}) => i.tags.some(t => matcher(t)))
      .sort((a, b) => Date.parse(b.i.createdAt) - Date.parse(a.i.createdAt));
    const chosen = candidates.slice(0, opts.maxVerifications);
    notVerified = candidates.length - chosen.length;
    const gate = opts.gate;
    const policy = opts.compliance;
    await mapLimit(chosen, 2, async ({r, i}) => {
      if (opts.stop?.requested) {
        notVerified++;
        return;
      }
      let verdict: Awaited<ReturnType<CosignGate['check']>>;
      try {
        verdict = await gate.check(`${opts.registry}/${r.path}@${i.digest}`, policy, {
          where: 'compliance-policy',
          recursive: true
        });
      } catch (err) {
        // cosign could not run (not installable, a bad key file): the presence verdict stands, said so.
        notVerified++;
        r.warnings.push(`${i.tags.join(', ')}: not verified (${errorMessage(err)}); checked by presence only`);
        return;
      }
      done++;
      i.checked = 'verified';
      i.failures = verdict.ok ? [] : verifiedFailures(verdict);
      i.compliant = verdict.ok;
    });
  }
  for (const r of repositories) r.served.sort((a, b) => Number(a.compliant) - Number(b.compliant));
  const api = set.apiStats();
  const stopped = opts.stop?.reason;
  return {
    registry: opts.registry,
    backend: opts.backend,
    generatedAt: new Date(opts.now).toISOString(),
    outcome: stopped ? 'incomplete' : 'complete',
    ...(stopped ? {stopped} : {}),
    ...(set.shard ? {shard: set.shard} : {}),
    repositories,
    left: left.sort(),
    verifications: {done, notVerified},
    requests: {
      api: api.calls,
      ...(api.remaining !== undefined ? {apiRemaining: api.remaining} : {}),
      registry: set.ctx.clients.get(opts.registry).stats.requests,
      manifestReads,
      manifestsStored
    }
  };
}

/**
 * The audit job, for the action and the command line alike: the manifest store (a store of the audit's
 * own, so a cleanup's pruning never empties it), stops on a cancel or the rate-limit floor, cosign for
 * verification when a compliance policy is given.
 */
export async function runAuditJob(
  inputs: AuditInputs,
  ctx: {env: NodeJS.ProcessEnv; mask: Mask; log: Logger}
): Promise<AuditResult> {
  const {manifestCache, allowIncomplete: _a, reportFile: _r, metricsFile: _m, failOnNoncompliant: _f, ...opts} = inputs;
  const cached = manifestCache ? await openManifestStore(storeScope(opts, ctx, 'audit')) : undefined;
  const stop = new StopRequest().listen(signal =>
    ctx.log.warning(
      `${signal}: finishing the repository being read, starting no other; the report covers what was read`
    )
  );
  const logins: Map<string, RegistryLogin> =
    opts.backend === 'ghcr'
      ? new Map([[opts.registry, {provider: 'basic', username: opts.username, password: opts.token}]])
      : (opts.logins ?? new Map());
  const gate =
    opts.compliance && opts.verifyTags && opts.maxVerifications > 0
      ? cosignGate({
          ...ctx,
          logins,
          cosignPath: opts.cosignPath,
          notationPath: opts.notationPath,
          cosignVersion: opts.cosignVersion,
          trustedRoot: opts.trustedRoot
        })
      : undefined;
  try {
    const res = await runAudit({...opts, now: Date.now(), ...ctx, store: cached?.store, stop, gate});
    await cached?.finish(res.outcome === 'complete' && res.repositories.every(r => !r.error && !r.blocked));
    return res;
  } finally {
    stop.close();
    gate?.close();
  }
}
