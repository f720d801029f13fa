import {mib} from '../../shared/summary.js';
import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readPushInputs} from '../../shared/push/inputs.js';
import {DestinationResult, runPush} from '../../shared/push/push.js';
import {pushSummary} from '../../shared/push/summary.js';

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
  // A refusal is one error for the whole push (below); each destination's part is in its group.
  if (r.error && r.status === 'refused') io.log.info(`${r.destination}: ${r.error}`);
  else if (r.error) io.log.error(`${r.destination}: ${r.error}`);
}

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const inputs = readPushInputs(io, process.env);
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
  if (result.gate) io.output('gate', JSON.stringify(result.gate));
  if (result.buildParameters) io.output('build-parameters', JSON.stringify(result.buildParameters));
  await io.summary?.(pushSummary(result));
  if (result.refused) throw new UserError(result.refused);
  if (result.failed.length) {
    throw new UserError(
      `${result.failed.length} of ${result.results.length} destination(s) failed: ${result.failed.map(f => f.destination).join(', ')} (each error above). The others were copied; a rerun completes the missing ones without uploading again.`
    );
  }
}
