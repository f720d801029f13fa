import {errorMessage} from '../errors.js';
import {Logger} from '../log.js';
import {BlobLedger, CopyCounters, CopyPlan, copyGraph, emptyCounters, planCopy} from './copy.js';
import {ImageGraph} from './graph.js';
import {RegistryRepository} from './repo-store.js';
import {RetryPolicy} from './retry.js';
import {ImageSource, ImageTarget} from './store.js';
import {TeeSource} from './tee.js';

/** One place an image graph is copied to, with the tags it gets there. */
export interface FanoutTarget {
  name: string;
  target: ImageTarget;
  tags: string[];
  /** Runs before planning (creating the repository where the registry needs it). */
  prepare?: () => Promise<void>;
  /** Digests of tags at the target, just read by the caller: planning does not ask again. */
  knownTags?: Map<string, string | undefined>;
}

export interface FanoutResult {
  name: string;
  status: 'copied' | 'up-to-date' | 'planned' | 'failed';
  tags: string[];
  counters: CopyCounters;
  requests: number;
  retries: number;
  /** Docker Hub's ratelimit-remaining after the copy, when the registry reports it. */
  rateLimitRemaining?: string;
  durationMs: number;
  error?: string;
}

export interface FanoutOptions {
  concurrency: number;
  retry: RetryPolicy;
  dryRun: boolean;
  log: Logger;
  /** Milliseconds between progress lines of a long copy (default 10 s). */
  progressMs?: number;
  /** Blobs put by the other copies of the run (sync: images in flight sharing layers upload them once). */
  ledger?: BlobLedger;
}

/**
 * Copies one image graph to every target at once. First every target's plan (what it lacks, after
 * its existence checks); then a registry source's blobs are read once each, for exactly the targets
 * whose plans need them. Every target is attempted; a failure is that target's result, never thrown.
 */
export async function copyToTargets(
  source: ImageSource,
  graph: ImageGraph,
  targets: FanoutTarget[],
  opts: FanoutOptions
): Promise<FanoutResult[]> {
  const planned = await Promise.all(
    targets.map(async t => {
      const started = Date.now();
      const result: FanoutResult = {
        name: t.name,
        status: 'copied',
        tags: t.tags,
        counters: emptyCounters(),
        requests: 0,
        retries: 0,
        durationMs: 0
      };
      let plan: CopyPlan | undefined;
      try {
        if (t.prepare && !opts.dryRun) await t.prepare();
        plan = await planCopy(
          graph,
          t.target,
          {tags: t.tags, concurrency: opts.concurrency, knownTags: t.knownTags},
          result.counters
        );
      } catch (err) {
        result.status = 'failed';
        result.error = errorMessage(err);
      }
      return {t, started, result, plan};
    })
  );
  const tee = source.mountFrom && !opts.dryRun ? new TeeSource(source) : undefined;
  const readers = planned.map(p => (tee && p.plan ? tee.consumer(p.plan.blobs.map(b => b.digest)) : undefined));

  return Promise.all(
    planned.map(async ({t, started, result, plan: made}, i): Promise<FanoutResult> => {
      const client = t.target instanceof RegistryRepository ? t.target.client : undefined;
      const reader = readers[i];
      try {
        if (!made) throw new Error(result.error);
        let lastLog = started;
        const {plan, counters} = await copyGraph(reader ?? source, t.target, graph, {
          plan: made,
          counters: result.counters,
          tags: t.tags,
          concurrency: opts.concurrency,
          retry: opts.retry,
          dryRun: opts.dryRun,
          ledger: opts.ledger,
          onProgress: (sent, total, c, blobs) => {
            const now = Date.now();
            if (total > 0 && now - lastLog >= (opts.progressMs ?? 10000) && sent < total) {
              lastLog = now;
              const done = c.blobsUploaded + c.blobsMounted;
              opts.log.info(
                `${t.name}: ${(sent / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB sent, ${done} of ${blobs} blobs done (${Math.round((sent / 1048576 / Math.max(now - started, 1)) * 1000)} MiB/s)`
              );
            }
          }
        });
        result.counters = counters;
        const wrote = plan.manifests.length + plan.blobs.length + plan.tags.length > 0;
        result.status = opts.dryRun ? 'planned' : wrote ? 'copied' : 'up-to-date';
      } catch (err) {
        result.status = 'failed';
        result.error = errorMessage(err);
      } finally {
        reader?.close();
      }
      result.requests = client?.stats.requests ?? 0;
      result.retries = client?.stats.retries ?? 0;
      result.rateLimitRemaining = client?.stats.rateLimitRemaining;
      result.durationMs = Date.now() - started;
      return result;
    })
  );
}
