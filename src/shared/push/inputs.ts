import {ActionIO} from '../action/io.js';
import {getItems, getMultiline} from '../action/run.js';
import {UserError} from '../errors.js';
import {parseBoolean, parseInteger} from '../inputs.js';
import {DEFAULT_RETRY} from '../registry/retry.js';
import {BuildOptions} from './buildx.js';
import {parseDestinations} from './destinations.js';
import {readPolicy} from '../policy/policy.js';
import {PushOptions, isLayoutSource} from './push.js';
import {readImmutableTags} from './immutable.js';

/** push-multi's inputs, read and validated in one place; `build` when buildx makes the source first. */
export type PushInputs = Omit<PushOptions, 'env' | 'mask' | 'log' | 'getIdToken' | 'progressMs' | 'source'> & {
  source?: string;
  build?: Omit<BuildOptions, 'output'>;
};

/** The policy input and how cosign checks it: only for a source in a registry, where its attestations live. */
function promotionPolicy(
  io: ActionIO,
  env: NodeJS.ProcessEnv,
  registrySource: boolean
): Pick<PushOptions, 'policy' | 'gate'> {
  const policy = readPolicy(io.input('policy'), 'policy', env);
  if (!policy) return {};
  if (!registrySource)
    throw new UserError(
      'policy: checks signatures and attestations in the source registry; give a registry source (not build or oci:).'
    );
  return {
    policy,
    gate: {
      trustedRoot: io.input('trusted-root') || undefined,
      cosignVersion: io.input('cosign-version'),
      cosignPath: io.input('cosign-path') || undefined,
      notationPath: io.input('notation-path') || undefined
    }
  };
}

/** Reads every push-multi input through `io` (the runner's or the command line's). */
export function readPushInputs(io: ActionIO, env: NodeJS.ProcessEnv = process.env): PushInputs {
  const sourcePassword = io.input('source-password');
  if (sourcePassword) io.mask(sourcePassword);
  const source = io.input('source') || undefined;
  let build: PushInputs['build'];
  if (parseBoolean('build', io.input('build'), false)) {
    if (source) throw new UserError('source: leave it empty with build: true (the built image is the source).');
    build = {
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
      secretEnvs: getMultiline(io, 'secret-envs')
    };
  }
  if (!source && !build)
    throw new UserError('source: give the image to copy (a reference such as ghcr.io/acme/app:1.2.3 or oci:./layout).');
  const destinations = parseDestinations(getMultiline(io, 'destinations'));
  if (destinations.length === 0)
    throw new UserError('destinations: give at least one repository to copy to, one per line.');
  for (const d of destinations) if (d.password) io.mask(d.password);
  return {
    source,
    build,
    sourceUsername: io.input('source-username') || undefined,
    sourcePassword: sourcePassword || undefined,
    destinations,
    tags: getItems(io, 'tags'),
    platforms: getItems(io, 'platforms', ['all']),
    copyReferrers: parseBoolean('copy-referrers', io.input('copy-referrers'), true),
    concurrency: parseInteger('concurrency', io.input('concurrency'), 4, 1, 64),
    retry: {...DEFAULT_RETRY, retries: parseInteger('retries', io.input('retries'), DEFAULT_RETRY.retries, 0, 20)},
    dryRun: parseBoolean('dry-run', io.input('dry-run'), false),
    createRepositories: parseBoolean('create-repositories', io.input('create-repositories'), false),
    lockTags: parseBoolean('lock-tags', io.input('lock-tags'), false),
    immutableTags: readImmutableTags(getItems(io, 'immutable-tags')),
    moveImmutableTags: parseBoolean('move-immutable-tags', io.input('move-immutable-tags'), false),
    ...promotionPolicy(io, env, !!source && !isLayoutSource(source))
  };
}
