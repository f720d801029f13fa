import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ActionIO, githubIO} from '../../shared/action/io.js';
import {getItems, getMultiline} from '../../shared/action/run.js';
import {UserError} from '../../shared/errors.js';
import {parseBoolean, parseInteger} from '../../shared/inputs.js';
import {describe, execOk} from '../../shared/exec.js';
import {buildxCommand} from '../../shared/push/buildx.js';
import {parseDestinations} from '../../shared/push/destinations.js';
import {DestinationResult, PushResult, pushMulti} from '../../shared/push/push.js';
import {DEFAULT_RETRY} from '../../shared/registry/retry.js';

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
  const sourcePassword = io.input('source-password');
  if (sourcePassword) io.mask(sourcePassword);
  let source = io.input('source');
  if (parseBoolean('build', io.input('build'), false)) {
    if (source) throw new UserError('source: leave it empty with build: true (the built image is the source).');
    const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-build-'));
    const cmd = buildxCommand({
      context: io.input('context') || '.',
      file: io.input('file') || undefined,
      platforms: getItems(io, 'build-platforms'),
      buildArgs: getMultiline(io, 'build-args'),
      labels: getMultiline(io, 'labels'),
      annotations: getMultiline(io, 'annotations'),
      cacheFrom: getMultiline(io, 'cache-from'),
      cacheTo: getMultiline(io, 'cache-to'),
      target: io.input('target') || undefined,
      builder: io.input('builder') || undefined,
      secretEnvs: getMultiline(io, 'secret-envs'),
      output: path.join(dir, 'image.tar')
    });
    io.log.info(`building: ${describe(cmd)}`);
    await io.log.group('docker buildx build', () => execOk({...cmd, onOutput: chunk => io.raw(chunk)}));
    source = `oci:${path.join(dir, 'image.tar')}`;
  }
  if (!source)
    throw new UserError('source: give the image to copy (a reference such as ghcr.io/acme/app:1.2.3 or oci:./layout).');
  const destinations = parseDestinations(getMultiline(io, 'destinations'));
  if (destinations.length === 0)
    throw new UserError('destinations: give at least one repository to copy to, one per line.');
  for (const d of destinations) if (d.password) io.mask(d.password);
  const tags = getItems(io, 'tags');
  const platforms = getItems(io, 'platforms');
  const result = await pushMulti({
    source,
    sourceUsername: io.input('source-username') || undefined,
    sourcePassword: sourcePassword || undefined,
    destinations,
    tags,
    platforms,
    copyReferrers: parseBoolean('copy-referrers', io.input('copy-referrers'), true),
    concurrency: parseInteger('concurrency', io.input('concurrency'), 4, 1, 64),
    retry: {...DEFAULT_RETRY, retries: parseInteger('retries', io.input('retries'), DEFAULT_RETRY.retries, 0, 20)},
    dryRun: parseBoolean('dry-run', io.input('dry-run'), false),
    createRepositories: parseBoolean('create-repositories', io.input('create-repositories'), false),
    env: process.env,
    mask: s => io.mask(s),
    log: io.log,
    getIdToken: audience => io.getIdToken(audience),
    progressMs: Number(process.env.REGISTRY_ACTIONS_PROGRESS_SECONDS || 10) * 1000
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
