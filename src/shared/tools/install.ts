import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {UserError} from '../errors.js';
import {execOk} from '../exec.js';
import {Logger} from '../log.js';
import {httpFetch} from '../http.js';

/**
 * How to get one external tool (cosign, trivy): a pinned release downloaded with its published
 * checksum verified and kept in the tool cache, an explicit path, or one already on PATH.
 */
export interface ToolSpec {
  /** Executable name (cosign, trivy). */
  name: string;
  /** The input that names the version (cosign-version), for messages. */
  versionInput: string;
  /** The input that names an explicit path (cosign-path), for messages. */
  pathInput: string;
  /** Oldest version this project drives correctly (flags it passes explicitly). */
  minimum: string;
  /** Release download: the asset for this platform and the checksums file, under `base/<tag>/`. */
  asset: (
    version: string,
    platform: NodeJS.Platform,
    arch: string
  ) => {file: string; checksums: string; binaryInArchive?: string};
  /**
   * SHA-256 of release assets known ahead (version without v → asset file → hex): used instead of the
   * release's own checksums file, so a compromised release page cannot swap both.
   */
  pinnedChecksums?: Record<string, Record<string, string>>;
  /** Default release base URL; overridable through the environment variable named here. */
  releasesUrl: string;
  releasesUrlEnv: string;
  /** Reads the version of a binary ("v3.1.3" or "0.58.1"). */
  version: (binary: string, env: NodeJS.ProcessEnv) => Promise<string>;
}

export interface ToolRequest {
  /** Requested version: a release tag such as v3.1.3, or empty for the pinned default. */
  version: string;
  /** Explicit path to a binary (the *-path input). */
  path?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Who uses the tool, for the log line that says which one runs ("gate: cosign v3.1.3 (PATH: …)"). */
  role?: string;
}

export interface ResolvedTool {
  path: string;
  version: string;
  source: 'path-input' | 'PATH' | 'cache' | 'download';
}

/** Parses "v3.1.3", "3.1.3", "v0.58.1-rc.1" into numbers; undefined for anything else (devel builds). */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = v.trim().match(/^v?(\d+)\.(\d+)\.(\d+)/);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return 0;
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

const sameVersion = (a: string, b: string): boolean => a.replace(/^v/, '') === b.replace(/^v/, '');

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The sha256 of `file` as listed in a checksums file (`<hex>  <name>` per line). */
export function checksumFor(checksums: string, file: string): string | undefined {
  for (const line of checksums.split('\n')) {
    const m = line.trim().match(/^([a-f0-9]{64})\s+\*?(.+)$/);
    if (m && (m[2] === file || path.basename(m[2]) === file)) return m[1];
  }
  return undefined;
}

async function download(url: string, dest: string): Promise<string> {
  let res: Response;
  try {
    res = await httpFetch(url, {redirect: 'follow'});
  } catch (err) {
    throw new UserError(`could not download ${url}: ${(err as Error).message}`);
  }
  if (!res.ok || !res.body) throw new UserError(`could not download ${url}: HTTP ${res.status}`);
  const hash = createHash('sha256');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, fs.createWriteStream(dest, {mode: 0o755}));
  return hash.digest('hex');
}

function cacheRoot(env: NodeJS.ProcessEnv): string {
  return env.RUNNER_TOOL_CACHE || path.join(env.HOME || os.homedir(), '.cache', 'registry-actions', 'tools');
}

/** The sha256 of an asset as the release's checksums file lists it. */
async function publishedChecksum(
  spec: ToolSpec,
  base: string,
  tag: string,
  asset: {file: string; checksums: string}
): Promise<string> {
  const checksumsRes = await httpFetch(`${base}/${tag}/${asset.checksums}`).catch((err: Error) => {
    throw new UserError(`could not download ${base}/${tag}/${asset.checksums}: ${err.message}`);
  });
  if (!checksumsRes.ok) {
    throw new UserError(
      `${spec.versionInput}: ${spec.name} ${tag} has no checksums at ${base}/${tag}/${asset.checksums} (HTTP ${checksumsRes.status}). Check the version exists.`
    );
  }
  const expected = checksumFor(await checksumsRes.text(), asset.file);
  if (!expected) throw new UserError(`${spec.name} ${tag}: ${asset.checksums} lists no checksum for ${asset.file}.`);
  return expected;
}

