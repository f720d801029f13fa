import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {actionsCacheAvailable, restoreDir, saveDir} from '../actions-cache.js';
import {UserError} from '../errors.js';
import {exec} from '../exec.js';
import {Logger} from '../log.js';
import {isLoopback} from '../registry/client.js';
import {isolateTrivy, trivyDownloadArgs} from '../tools/trivy.js';

export interface DbMetadata {
  Version?: number;
  NextUpdate?: string;
  UpdatedAt?: string;
}

/** Reads `<cacheDir>/<db|java-db>/metadata.json`; undefined when the DB is not there. */
export function readMetadata(cacheDir: string, java = false): DbMetadata | undefined {
  const dir = path.join(cacheDir, java ? 'java-db' : 'db');
  const file = path.join(dir, 'metadata.json');
  if (!fs.existsSync(file) || !fs.existsSync(path.join(dir, java ? 'trivy-java.db' : 'trivy.db'))) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DbMetadata;
  } catch {
    return undefined;
  }
}

/** Whether a DB is usable without a download: schema version 2 (java 1) and its NextUpdate still ahead. Pure. */
export function isFresh(meta: DbMetadata | undefined, now: number, java = false): boolean {
  if (!meta || meta.Version !== (java ? 1 : 2) || !meta.NextUpdate) return false;
  return Date.parse(meta.NextUpdate) > now;
}

/** Whether a failed download is worth trying the next mirror for: rate limits, server errors, network. Pure. */
export function isTransient(stderr: string): boolean {
  return /TOOMANYREQUESTS|UNAVAILABLE|\b429\b|Too Many Requests|\b50[0-9]\b|Service Unavailable|Bad Gateway|timeout|connection (refused|reset)|EOF|no such host/i.test(
    stderr
  );
}

export const cacheKey = (day: string, java: boolean): string =>
  `registry-actions-trivy-${java ? 'java-db-v1' : 'db-v2'}-${day}`;

export interface DbOptions {
  trivy: string;
  cacheDir: string;
  repositories: string[];
  java: boolean;
  now: number;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Use the GitHub Actions cache (when the runner offers it). */
  actionsCache: boolean;
  /** trivy's own working directory (isolateTrivy), away from the workspace's config files. */
  workDir: string;
}

export interface DbState {
  source: 'local' | 'actions-cache' | 'download';
  repository?: string;
  metadata: DbMetadata;
  /** Mirrors that failed before one answered, with why. */
  failedMirrors: string[];
}

function lastError(stderr: string): string {
  // trivy prints one FATAL line followed by the nested causes as bullet lines: keep them together.
  const text = stderr.replace(/\s+/g, ' ').trim();
  const at = text.search(/FATAL|ERROR/);
  return (at >= 0 ? text.slice(at) : text).slice(0, 400);
}

/**
 * Makes the vulnerability DB (or the Java DB) ready in cacheDir: a fresh local copy is used as is (no
 * network at all); otherwise the Actions cache is tried, then each repository in order, moving to the
 * next on rate limits and server errors. A downloaded DB is saved to the Actions cache at once, so a
 * job that fails later still leaves it for the next run.
 */
export async function ensureDb(o: DbOptions): Promise<DbState> {
  const what = o.java ? 'Java DB' : 'vulnerability DB';
  const local = readMetadata(o.cacheDir, o.java);
  if (isFresh(local, o.now, o.java)) return {source: 'local', metadata: local as DbMetadata, failedMirrors: []};
  const dbDir = path.join(o.cacheDir, o.java ? 'java-db' : 'db');
  const day = new Date(o.now).toISOString().slice(0, 10);
  const useCache = o.actionsCache && actionsCacheAvailable();
  if (useCache) {
    const prefixes = [`${cacheKey(day, o.java)}-`, cacheKey('', o.java)];
    const hit = await restoreDir(dbDir, cacheKey(day, o.java), prefixes, o.log, what);
    const restored = readMetadata(o.cacheDir, o.java);
    if (hit && isFresh(restored, o.now, o.java)) {
      o.log.info(`${what}: restored from the Actions cache (${hit}), updated ${restored?.UpdatedAt}`);
      return {source: 'actions-cache', metadata: restored as DbMetadata, failedMirrors: []};
    }
  }
  const failed: string[] = [];
  const isolated = isolateTrivy(o.workDir);
  for (const repository of o.repositories) {
    o.log.info(`${what}: downloading from ${repository}`);
    const res = await exec({
      command: o.trivy,
      args: trivyDownloadArgs({
        cacheDir: o.cacheDir,
        repository,
        java: o.java,
        insecure: isLoopback(repository.split('/')[0]),
        isolation: isolated.flags
      }),
      env: o.env,
      cwd: isolated.cwd,
      timeoutMs: 15 * 60_000
    });
    const meta = readMetadata(o.cacheDir, o.java);
    if (res.code === 0 && meta) {
      if (useCache) {
        const key = `${cacheKey(day, o.java)}-${createHash('sha256')
          .update(meta.UpdatedAt ?? '')
          .digest('hex')
          .slice(0, 12)}`;
        await saveDir(dbDir, key, o.log, what);
      }
      return {source: 'download', repository, metadata: meta, failedMirrors: failed};
    }
    const why = lastError(res.stderr || res.stdout);
    if (!isTransient(res.stderr + res.stdout)) {
      throw new UserError(
        `${what} download from ${repository} failed (trivy exit ${res.code}): ${why}. This is a DB problem, not a finding; check the repository name and its credentials.`
      );
    }
    failed.push(`${repository} (${why})`);
    o.log.warning(`${what}: ${repository} failed (${why}); trying the next repository`);
  }
  throw new UserError(
    `${what} could not be downloaded from any repository: ${failed.join('; ')}. This is a DB problem, not a finding: add a mirror to ${o.java ? 'java-db-repository' : 'db-repository'}, or retry later.`
  );
}
