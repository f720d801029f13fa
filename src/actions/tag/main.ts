import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import {coreLogger, getMultiline} from '../../shared/action/run.js';
import {githubApiFromEnv} from '../../shared/github/api.js';
import {Metadata, bakeDefinitions} from '../../shared/tag/meta.js';
import {Clients} from '../../shared/registry/clients.js';
import {DEFAULT_RETRY} from '../../shared/registry/retry.js';
import {applyRegistryModes} from '../../shared/tag/registry-modes.js';
import {resolveTagMetadata} from '../../shared/tag/resolve.js';

function setOutput(name: string, value: string): void {
  core.setOutput(name, value);
  const exportEnv = process.env.DOCKER_METADATA_SET_OUTPUT_ENV;
  if (exportEnv === undefined || /^(true|1|yes)$/i.test(exportEnv)) {
    core.exportVariable(`DOCKER_METADATA_OUTPUT_${name.replace(/\W/g, '_').toUpperCase()}`, value);
  }
}

function writeBakeFiles(meta: Metadata, target: string): Record<string, string> {
  const base = process.env.RUNNER_TEMP || os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'registry-actions-tag-'));
  const files: Record<string, string> = {};
  for (const [kind, body] of Object.entries(bakeDefinitions(meta, target))) {
    const file = path.join(
      dir,
      kind === 'all' ? 'docker-metadata-action-bake.json' : `docker-metadata-action-bake-${kind}.json`
    );
    fs.writeFileSync(file, JSON.stringify(body, null, 2));
    files[kind] = file;
  }
  return files;
}

async function summary(meta: Metadata): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const rows = meta.classified.map(t => [t.ref, t.kind, t.type]);
  await core.summary
    .addHeading('Image tags', 3)
    .addTable([
      [
        {data: 'reference', header: true},
        {data: 'kind', header: true},
        {data: 'from', header: true}
      ],
      ...rows
    ])
    .write();
}

export async function main(): Promise<void> {
  const token = core.getInput('github-token');
  if (token) core.setSecret(token);
  const sep = (name: string): string => core.getInput(name, {trimWhitespace: false}) || '\n';
  let meta = await resolveTagMetadata(
    {
      context: core.getInput('context'),
      images: core.getInput('images'),
      tags: core.getInput('tags'),
      flavor: core.getInput('flavor'),
      labels: core.getInput('labels'),
      annotations: core.getInput('annotations'),
      tagPrefix: core.getInput('tag-prefix'),
      environment: core.getInput('environment'),
      api: githubApiFromEnv(process.env, token)
    },
    process.env,
    coreLogger
  );
  const immutable = getMultiline('immutable');
  if (immutable.length > 0 || meta.classified.some(t => t.highest)) {
    const clients = new Clients({
      env: process.env,
      mask: m => core.setSecret(m),
      log: coreLogger,
      retry: DEFAULT_RETRY,
      concurrency: 4
    });
    meta = await applyRegistryModes(meta, {
      immutable,
      digest: core.getInput('digest') || undefined,
      client: r => clients.get(r),
      log: coreLogger
    });
  }
  if (!meta.version.main) core.warning('No Docker image version has been generated. Check tags input.');
  else core.info(`version: ${meta.version.main}`);
  if (meta.tags.length === 0) core.warning('No Docker tag has been generated. Check tags input.');
  await core.group('Tags', async () => meta.tags.forEach(t => core.info(t)));
  await core.group('Labels', async () => meta.labels.forEach(l => core.info(l)));

  setOutput('version', meta.version.main ?? '');
  setOutput('tags', meta.tags.join(sep('sep-tags')));
  setOutput('tag-names', meta.tagNames.join(sep('sep-tags')));
  setOutput('labels', meta.labels.join(sep('sep-labels')));
  setOutput('annotations', meta.annotations.join(sep('sep-annotations')));
  setOutput('json', JSON.stringify(meta.json));
  setOutput('tags-json', JSON.stringify(meta.classified));
  const bake = writeBakeFiles(meta, core.getInput('bake-target') || 'docker-metadata-action');
  setOutput('bake-file-tags', bake.tags);
  setOutput('bake-file-labels', bake.labels);
  setOutput('bake-file-annotations', bake.annotations);
  setOutput('bake-file', bake.all);
  await summary(meta);
}
