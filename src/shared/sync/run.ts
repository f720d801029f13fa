import {Readable} from 'node:stream';
import {UserError, errorMessage} from '../errors.js';
import {Logger} from '../log.js';
import {Clients} from '../registry/clients.js';
import {Mask} from '../registry/credentials.js';
import {RegistryError} from '../registry/errors.js';
import {FanoutResult, copyToTargets} from '../registry/fanout.js';
import {BlobLedger} from '../registry/copy.js';
import {walkGraph} from '../registry/graph.js';
import {Limiter, mapLimit} from '../registry/limit.js';
import {Descriptor, ImageIndex, ImageManifest, isIndex, platformString} from '../registry/media.js';
import {RegistryRepository} from '../registry/repo-store.js';
import {ImageSource, StoredManifest} from '../registry/store.js';
import {createRepository, selectPlatforms} from '../push/push.js';
import {Provider} from '../registry/logins.js';
import {sha256} from '../registry/digest.js';
import {SyncEntry} from './config.js';
import {SyncInputs} from './inputs.js';
import {CosignGate, cosignGate} from '../sign/gate.js';
import {immutableMoves, moveWarning, refusalMessage} from '../push/immutable.js';
import {inShard, shardNote} from '../shard.js';
import {destinationNeeds, newestByCreated, remainingPulls, selectTags} from './select.js';

/** Where a platform-filtered mirror records the source index it was made from (its digest differs). */
export const SOURCE_ANNOTATION = 'dev.registry-actions.mirror.source-digest';

/** The inputs (allow-incomplete is the adapter's) and the run's context. */
export interface SyncOptions extends Omit<SyncInputs, 'allowIncomplete'> {
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  getIdToken?: (audience: string) => Promise<string>;
}

export interface ImageOutcome {
  digest: string;
  tags: string[];
  destinations: string[];
}

export interface EntryReport {
  entry: string;
  /** Tags the rules selected. */
  selected: string[];
  /** Tags written to at least one destination (dry run: would be). */
  copied: string[];
  /** Tags every destination already had at the source's digest. */
  unchanged: string[];
  refused: Array<ImageOutcome & {reason: string}>;
  failed: Array<ImageOutcome & {error: string}>;
  /** Images not started because the source's rate limit ran low: the next run copies them. */
  left: ImageOutcome[];
  bytesSent: number;
  blobsUploaded: number;
  error?: string;
}

export interface SyncResult {
  outcome: 'complete' | 'incomplete' | 'failed';
  /** With shard: which part this run did ("shard 2/4: 5 of 20 entries"). */
  shard?: string;
  entries: EntryReport[];
  /** Why the run stopped early, per source registry. */
  stopped: Record<string, string>;
  /** Requests and manifest GETs (what Docker Hub counts as pulls) per source registry. */
  sources: Record<string, {requests: number; manifestGets: number; remaining?: string}>;
}

/** A source whose tag list is known: graph walks look for cosign tags in it instead of listing again. */
class ListedSource implements ImageSource {
  readonly name: string;
  readonly mountFrom?: {registry: string; repository: string};
  constructor(
    private readonly inner: ImageSource,
    private readonly tags: string[]
  ) {
    this.name = inner.name;
    this.mountFrom = inner.mountFrom;
  }
  resolve(ref?: string): Promise<StoredManifest> {
    return this.inner.resolve(ref);
  }
  getManifest(digest: string): Promise<StoredManifest | undefined> {
    return this.inner.getManifest(digest);
  }
  openBlob(digest: string, size: number): Promise<Readable> {
    return this.inner.openBlob(digest, size);
  }
  listTags(): Promise<string[]> {
    return Promise.resolve(this.tags);
  }
  referrers(digest: string): Promise<Descriptor[] | undefined> {
    return this.inner.referrers(digest);
  }
  notNeeded(digest: string): void {
    this.inner.notNeeded?.(digest);
  }
}

