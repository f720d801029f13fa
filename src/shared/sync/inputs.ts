import fs from 'node:fs';
import path from 'node:path';
import {ActionIO} from '../action/io.js';
import {getItems, getMultiline} from '../action/run.js';
import {UserError} from '../errors.js';
import {parseBoolean, parseInteger} from '../inputs.js';
import {RegistryLogin} from '../registry/credentials.js';
import {readLogins} from '../registry/logins.js';
import {DEFAULT_RETRY, RetryPolicy} from '../registry/retry.js';
import {SyncEntry, parseSyncConfig} from './config.js';
import {ImmutableTags, readImmutableTags} from '../push/immutable.js';
import {Shard, parseShard} from '../shard.js';

/** The sync action's inputs, read, parsed and checked in one place. */
export interface SyncInputs {
  entries: SyncEntry[];
  logins: Map<string, RegistryLogin>;
  dryRun: boolean;
  /** Start no new copy from a registry whose reported pull budget (ratelimit-remaining) is under this. */
  floor: number;
  /** Images copied at once per source registry; blobs in flight per image and destination. */
  concurrency: number;
  retry: RetryPolicy;
  createRepositories: boolean;
  /** When the rate limit stops the run, pass with a warning instead of failing. */
  allowIncomplete: boolean;
  /** cosign for entries with a verify rule (found on PATH or installed at the pinned version otherwise). */
  cosignPath?: string;
  /** For verify rules with a Notation signer. */
  notationPath?: string;
  /** A private Sigstore's trusted root for keyless verify rules. */
  trustedRoot?: string;
  /** Tags that never move at a destination (immutable-tags); undefined: no guard. */
  immutableTags?: ImmutableTags;
  moveImmutableTags: boolean;
  /** This job's part of the entries (shard: k/n in a matrix). */
  shard?: Shard;
}

export function readSyncInputs(io: ActionIO, env: NodeJS.ProcessEnv): SyncInputs {
  const inline = io.input('config', {trimWhitespace: false});
  const file = io.input('config-file');
  if (inline.trim() && file) throw new UserError('config and config-file are both given; give one.');
  if (!inline.trim() && !file)
    throw new UserError(
      'config: give the images to mirror inline (config) or in a file of the repository (config-file).'
    );
  let text = inline;
  let name = 'config';
  if (file) {
    const full = path.resolve(env.GITHUB_WORKSPACE || '.', file);
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch (err) {
      throw new UserError(
        `config-file: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); give a path relative to the workspace.`
      );
    }
    name = `config-file ${file}`;
  }
  return {
    entries: parseSyncConfig(text, name),
    logins: readLogins(getMultiline(io, 'logins'), 'logins', env, s => io.mask(s)),
    dryRun: parseBoolean('dry-run', io.input('dry-run'), false),
    floor: parseInteger('rate-limit-floor', io.input('rate-limit-floor'), 10, 0, 100_000),
    concurrency: parseInteger('concurrency', io.input('concurrency'), 4, 1, 64),
    retry: {...DEFAULT_RETRY, retries: parseInteger('retries', io.input('retries'), DEFAULT_RETRY.retries, 0, 20)},
    createRepositories: parseBoolean('create-repositories', io.input('create-repositories'), false),
    allowIncomplete: parseBoolean('allow-incomplete', io.input('allow-incomplete'), false),
    cosignPath: io.input('cosign-path') || undefined,
    notationPath: io.input('notation-path') || undefined,
    trustedRoot: io.input('trusted-root') || undefined,
    immutableTags: readImmutableTags(getItems(io, 'immutable-tags')),
    moveImmutableTags: parseBoolean('move-immutable-tags', io.input('move-immutable-tags'), false),
    shard: parseShard(io.input('shard'))
  };
}
