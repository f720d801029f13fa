import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ActionIO} from '../action/io.js';
import {getMultiline} from '../action/run.js';
import {githubApiFromEnv} from '../github/api.js';
import {Logger} from '../log.js';
import {Mask} from '../registry/credentials.js';
import {Clients} from '../registry/clients.js';
import {DEFAULT_RETRY} from '../registry/retry.js';
import {Metadata, bakeDefinitions} from './meta.js';
import {applyRegistryModes} from './registry-modes.js';
import {TagOptions, resolveTagMetadata} from './resolve.js';

/** The tag action's inputs (the list inputs keep metadata-action's CSV rules; they are parsed when derived). */
export interface TagInputs extends Omit<TagOptions, 'api'> {
  githubToken: string;
  immutable: string[];
  digest?: string;
  bakeTarget: string;
  /** Separators of the list outputs (kept untrimmed; newline when empty). */
  sepTags: string;
  sepLabels: string;
  sepAnnotations: string;
}

/** Reads every tag input through `io` (the runner's or the command line's). */
export function readTagInputs(io: ActionIO): TagInputs {
  const token = io.input('github-token');
  if (token) io.mask(token);
  const sep = (name: string): string => io.input(name, {trimWhitespace: false}) || '\n';
  return {
    githubToken: token,
    context: io.input('context') || 'workflow',
    images: io.input('images'),
    tags: io.input('tags'),
    flavor: io.input('flavor'),
    labels: io.input('labels'),
    annotations: io.input('annotations'),
    tagPrefix: io.input('tag-prefix'),
    environment: io.input('environment'),
    immutable: getMultiline(io, 'immutable'),
    digest: io.input('digest') || undefined,
    bakeTarget: io.input('bake-target') || 'docker-metadata-action',
    sepTags: sep('sep-tags'),
    sepLabels: sep('sep-labels'),
    sepAnnotations: sep('sep-annotations')
  };
}

/** Writes the buildx bake definitions (tags, labels, annotations, all) to files; their paths by kind. */
export function writeBakeFiles(meta: Metadata, target: string): Record<string, string> {
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

/**
 * Derives the tags, labels and annotations from the workflow or git context, then (when asked) checks
 * them against the registry: latest=highest and immutable tags. For the action and the command line.
 */
export async function deriveTags(
  inputs: TagInputs,
  ctx: {env: NodeJS.ProcessEnv; log: Logger; mask: Mask}
): Promise<Metadata> {
  let meta = await resolveTagMetadata(
    {...inputs, api: githubApiFromEnv(ctx.env, inputs.githubToken)},
    ctx.env,
    ctx.log
  );
  if (inputs.immutable.length > 0 || meta.classified.some(t => t.highest)) {
    const clients = new Clients({env: ctx.env, mask: ctx.mask, log: ctx.log, retry: DEFAULT_RETRY, concurrency: 4});
    meta = await applyRegistryModes(meta, {
      immutable: inputs.immutable,
      digest: inputs.digest,
      client: r => clients.get(r),
      log: ctx.log
    });
  }
  return meta;
}