/** The index restricted to platforms, marked with the source digest so a rerun can tell it is current. */
function mirrored(root: StoredManifest, platforms: string[]): StoredManifest {
  const kept = selectPlatforms(root, platforms);
  if (kept === root) return root;
  const index = JSON.parse(kept.body.toString('utf8')) as ImageIndex;
  const body = Buffer.from(
    JSON.stringify({...index, annotations: {...index.annotations, [SOURCE_ANNOTATION]: root.digest}})
  );
  return {body, digest: sha256(body), mediaType: kept.mediaType};
}

const isRateLimited = (err: unknown): boolean =>
  err instanceof RegistryError && (err.status === 429 || err.code === 'TOOMANYREQUESTS');

/** Per source registry: whether new copies may start, judged by its last reported pull budget. */
class Budget {
  private readonly stops = new Map<string, string>();
  constructor(
    private readonly clients: Clients,
    private readonly floor: number
  ) {}
  stopped(registry: string): string | undefined {
    const why = this.stops.get(registry);
    if (why) return why;
    const remaining = remainingPulls(this.clients.get(registry).stats.rateLimitRemaining);
    if (remaining !== undefined && remaining < this.floor) {
      const reason = `rate limit: ${registry} reports ${remaining} pull(s) left, under the floor of ${this.floor}`;
      this.stops.set(registry, reason);
      return reason;
    }
    return undefined;
  }
  /** A 429 (or TOOMANYREQUESTS) that retries did not clear stops the registry's new copies; true if it was one. */
  stopOnRateLimit(registry: string, err: unknown): boolean {
    if (!isRateLimited(err)) return false;
    if (!this.stops.has(registry)) this.stops.set(registry, `rate limit: ${registry} answered ${errorMessage(err)}`);
    return true;
  }
  all(): Record<string, string> {
    return Object.fromEntries(this.stops);
  }
}

/** When each tag's image was created (its config's `created`; for an index, its first platform's). */
async function createdTimes(
  repo: RegistryRepository,
  digests: Map<string, string>,
  concurrency: number
): Promise<Map<string, number>> {
  const byDigest = new Map<string, number | undefined>();
  await mapLimit([...new Set(digests.values())], concurrency, async digest => {
    let m = await repo.getManifest(digest);
    if (m && isIndex(m.mediaType)) {
      const kids = (JSON.parse(m.body.toString('utf8')) as ImageIndex).manifests.filter(
        k => k.platform && k.platform.os !== 'unknown'
      );
      const pick = kids.find(k => platformString(k.platform) === 'linux/amd64') ?? kids[0];
      m = pick ? await repo.getManifest(pick.digest) : undefined;
    }
    const config = m && (JSON.parse(m.body.toString('utf8')) as ImageManifest).config;
    if (!config) return;
    const chunks: Buffer[] = [];
    for await (const c of await repo.openBlob(config.digest)) chunks.push(c as Buffer);
    const created = Date.parse(
      (JSON.parse(Buffer.concat(chunks).toString('utf8')) as {created?: string}).created ?? ''
    );
    byDigest.set(digest, Number.isNaN(created) ? undefined : created);
  });
  const out = new Map<string, number>();
  for (const [tag, digest] of digests) {
    const t = byDigest.get(digest);
    if (t !== undefined) out.set(tag, t);
  }
  return out;
}

interface Context {
  opts: SyncOptions;
  clients: Clients;
  budget: Budget;
  limiters: Map<string, Limiter>;
  gate: CosignGate;
  /** Blobs put during the run: a layer images in flight share is uploaded once per repository. */
  ledger: BlobLedger;
}

/** The digest a destination tag stands for: a platform-filtered mirror stands for its source index. */
async function targetDigest(dest: RegistryRepository, tag: string, filtered: boolean): Promise<string | undefined> {
  const head = await dest.client.headManifest(dest.repository, tag);
  if (!head || !filtered || !isIndex(head.mediaType)) return head?.digest;
  const m = await dest.getManifest(head.digest);
  const annotations = m && (JSON.parse(m.body.toString('utf8')) as ImageIndex).annotations;
  return annotations?.[SOURCE_ANNOTATION] ?? head.digest;
}

