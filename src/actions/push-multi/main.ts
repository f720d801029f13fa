import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import {coreLogger, getItems, getMultiline} from '../../shared/action/run.js';
import {UserError} from '../../shared/errors.js';
import {parseBoolean, parseInteger} from '../../shared/inputs.js';
import {describe, execOk} from '../../shared/exec.js';
import {buildxCommand} from '../../shared/push/buildx.js';
import {parseDestinations} from '../../shared/push/destinations.js';
import {DestinationResult, PushResult, pushMulti} from '../../shared/push/push.js';
import {DEFAULT_RETRY} from '../../shared/registry/retry.js';

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

async function summary(res: PushResult): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
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
  await core.summary
    .addHeading('push-multi', 3)
    .addTable([head, ...rows])
    .write();
}

/** One destination's outcome: a folded group of details under a one-line heading; errors stay visible. */
function report(r: DestinationResult): void {
  const c = r.counters;
  const time = `${(r.durationMs / 1000).toFixed(1)} s`;
  core.startGroup(`${r.destination}: ${r.status}, ${mib(c.bytesSent)} sent in ${time}`);
  core.info(`tags: ${r.tags.join(', ') || '(none: by digest only)'}`);
  core.info(`digest: ${r.digest}`);
  core.info(`blobs: ${c.blobsSkipped} present, ${c.blobsMounted} mounted, ${c.blobsUploaded} uploaded`);
  core.info(`manifests: ${c.manifestsWritten} written, ${c.manifestsSkipped} present`);
  core.info(`tags: ${c.tagsWritten} written, ${c.tagsSkipped} already right`);
  core.info(`requests: ${r.requests}${r.retries ? ` (${r.retries} retried)` : ''}`);
  if (r.rateLimitRemaining) core.info(`registry pull rate limit remaining: ${r.rateLimitRemaining}`);
  core.endGroup();
  if (r.error) core.error(`${r.destination}: ${r.error}`);
}

export async function main(): Promise<void> {
  const sourcePassword = core.getInput('source-password');
  if (sourcePassword) core.setSecret(sourcePassword);
  let source = core.getInput('source');
  if (parseBoolean('build', core.getInput('build'), false)) {
    if (source) throw new UserError('source: leave it empty with build: true (the built image is the source).');
    const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-build-'));
    const cmd = buildxCommand({
      context: core.getInput('context') || '.',
      file: core.getInput('file') || undefined,
      platforms: getItems('build-platforms'),
      buildArgs: getMultiline('build-args'),
      labels: getMultiline('labels'),
      annotations: getMultiline('annotations'),
      cacheFrom: getMultiline('cache-from'),
      cacheTo: getMultiline('cache-to'),
      target: core.getInput('target') || undefined,
      builder: core.getInput('builder') || undefined,
      secretEnvs: getMultiline('secret-envs'),
      output: path.join(dir, 'image.tar')
    });
    core.info(`building: ${describe(cmd)}`);
    await core.group('docker buildx build', () => execOk({...cmd, onOutput: chunk => process.stdout.write(chunk)}));
    source = `oci:${path.join(dir, 'image.tar')}`;
  }
  if (!source)
    throw new UserError('source: give the image to copy (a reference such as ghcr.io/acme/app:1.2.3 or oci:./layout).');
  const destinations = parseDestinations(getMultiline('destinations'));
  if (destinations.length === 0)
    throw new UserError('destinations: give at least one repository to copy to, one per line.');
  for (const d of destinations) if (d.password) core.setSecret(d.password);
  const tags = getItems('tags');
  const platforms = getItems('platforms');
  const result = await pushMulti({
    source,
    sourceUsername: core.getInput('source-username') || undefined,
    sourcePassword: sourcePassword || undefined,
    destinations,
    tags,
    platforms,
    copyReferrers: parseBoolean('copy-referrers', core.getInput('copy-referrers'), true),
    concurrency: parseInteger('concurrency', core.getInput('concurrency'), 4, 1, 64),
    retry: {...DEFAULT_RETRY, retries: parseInteger('retries', core.getInput('retries'), DEFAULT_RETRY.retries, 0, 20)},
    dryRun: parseBoolean('dry-run', core.getInput('dry-run'), false),
    createRepositories: parseBoolean('create-repositories', core.getInput('create-repositories'), false),
    env: process.env,
    mask: s => core.setSecret(s),
    log: coreLogger,
    getIdToken: audience => core.getIDToken(audience),
    progressMs: Number(process.env.REGISTRY_ACTIONS_PROGRESS_SECONDS || 10) * 1000
  });
  for (const r of result.results) report(r);
  core.setOutput('digest', result.digest);
  core.setOutput('refs', result.refs.join('\n'));
  core.setOutput('results', JSON.stringify(result.results));
  await summary(result);
  if (result.failed.length) {
    throw new UserError(
      `${result.failed.length} of ${result.results.length} destination(s) failed: ${result.failed.map(f => f.destination).join(', ')} (each error above). The others were copied; a rerun completes the missing ones without uploading again.`
    );
  }
}
