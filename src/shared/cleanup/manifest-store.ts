import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {actionsCacheAvailable, restoreDir, saveDir} from '../actions-cache.js';
import {Logger} from '../log.js';
import {Shard} from '../shard.js';
import {sha256} from '../registry/digest.js';

/**
 * Manifests kept on disk between runs, by digest (`<dir>/sha256/<hex>`). A manifest never changes
 * under its digest, so a stored one is as good as a fresh read once its bytes hash to the digest;
 * anything else in the directory is ignored. Only manifests read or written in this run are kept when
 * the run prunes, so the store follows the packages it serves.
 */
export class ManifestStore {
  added = 0;
  private readonly used = new Set<string>();
  /** Manifests this run read from the registry and stored (not found from an earlier run). */
  private readonly putNow = new Set<string>();

  /** Whether an earlier run left manifests here (a listing may then ask for a digest before a body). */
  readonly warm: boolean;

  constructor(readonly dir: string) {
    // One entry read is enough to know (the directory may hold thousands).
    const kept = fs.existsSync(path.join(dir, 'sha256')) ? fs.opendirSync(path.join(dir, 'sha256')) : undefined;
    this.warm = !!kept?.readSync();
    kept?.closeSync();
  }

  private file(digest: string): string | undefined {
    const m = digest.match(/^sha256:([a-f0-9]{64})$/);
    return m ? path.join(this.dir, 'sha256', m[1]) : undefined;
  }

  /** The manifest's bytes when stored and intact. */
  get(digest: string): Buffer | undefined {
    const file = this.file(digest);
    if (!file) return undefined;
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      return undefined;
    }
    if (sha256(body) !== digest) return undefined;
    this.used.add(digest);
    return body;
  }

  /** Stores a manifest read from the registry (its bytes must hash to the digest); `added` counts new ones. */
  put(digest: string, body: Buffer): void {
    const file = this.file(digest);
    if (!file || sha256(body) !== digest || this.get(digest)) return;
    this.used.add(digest);
    fs.mkdirSync(path.dirname(file), {recursive: true});
    // Another run may share the directory: write aside, then rename into place.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, body);
    fs.renameSync(tmp, file);
    this.added++;
    this.putNow.add(digest);
  }

  /** Whether a stored manifest came from an earlier run (a cache hit), not from a read of this one. */
  fromEarlierRun(digest: string): boolean {
    return !this.putNow.has(digest);
  }

  /** Removes what this run did not use; how many were removed. */
  prune(): number {
    const dir = path.join(this.dir, 'sha256');
    let removed = 0;
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (this.used.has(`sha256:${name}`)) continue;
      fs.rmSync(path.join(dir, name), {force: true});
      removed++;
    }
    return removed;
  }
}

export interface StoreScope {
  /** The backend; a job of another kind (the audit) prefixes its own name, for a store of its own. */
  backend: string;
  registry: string;
  owner: string;
  packages: string[];
  /** The part of a matrix (shard: k/n) this run cleans. */
  shard?: Shard;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/** A job's store scope from its options; `kind` (audit) keeps a store apart from the cleanup's. */
export function storeScope(
  o: Pick<StoreScope, 'backend' | 'registry' | 'owner' | 'packages' | 'shard'>,
  ctx: Pick<StoreScope, 'env' | 'log'>,
  kind?: string
): StoreScope {
  return {
    backend: kind ? `${kind}-${o.backend}` : o.backend,
    registry: o.registry,
    owner: o.owner,
    packages: o.packages,
    ...(o.shard ? {shard: o.shard} : {}),
    env: ctx.env,
    log: ctx.log
  };
}

/**
 * The manifest store for one set of packages: a directory of its own (so pruning never touches
 * another workflow's), restored from the Actions cache when the runner offers it and the directory
 * is not already there (a self-hosted runner keeps it). `finish` prunes what the run did not use when
 * every package was read completely, and saves a new cache entry when anything changed.
 */
export async function openManifestStore(
  scope: StoreScope
): Promise<{store: ManifestStore; finish: (complete: boolean) => Promise<void>}> {
  const id = createHash('sha256')
    .update(
      JSON.stringify([
        scope.backend,
        scope.registry,
        scope.owner,
        [...scope.packages].sort(),
        // Each part of a matrix reads its own packages: a store (and cache key) of its own.
        ...(scope.shard ? [`${scope.shard.index}/${scope.shard.count}`] : [])
      ])
    )
    .digest('hex')
    .slice(0, 16);
  // The runner's tool cache (kept on self-hosted runners), else ~/.cache.
  const base = scope.env.RUNNER_TOOL_CACHE || path.join(os.homedir(), '.cache');
  const dir = path.join(base, 'registry-actions-manifests', id);
  const store = new ManifestStore(dir);
  const prefix = `registry-actions-manifests-${id}-`;
  const cached = actionsCacheAvailable();
  if (cached && !fs.existsSync(path.join(dir, 'sha256'))) {
    const hit = await restoreDir(
      dir,
      `${prefix}${scope.env.GITHUB_RUN_ID ?? ''}`,
      [prefix],
      scope.log,
      'manifest cache'
    );
    if (hit) scope.log.info(`manifest cache: restored from the Actions cache (${hit})`);
  }
  const finish = async (complete: boolean): Promise<void> => {
    const pruned = complete ? store.prune() : 0;
    if (!cached || (store.added === 0 && pruned === 0)) return;
    // Cache keys cannot be overwritten: one per run attempt, and per job (a matrix may clean the same set).
    const job = scope.env.GITHUB_JOB ? `-${scope.env.GITHUB_JOB}` : '';
    const key = `${prefix}${scope.env.GITHUB_RUN_ID ?? Date.now()}-${scope.env.GITHUB_RUN_ATTEMPT ?? '1'}${job}`;
    await saveDir(dir, key, scope.log, 'manifest cache');
  };
  return {store, finish};
}

/**
 * A manifest's (or config's) bytes by digest: from the store when it holds them intact, else `read`
 * and stored (put keeps only bytes that hash to the digest). `fresh`: a read was made.
 */
export async function storedOrRead(
  store: ManifestStore | undefined,
  digest: string,
  read: () => Promise<Buffer | undefined>
): Promise<{body?: Buffer; fresh: boolean}> {
  const kept = store?.get(digest);
  if (kept) return {body: kept, fresh: false};
  const body = await read();
  if (body) store?.put(digest, body);
  return {body, fresh: true};
}