const emptyReport = (entry: string): EntryReport => ({
  entry,
  selected: [],
  copied: [],
  unchanged: [],
  refused: [],
  failed: [],
  left: [],
  bytesSent: 0,
  blobsUploaded: 0
});

async function syncEntry(entry: SyncEntry, ctx: Context): Promise<EntryReport> {
  const {opts, clients, budget} = ctx;
  const report = emptyReport(entry.name);
  const sourceRepo = new RegistryRepository(clients.get(entry.registry), entry.repository);
  const filtered = entry.platforms.length > 0;
  const dests = entry.destinations.map(d => ({
    ...d,
    repo: new RegistryRepository(clients.get(d.registry).view(), d.repository)
  }));
  let tags: string[];
  try {
    tags = await sourceRepo.listTags();
  } catch (err) {
    report.error = `listing tags of ${entry.name}: ${errorMessage(err)}`;
    budget.stopOnRateLimit(entry.registry, err);
    return report;
  }
  if (tags.length === 0) {
    report.error = `${entry.name} has no tags: the repository does not exist, or the login cannot read it.`;
    return report;
  }
  let selected = selectTags(tags, entry.tags);
  if (entry.tags.semver && !selected.length) {
    report.error = `${entry.name}: tags.semver "${entry.tags.semver}" selects none of its ${tags.length} tag(s); widen the range (a configuration error, nothing was copied).`;
    return report;
  }
  const byCreated = !!entry.tags.newest && entry.tags.newestBy === 'created';
  // One HEAD per selected tag on each side (a HEAD is not a pull on Docker Hub), both sides at once
  // unless the creation times must pick the tags first.
  const readSource = async (): Promise<Map<string, string>> => {
    const heads = await mapLimit(selected, opts.concurrency * 2, t =>
      sourceRepo.client.headManifest(entry.repository, t)
    );
    const digests = new Map<string, string>();
    selected.forEach((t, i) => {
      const h = heads[i];
      if (h) digests.set(t, h.digest);
    });
    if (byCreated) {
      const created = await createdTimes(sourceRepo, digests, opts.concurrency);
      const undated = [...digests.keys()].filter(t => !created.has(t));
      if (undated.length)
        opts.log.warning(
          `${entry.name}: ${undated.length} of ${digests.size} selected tag(s) have no creation time in their image config (${undated.slice(0, 5).join(', ')}${undated.length > 5 ? ', …' : ''}), so newest-by: created cannot rank them and skips them; use newest-by: semver or list the tags in allow.`
        );
      selected = newestByCreated(selected, created, entry.tags.newest as number);
      const keep = new Set(selected);
      for (const t of [...digests.keys()]) if (!keep.has(t)) digests.delete(t);
    }
    return digests;
  };
  const readTargets = (
    wanted: string[]
  ): Promise<
    Array<{
      dest: (typeof dests)[number];
      current?: Map<string, string | undefined>;
      pinned?: Array<{digest: string; present: boolean}>;
      error?: string;
    }>
  > =>
    Promise.all(
      dests.map(async d => {
        try {
          const heads = await mapLimit(wanted, opts.concurrency * 2, t => targetDigest(d.repo, t, filtered));
          const pinned = await mapLimit(entry.tags.digests, opts.concurrency, async digest => ({
            digest,
            present: await d.repo.hasManifest(digest)
          }));
          return {
            dest: d,
            current: new Map(wanted.map((t, i) => [t, heads[i]] as [string, string | undefined])),
            pinned
          };
        } catch (err) {
          return {dest: d, error: errorMessage(err)};
        }
      })
    );
  let sourceDigests: Map<string, string>;
  let sides: Awaited<ReturnType<typeof readTargets>>;
  try {
    if (byCreated) {
      sourceDigests = await readSource();
      sides = await readTargets([...sourceDigests.keys()]);
    } else {
      [sourceDigests, sides] = await Promise.all([readSource(), readTargets(selected)]);
    }
  } catch (err) {
    report.error = `reading the tags of ${entry.name}: ${errorMessage(err)}`;
    budget.stopOnRateLimit(entry.registry, err);
    return report;
  }
  report.selected = selected;
  const needs = sides.map(side =>
    side.current
      ? {
          dest: side.dest,
          needs: destinationNeeds(side.dest.name, sourceDigests, side.current, side.pinned ?? []),
          // What each tag names there now, in source terms (a platform subset's tags stand for their source).
          current: side.current
        }
      : {dest: side.dest, error: side.error}
  );
  for (const n of needs) {
    if (n.error)
      report.failed.push({digest: '', tags: [], destinations: [n.dest.name], error: `${n.dest.name}: ${n.error}`});
  }
  const ok = needs.filter(n => n.needs);
  const unchanged = new Set(selected.filter(t => sourceDigests.has(t)));
  for (const n of ok)
    for (const tagsOf of n.needs?.byDigest.values() ?? []) for (const t of tagsOf) unchanged.delete(t);
  report.unchanged = selected.filter(t => unchanged.has(t) && ok.length === dests.length);

  // One copy per distinct source digest, to the destinations that lack it, with their tags.
  const digests = [...new Set(ok.flatMap(n => [...(n.needs?.byDigest.keys() ?? [])]))];
  const limiter = ctx.limiters.get(entry.registry) as Limiter;
  const source = new ListedSource(sourceRepo, tags);
  const copied = new Set<string>();
  await Promise.all(
    digests.map(digest =>
      limiter.run(async () => {
        const targets = ok
          .filter(n => n.needs?.byDigest.has(digest))
          .map(n => ({dest: n.dest, tags: n.needs?.byDigest.get(digest) ?? [], current: n.current}));
        const outcome: ImageOutcome = {
          digest,
          tags: [...new Set(targets.flatMap(t => t.tags))],
          destinations: targets.map(t => t.dest.name)
        };
        // A release tag that names another image at any destination: this image goes nowhere.
        const moves = opts.immutableTags
          ? immutableMoves(
              digest,
              targets.map(t => ({
                destination: t.dest.name,
                current: new Map(t.tags.map(tag => [tag, t.current?.get(tag)] as [string, string | undefined]))
              })),
              opts.immutableTags
            )
          : [];
        if (moves.length && !opts.moveImmutableTags) {
          report.refused.push({
            ...outcome,
            reason: `${refusalMessage(moves, 'this image was copied nowhere')} (An upstream that rebuilds its release tags, as Docker's official images do, needs move-immutable-tags: true.)`
          });
          return;
        }
        for (const m of moves) opts.log.warning(moveWarning(m));
        const stop = budget.stopped(entry.registry);
        if (stop) {
          report.left.push(outcome);
          return;
        }
        if (opts.dryRun) {
          for (const t of outcome.tags) copied.add(t);
          return;
        }
        let graph;
        try {
          // The gate first: a refused image costs no manifest read of ours.
          if (entry.verify) {
            const verdict = await ctx.gate.check(
              `${entry.name}@${digest}`,
              {signer: entry.verify, attestations: []},
              {where: `config ${entry.name} verify`, recursive: false}
            );
            if (!verdict.ok) {
              report.refused.push({...outcome, reason: verdict.reason});
              return;
            }
          }
          const original = await sourceRepo.getManifest(digest);
          if (!original) throw new UserError(`${entry.name}@${digest} is gone from the source`);
          const root = mirrored(original, entry.platforms);
          graph = await walkGraph(source, root, {copyReferrers: entry.referrers});
        } catch (err) {
          if (budget.stopOnRateLimit(entry.registry, err)) report.left.push(outcome);
          else report.failed.push({...outcome, error: errorMessage(err)});
          return;
        }
        const results: FanoutResult[] = await copyToTargets(
          source,
          graph,
          targets.map(t => ({
            name: t.dest.name,
            target: t.dest.repo,
            tags: t.tags,
            // Planning reuses what the HEADs found, unless they stand for a platform subset's source.
            knownTags: filtered ? undefined : t.current,
            prepare: opts.createRepositories
              ? () =>
                  createRepository(
                    // The registry's login carries its cloud settings (region=, role=) as push-multi's line does.
                    {
                      ...t.dest,
                      line: t.dest.name,
                      provider: (opts.logins.get(t.dest.registry)?.provider ?? 'auto') as Provider,
                      options: opts.logins.get(t.dest.registry)?.options ?? {}
                    },
                    {env: opts.env, mask: opts.mask, log: opts.log, getIdToken: opts.getIdToken}
                  )
              : undefined
          })),
          {concurrency: opts.concurrency, retry: opts.retry, dryRun: false, log: opts.log, ledger: ctx.ledger}
        );
        for (const [i, r] of results.entries()) {
          report.bytesSent += r.counters.bytesSent;
          report.blobsUploaded += r.counters.blobsUploaded;
          if (r.error) report.failed.push({...outcome, tags: targets[i].tags, destinations: [r.name], error: r.error});
          else for (const t of targets[i].tags) copied.add(t);
        }
      })
    )
  );
  report.copied = selected.filter(t => copied.has(t));
  return report;
}

