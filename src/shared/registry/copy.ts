import {Readable} from 'node:stream';
import {errorMessage} from '../errors.js';
import {RestartUpload} from './client.js';
import {VerifyingStream, verifiedUpstream} from './digest.js';
import {ImageGraph} from './graph.js';
import {mapLimit} from './limit.js';
import {Descriptor} from './media.js';
import {RegistryError} from './errors.js';
import {DEFAULT_RETRY, RETRYABLE_STATUS, RetryPolicy, backoffMs, isRetryableError, sleep} from './retry.js';
import {ImageSource, ImageTarget, StoredManifest} from './store.js';

export interface CopyCounters {
  blobsSkipped: number;
  blobsMounted: number;
  blobsUploaded: number;
  bytesSent: number;
  manifestsSkipped: number;
  manifestsWritten: number;
  tagsSkipped: number;
  tagsWritten: number;
}

export interface CopyOptions {
  tags: string[];
  /** Blobs in flight at once for this target. */
  concurrency: number;
  retry?: RetryPolicy;
  dryRun?: boolean;
  /** Progress: bytes sent so far and in all for this target, and how many blobs it needs in all. */
  onProgress?: (sent: number, total: number, counters: CopyCounters, blobs: number) => void;
  onLog?: (message: string) => void;
  /** Counted into as the copy goes, so that a copy that fails part way still says what it did. */
  counters?: CopyCounters;
  /** The plan, when the caller made it first (planCopy with the same counters). */
  plan?: CopyPlan;
  /** Shared by the copies of one run: a blob another copy is putting to the same repository is waited for. */
  ledger?: BlobLedger;
}

export interface CopyPlan {
  /** Manifests the target lacks, in push order (image first, then referrers). */
  manifests: string[];
  /** Blobs the missing manifests need and the target lacks. */
  blobs: Descriptor[];
  /** Tags to write (tag -> digest) and tags already right. */
  tags: Array<[string, string]>;
  tagsPresent: string[];
}

export function emptyCounters(): CopyCounters {
  return {
    blobsSkipped: 0,
    blobsMounted: 0,
    blobsUploaded: 0,
    bytesSent: 0,
    manifestsSkipped: 0,
    manifestsWritten: 0,
    tagsSkipped: 0,
    tagsWritten: 0
  };
}

/** Blobs needed by the given manifests, once each. Pure. */
export function blobsFor(graph: ImageGraph, manifests: string[]): Descriptor[] {
  const out = new Map<string, Descriptor>();
  for (const d of manifests) for (const b of graph.blobsOf.get(d) ?? []) if (!out.has(b.digest)) out.set(b.digest, b);
  return [...out.values()];
}

/**
 * Works out what a target lacks. A manifest the target has is trusted to have its blobs (registries
 * refuse a manifest whose blobs are missing), so a rerun costs one HEAD per manifest and tag.
 */
export async function planCopy(
  graph: ImageGraph,
  target: ImageTarget,
  opts: Pick<CopyOptions, 'tags' | 'concurrency'> & {
    /** Tags whose digest at the target the caller has just read (undefined: absent); not asked again. */
    knownTags?: Map<string, string | undefined>;
  },
  counters: CopyCounters
): Promise<CopyPlan> {
  const all = [...graph.imageOrder, ...graph.referrerOrder];
  const present = await mapLimit(all, opts.concurrency, d => target.hasManifest(d));
  const manifests = all.filter((_d, i) => !present[i]);
  counters.manifestsSkipped = all.length - manifests.length;
  const needed = blobsFor(graph, manifests);
  const have = await mapLimit(needed, opts.concurrency, b => target.hasBlob(b.digest));
  counters.blobsSkipped = have.filter(Boolean).length;
  const wanted: Array<[string, string]> = [
    ...opts.tags.map(t => [t, graph.root.digest] as [string, string]),
    ...graph.referrerTags
  ];
  const known = opts.knownTags;
  const current = await mapLimit(wanted, opts.concurrency, ([t]) =>
    known?.has(t) ? Promise.resolve(known.get(t)) : target.tagDigest(t)
  );
  const tags = wanted.filter(([, d], i) => current[i] !== d);
  const tagsPresent = wanted.filter(([, d], i) => current[i] === d).map(([t]) => t);
  counters.tagsSkipped = tagsPresent.length;
  return {manifests, blobs: needed.filter((_b, i) => !have[i]), tags, tagsPresent};
}

/**
 * Blobs being put, or put, during a run, by target repository and digest: copies of several images at
 * once (sync) that share a layer upload it once, the later ones waiting for the first.
 */
export type BlobLedger = Map<string, Promise<boolean>>;

async function copyBlob(
  source: ImageSource,
  target: ImageTarget,
  blob: Descriptor,
  counters: CopyCounters,
  retry: RetryPolicy,
  progress: (n: number) => void,
  ledger?: BlobLedger
): Promise<void> {
  const key = ledger && target.registry ? `${target.registry}/${target.repository}@${blob.digest}` : undefined;
  const earlier = key ? ledger?.get(key) : undefined;
  if (earlier && (await earlier)) {
    counters.blobsSkipped++;
    source.notNeeded?.(blob.digest);
    return;
  }
  const own = putOneBlob(source, target, blob, counters, retry, progress);
  if (key)
    ledger?.set(
      key,
      own.then(
        () => true,
        () => false
      )
    );
  await own;
}

