import {ActionIO} from '../action/io.js';
import {withRenamedInputs} from '../action/renamed.js';
import {getItems, getMultiline} from '../action/run.js';
import {UserError} from '../errors.js';
import {parseShard} from '../shard.js';
import {parseBoolean, parseInteger, parsePatterns} from '../inputs.js';
import {readLogins} from '../registry/logins.js';
import {compilePolicy} from './policy.js';
import {BACKENDS, BackendName} from './backends/index.js';
import {CleanupOptions} from './run.js';
import {Recheck} from './wave-read.js';

/** The cleanup action's inputs, read and validated in one place; errors name the input. */
export type CleanupInputs = Omit<CleanupOptions, 'now' | 'env' | 'mask' | 'log' | 'store'> & {
  /** Keep manifests between runs (Actions cache or tool cache). */
  manifestCache: boolean;
  /** When the rate-limit floor stops the run, pass with a warning instead of failing. */
  allowIncomplete: boolean;
};

const optionalInt = (io: ActionIO, name: string): number | undefined =>
  io.input(name).trim() === '' ? undefined : parseInteger(name, io.input(name), 0, 0, 100000);

/**
 * recheck: true (each deletion read first), wave (one read per wave: GHCR's listing pages holding it,
 * or the OCI API's tags) or false.
 */
export function parseRecheck(value: string, backend: string): Recheck {
  const v = value.trim().toLowerCase();
  if (v === 'wave') {
    if (backend !== 'ghcr' && backend !== 'oci')
      throw new UserError(
        `recheck: wave reads a wave's versions in one go instead of each (GHCR's listing pages, to spare the GitHub API budget; the OCI API's tags, resolved once a wave instead of once a deletion); backend ${backend} checks each deletion at the registry cheaply: use true or false.`
      );
    return 'wave';
  }
  try {
    return parseBoolean('recheck', value, true) ? 'each' : 'off';
  } catch {
    throw new UserError(`recheck: "${value}" is not one of true, wave, false.`);
  }
}

function ecrPreview(io: ActionIO, backend: string): boolean {
  const on = parseBoolean('ecr-lifecycle-preview', io.input('ecr-lifecycle-preview'), false);
  if (on && backend !== 'ecr') throw new UserError('ecr-lifecycle-preview: applies to backend: ecr only.');
  return on;
}

/** Reads every cleanup input through `io` (the runner's or the command line's); env gives the workflow defaults. */
export function readCleanupInputs(
  given: ActionIO,
  env: NodeJS.ProcessEnv,
  /** The audit: retention rules only say what is reclaimable, and may be left out. */
  rulesOptional = false
): CleanupInputs {
  const io = withRenamedInputs(given, 'ghcr-cleanup');
  const backend = (io.input('backend') || 'ghcr').trim() as BackendName;
  if (!(BACKENDS as readonly string[]).includes(backend))
    throw new UserError(`backend: "${backend}" is not one of ${BACKENDS.join(', ')}.`);
  if (['ecr', 'acr', 'gar', 'harbor'].includes(backend) && !io.input('registry-url'))
    throw new UserError(
      `registry-url: backend ${backend} needs the registry's host (for example 123456789012.dkr.ecr.eu-west-1.amazonaws.com).`
    );
  const token = io.input('github-token');
  if (token) io.mask(token);
  if (!token && backend === 'ghcr') {
    throw new UserError('github-token: give a token (GITHUB_TOKEN with packages: write, or a classic token).');
  }
  const logins = readLogins(getMultiline(io, 'logins'), 'logins', env, s => io.mask(s));
  const repository = io.input('repository') || env.GITHUB_REPOSITORY || '';
  const owner = io.input('owner') || env.GITHUB_REPOSITORY_OWNER || repository.split('/')[0];
  if (!owner && backend === 'ghcr') throw new UserError('owner: give the user or organisation that owns the packages.');
  const packages = getItems(io, 'packages');
  if (packages.length === 0 && repository) packages.push(repository.split('/')[1]);
  if (packages.length === 0) throw new UserError('packages: give the package names to clean.');
  const useRegex = parseBoolean('use-regex', io.input('use-regex'), false);
  const patterns = (name: string): string[] => parsePatterns(io.input(name), useRegex);
  const policy = compilePolicy(
    {
      keepNTagged: optionalInt(io, 'keep-n-tagged'),
      keepNUntagged: optionalInt(io, 'keep-n-untagged'),
      keepSemver: io.input('keep-semver') || undefined,
      olderThan: io.input('older-than') || undefined,
      deleteTags: patterns('delete-tags'),
      excludeTags: patterns('exclude-tags'),
      useRegex,
      deleteUntagged: parseBoolean('delete-untagged', io.input('delete-untagged'), false),
      deleteOrphans: parseBoolean('delete-orphans', io.input('delete-orphans'), false),
      deleteGhosts: parseBoolean('delete-ghosts', io.input('delete-ghosts'), false),
      deletePartial: parseBoolean('delete-partial', io.input('delete-partial'), false),
      ephemeral: getItems(io, 'ephemeral'),
      branchTags: patterns('branch-tags'),
      policy: io.input('policy') || undefined
    },
    rulesOptional
  );
  const dryRun = parseBoolean('dry-run', io.input('dry-run'), false);
  const registry = (io.input('registry-url') || (backend === 'dockerhub' ? 'docker.io' : 'ghcr.io'))
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  return {
    backend,
    logins,
    owner,
    packages,
    token,
    apiUrl: io.input('github-api-url') || env.GITHUB_API_URL || 'https://api.github.com',
    vendorApiUrl: io.input('api-url') || undefined,
    registry,
    username: env.GITHUB_ACTOR || owner,
    policy,
    dryRun,
    repository: repository || undefined,
    deletesPerMinute: parseInteger('deletes-per-minute', io.input('deletes-per-minute'), 150, 1, 6000),
    floor: parseInteger('rate-limit-floor', io.input('rate-limit-floor'), 50, 0, 100_000),
    shard: parseShard(io.input('shard')),
    allowIncomplete: parseBoolean('allow-incomplete', io.input('allow-incomplete'), false),
    concurrency: parseInteger('concurrency', io.input('concurrency'), 8, 1, 64),
    verify: parseBoolean('verify-after', io.input('verify-after'), true),
    recheck: parseRecheck(io.input('recheck'), backend),
    manifestCache: parseBoolean('manifest-cache', io.input('manifest-cache'), true),
    ecrPreview: ecrPreview(io, backend)
  };
}