/**
 * Mirrors every entry: decides by digest from tag lists and HEADs what changed, then copies each
 * changed image once (children, then index, then tags) to the destinations that lack it. Entries run
 * at once; each source registry copies `concurrency` images at a time and starts none once its pull
 * budget is under the floor. One failing entry never stops the others.
 */
export async function runSync(all: SyncOptions): Promise<SyncResult> {
  if (all.entries.length === 0) throw new UserError('config: no images to mirror.');
  const opts = {...all, entries: inShard(all.entries, e => e.name, all.shard)};
  const shard = all.shard ? shardNote(all.shard, opts.entries.length, all.entries.length, 'entries') : undefined;
  if (shard) opts.log.info(shard);
  const clients = new Clients(opts, opts.logins);
  const ctx: Context = {
    opts,
    clients,
    budget: new Budget(clients, opts.floor),
    limiters: new Map(opts.entries.map(e => [e.registry, new Limiter(opts.concurrency)])),
    gate: cosignGate({...opts, logins: opts.logins}),
    ledger: new Map()
  };
  for (const registry of new Set(opts.entries.map(e => e.registry)))
    clients.get(registry).hintPull(opts.entries.filter(e => e.registry === registry).map(e => e.repository));
  let entries: EntryReport[];
  try {
    // Each entry on its own: whatever one meets is its report's error, never the others' end.
    entries = await mapLimit(opts.entries, 8, e =>
      syncEntry(e, ctx).catch((err: unknown): EntryReport => ({...emptyReport(e.name), error: errorMessage(err)}))
    );
  } finally {
    ctx.gate.close();
  }
  const stopped = ctx.budget.all();
  const sources: SyncResult['sources'] = {};
  for (const registry of new Set(opts.entries.map(e => e.registry))) {
    const stats = clients.get(registry).stats;
    sources[registry] = {
      requests: stats.requests,
      manifestGets: stats.manifestGets,
      remaining: stats.rateLimitRemaining
    };
  }
  const failed = entries.some(e => e.error || e.failed.length);
  const left = entries.some(e => e.left.length);
  return {
    outcome: failed ? 'failed' : left ? 'incomplete' : 'complete',
    ...(shard ? {shard} : {}),
    entries,
    stopped,
    sources
  };
}

/** A run's outputs: the outcome, totals over every entry, what is left, and the whole result. Pure. */
export function syncOutputs(res: SyncResult): Record<string, string> {
  const total = (f: (e: SyncResult['entries'][number]) => number): string =>
    String(res.entries.reduce((n, e) => n + f(e), 0));
  return {
    outcome: res.outcome,
    copied: total(e => e.copied.length),
    unchanged: total(e => e.unchanged.length),
    failed: total(e => e.failed.length + (e.error ? 1 : 0)),
    refused: total(e => e.refused.length),
    left: JSON.stringify(res.entries.flatMap(e => e.left.map(l => ({entry: e.entry, ...l})))),
    result: JSON.stringify(res)
  };
}
