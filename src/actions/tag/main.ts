import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ActionIO, githubIO} from '../../shared/action/io.js';
import {getMultiline} from '../../shared/action/run.js';
import {githubApiFromEnv} from '../../shared/github/api.js';
import {Metadata, bakeDefinitions} from '../../shared/tag/meta.js';
import {Clients} from '../../shared/registry/clients.js';
import {DEFAULT_RETRY} from '../../shared/registry/retry.js';
import {applyRegistryModes} from '../../shared/tag/registry-modes.js';
import {resolveTagMetadata} from '../../shared/tag/resolve.js';

function setOutput(io: ActionIO, name: string, value: string): void {
  io.output(name, value);
  const exportEnv = process.env.DOCKER_METADATA_SET_OUTPUT_ENV;
  if (exportEnv === undefined || /^(true|1|yes)$/i.test(exportEnv)) {
    io.exportVariable(`DOCKER_METADATA_OUTPUT_${name.replace(/\W/g, '_').toUpperCase()}`, value);
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

async function summary(io: ActionIO, meta: Metadata): Promise<void> {
  const summary = io.summary;
  if (!summary) return;
  const rows = meta.classified.map(t => [t.ref, t.kind, t.type]);
  await summary
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

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const token = io.input('github-token');
  if (token) io.mask(token);
  const sep = (name: string): string => io.input(name, {trimWhitespace: false}) || '\n';
  let meta = await resolveTagMetadata(
    {
      context: io.input('context'),
      images: io.input('images'),
      tags: io.input('tags'),
      flavor: io.input('flavor'),
      labels: io.input('labels'),
      annotations: io.input('annotations'),
      tagPrefix: io.input('tag-prefix'),
      environment: io.input('environment'),
      api: githubApiFromEnv(process.env, token)
    },
    process.env,
    io.log
  );
  const immutable = getMultiline(io, 'immutable');
  if (immutable.length > 0 || meta.classified.some(t => t.highest)) {
    const clients = new Clients({
      env: process.env,
      mask: m => io.mask(m),
      log: io.log,
      retry: DEFAULT_RETRY,
      concurrency: 4
    });
    meta = await applyRegistryModes(meta, {
      immutable,
      digest: io.input('digest') || undefined,
      client: r => clients.get(r),
      log: io.log
    });
  }
  if (!meta.version.main) io.log.warning('No Docker image version has been generated. Check tags input.');
  else io.log.info(`version: ${meta.version.main}`);
  if (meta.tags.length === 0) io.log.warning('No Docker tag has been generated. Check tags input.');
  await io.log.group('Tags', async () => meta.tags.forEach(t => io.log.info(t)));
  await io.log.group('Labels', async () => meta.labels.forEach(l => io.log.info(l)));

  setOutput(io, 'version', meta.version.main ?? '');
  setOutput(io, 'tags', meta.tags.join(sep('sep-tags')));
  setOutput(io, 'tag-names', meta.tagNames.join(sep('sep-tags')));
  setOutput(io, 'labels', meta.labels.join(sep('sep-labels')));
  setOutput(io, 'annotations', meta.annotations.join(sep('sep-annotations')));
  setOutput(io, 'json', JSON.stringify(meta.json));
  setOutput(io, 'tags-json', JSON.stringify(meta.classified));
  const bake = writeBakeFiles(meta, io.input('bake-target') || 'docker-metadata-action');
  setOutput(io, 'bake-file-tags', bake.tags);
  setOutput(io, 'bake-file-labels', bake.labels);
  setOutput(io, 'bake-file-annotations', bake.annotations);
  setOutput(io, 'bake-file', bake.all);
  await summary(io, meta);
}