/**
 * Finds or installs a tool. Order: the explicit path input; a binary on PATH of exactly the requested
 * version (the pinned one when none is requested: what runs is what the README promises); the tool
 * cache; a download of that release, checked against its published checksum.
 */
export async function resolveTool(spec: ToolSpec, pinned: string, req: ToolRequest): Promise<ResolvedTool> {
  const tool = await findOrInstall(spec, pinned, req);
  req.log.info(`${req.role ? `${req.role}: ` : ''}${spec.name} ${tool.version} (${tool.source}: ${tool.path})`);
  return tool;
}

async function findOrInstall(spec: ToolSpec, pinned: string, req: ToolRequest): Promise<ResolvedTool> {
  const wanted = req.version.trim() || pinned;
  if (!parseVersion(wanted)) {
    throw new UserError(`${spec.versionInput}: "${req.version}" is not a release version; write it like ${pinned}.`);
  }
  const check = async (binary: string, input: string): Promise<string> => {
    let version: string;
    try {
      version = await spec.version(binary, req.env);
    } catch (err) {
      throw new UserError(`${input}: ${binary} did not report a version: ${(err as Error).message}`);
    }
    if (parseVersion(version) && compareVersions(version, spec.minimum) < 0) {
      throw new UserError(
        `${input}: ${binary} is ${spec.name} ${version}, older than ${spec.minimum}, which this action needs. Upgrade it, or leave ${spec.pathInput} empty to use the pinned ${pinned}.`
      );
    }
    return version;
  };
  if (req.path) {
    if (!fs.existsSync(req.path)) throw new UserError(`${spec.pathInput}: ${req.path} does not exist.`);
    return {path: req.path, version: await check(req.path, spec.pathInput), source: 'path-input'};
  }
  const onPath = findOnPath(spec.name, req.env);
  if (onPath) {
    const version = await check(onPath, `${spec.name} on PATH`);
    if (sameVersion(version, wanted)) return {path: onPath, version, source: 'PATH'};
    req.log.info(
      `${spec.name} ${version} on PATH is not the ${req.version.trim() ? 'requested' : 'pinned'} ${wanted}; installing ${wanted} (${spec.pathInput} uses another binary).`
    );
  }
  const tag = wanted.startsWith('v') ? wanted : `v${wanted}`;
  const dir = path.join(cacheRoot(req.env), spec.name, tag.slice(1), os.arch());
  const binary = path.join(dir, process.platform === 'win32' ? `${spec.name}.exe` : spec.name);
  if (fs.existsSync(`${dir}.complete`) && fs.existsSync(binary)) return {path: binary, version: tag, source: 'cache'};

  const asset = spec.asset(tag, process.platform, os.arch());
  const base = (req.env[spec.releasesUrlEnv] || spec.releasesUrl).replace(/\/$/, '');
  const expected =
    spec.pinnedChecksums?.[tag.slice(1)]?.[asset.file] ?? (await publishedChecksum(spec, base, tag, asset));
  fs.rmSync(dir, {recursive: true, force: true});
  fs.mkdirSync(dir, {recursive: true});
  const downloaded = path.join(dir, asset.file);
  req.log.info(`downloading ${spec.name} ${tag} from ${base}/${tag}/${asset.file}`);
  const actual = await download(`${base}/${tag}/${asset.file}`, downloaded);
  if (actual !== expected) {
    fs.rmSync(dir, {recursive: true, force: true});
    throw new UserError(
      `${spec.name} ${tag}: the download of ${asset.file} has sha256 ${actual}, but ${asset.checksums} says ${expected}. Nothing was installed; retry, and report it if it persists.`
    );
  }
  if (asset.binaryInArchive) {
    await execOk({command: 'tar', args: ['-xzf', downloaded, '-C', dir, asset.binaryInArchive], env: req.env});
    fs.rmSync(downloaded);
    fs.renameSync(path.join(dir, asset.binaryInArchive), binary);
  } else if (downloaded !== binary) {
    fs.renameSync(downloaded, binary);
  }
  fs.chmodSync(binary, 0o755);
  fs.writeFileSync(`${dir}.complete`, '');
  return {path: binary, version: tag, source: 'download'};
}