async function putOneBlob(
  source: ImageSource,
  target: ImageTarget,
  blob: Descriptor,
  counters: CopyCounters,
  retry: RetryPolicy,
  progress: (n: number) => void
): Promise<void> {
  if (source.mountFrom && (await target.mountBlob(blob.digest, source.mountFrom)) === 'mounted') {
    counters.blobsMounted++;
    source.notNeeded?.(blob.digest);
    return;
  }
  for (let attempt = 0; ; attempt++) {
    let sent = 0;
    try {
      await target.putBlob(blob.digest, blob.size, async () => {
        const input: Readable = await source.openBlob(blob.digest, blob.size);
        const verify = new VerifyingStream(
          blob.digest,
          n => {
            sent += n;
            progress(n);
          },
          !verifiedUpstream.has(input)
        );
        input.on('error', err => verify.destroy(err));
        // An upload that stops reading (refused, reset) lets go of the source: a shared download goes
        // on for the other destinations, a download of its own is closed.
        verify.on('close', () => {
          if (!input.readableEnded) input.destroy();
        });
        return input.pipe(verify);
      });
      counters.blobsUploaded++;
      counters.bytesSent += blob.size;
      return;
    } catch (err) {
      progress(-sent);
      const status = err instanceof RegistryError ? err.status : undefined;
      if (
        attempt < retry.retries &&
        (isRetryableError(err) || err instanceof RestartUpload || (status && RETRYABLE_STATUS.has(status)))
      ) {
        await sleep(backoffMs(attempt, retry));
        continue;
      }
      throw new Error(`blob ${blob.digest} (${blob.size} bytes): ${errorMessage(err)}`, {cause: err});
    }
  }
}

/**
 * Copies an image graph to one target: missing blobs (mounted within a registry, else streamed from
 * the source and verified), missing manifests children first, then tags last, so a tag never points at
 * something incomplete.
 */
export async function copyGraph(
  source: ImageSource,
  target: ImageTarget,
  graph: ImageGraph,
  opts: CopyOptions
): Promise<{plan: CopyPlan; counters: CopyCounters}> {
  const counters = opts.counters ?? emptyCounters();
  const plan = opts.plan ?? (await planCopy(graph, target, opts, counters));
  if (opts.dryRun) return {plan, counters};
  const total = plan.blobs.reduce((n, b) => n + b.size, 0);
  let sent = 0;
  const progress = (n: number): void => {
    sent += n;
    opts.onProgress?.(sent, total, counters, plan.blobs.length);
  };
  const retry = opts.retry ?? DEFAULT_RETRY;
  // Large blobs first, so the longest transfers start early.
  const ordered = [...plan.blobs].sort((a, b) => b.size - a.size);
  await mapLimit(ordered, opts.concurrency, b => copyBlob(source, target, b, counters, retry, progress, opts.ledger));
  // The root, when it is written and tagged, goes by its first tag: one write, not a write by digest
  // and another by tag (its children are all there by then; the other tags follow).
  const root = graph.root.digest;
  const rootByTag = plan.manifests.includes(root) ? plan.tags.find(([, d]) => d === root)?.[0] : undefined;
  const writeTag = async (tag: string, m: StoredManifest): Promise<boolean> => {
    try {
      return await target.putManifest(tag, m);
    } catch (err) {
      throw immutableTagError(err, tag, target) ?? err;
    }
  };
  for (const d of plan.manifests) {
    const m = graph.manifests.get(d);
    if (!m) continue;
    if (d === root && rootByTag) {
      await writeTag(rootByTag, m);
      counters.tagsWritten++;
    } else await target.putManifest(d, m);
    counters.manifestsWritten++;
  }
  // Referrers the target already had (an earlier copy): a registry without the referrers API must
  // still list them in their subject's fallback index, so destinations copied without one heal.
  if (target.linkReferrer) {
    const missing = new Set(plan.manifests);
    for (const d of graph.referrerOrder) {
      const m = graph.manifests.get(d);
      if (m && !missing.has(d) && (await target.linkReferrer(m))) counters.tagsWritten++;
    }
  }
  for (const [tag, digest] of plan.tags) {
    const m = graph.manifests.get(digest);
    if (!m || tag === rootByTag) continue;
    if (await writeTag(tag, m)) counters.tagsWritten++;
    else counters.tagsSkipped++;
  }
  return {plan, counters};
}

/** ECR and others refuse to move a tag in an immutable repository: say so, naming the tag. */
function immutableTagError(err: unknown, tag: string, target: ImageTarget): Error | undefined {
  if (!(err instanceof RegistryError)) return undefined;
  if (err.code === 'TAG_INVALID' || /immutable|already exists/i.test(err.detail)) {
    return new Error(
      `tag "${tag}" already exists in ${target.name} on another digest and the repository does not let tags move (${err.detail || err.code}); push under a new tag or remove the old image first`,
      {cause: err}
    );
  }
  return undefined;
}
