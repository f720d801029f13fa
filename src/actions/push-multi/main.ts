import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readPushInputs} from '../../shared/push/inputs.js';
import {DestinationResult, PushResult, runPush} from '../../shared/push/push.js';

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

async function summary(io: ActionIO, res: PushResult): Promise<void> {
  const summary = io.summary;
  if (!summary) return;
  const head = ['destination', 'tags', 'digest', 'sent', 'blobs skipped / mounted / uploaded', 'time', 'status'].map(
    h => ({data: h, header: true})
  );
  const rows = res.results.map(r => [
    r.destination,
    r.tags.join(', ') || '(by digest)',
    r.digest.slice(0, 19),
    mib(r.counters.bytesSent),
    `${r.counters.blobsSkipped} / ${r.counters.blobsMounted} / ${r.counters.blobsUploaded}`,
    `${(r.durationMs / 1000).toFixed(1)} s`,
    r.error ? `failed: ${r.error}` : r.status
  ]);
  await summary
    .addHeading('push-multi', 3)
    .addTable([head, ...rows])
    .write();
}

/** One destination's outcome: a folded group of details under a one-line heading; errors stay visible. */
async function report(io: ActionIO, r: DestinationResult): Promise<void> {
  const c = r.counters;
  const time = `${(r.durationMs / 1000).toFixed(1)} s`;
  await io.log.group(`${r.destination}: ${r.status}, ${mib(c.bytesSent)} sent in ${time}`, async () => {
    io.log.info(`tags: ${r.tags.join(', ') || '(none: by digest only)'}`);
    io.log.info(`digest: ${r.digest}`);
    io.log.info(`blobs: ${c.blobsSkipped} present, ${c.blobsMounted} mounted, ${c.blobsUploaded} uploaded`);
    io.log.info(`manifests: ${c.manifestsWritten} written, ${c.manifestsSkipped} present`);
    io.log.info(`tags: ${c.tagsWritten} written, ${c.tagsSkipped} already right`);
    io.log.info(`requests: ${r.requests}${r.retries ? ` (${r.retries} retried)` : ''}`);
    if (r.rateLimitRemaining) io.log.info(`registry pull rate limit remaining: ${r.rateLimitRemaining}`);
  });
  if (r.error) io.log.error(`${r.destination}: ${r.error}`);
}

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const inputs = readPushInputs(io);
  const result = await runPush(inputs, {
    env: process.env,
    mask: s => io.mask(s),
    log: io.log,
    getIdToken: audience => io.getIdToken(audience),
    progressMs: Number(process.env.REGISTRY_ACTIONS_PROGRESS_SECONDS || 10) * 1000,
    raw: chunk => io.raw(chunk)
  });
  for (const r of result.results) await report(io, r);
  io.output('digest', result.digest);
  io.output('refs', result.refs.join('\n'));
  io.output('results', JSON.stringify(result.results));
  await summary(io, result);
  if (result.failed.length) {
    throw new UserError(
      `${result.failed.length} of ${result.results.length} destination(s) failed: ${result.failed.map(f => f.destination).join(', ')} (each error above). The others were copied; a rerun completes the missing ones without uploading again.`
    );
  }
}
