import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../errors.js';
import {execOk} from '../exec.js';
import {Credential} from './auth.js';
import {isDockerHub} from './reference.js';

/** Called on every secret the moment it is read (core.setSecret in actions). */
export type Mask = (secret: string) => void;

interface DockerConfig {
  auths?: Record<
    string,
    {auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string}
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Keys a docker config may use for a registry (Docker Hub has its historical URL). */
function configKeys(registry: string): string[] {
  if (isDockerHub(registry))
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  return path.join(env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker'), 'config.json');
}

function readConfig(env: NodeJS.ProcessEnv): DockerConfig | undefined {
  const file = dockerConfigPath(env);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DockerConfig;
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message}): fix or remove it.`);
  }
}

async function fromHelper(
  helper: string,
  registry: string,
  mask: Mask,
  env: NodeJS.ProcessEnv
): Promise<Credential | undefined> {
  const server = isDockerHub(registry) ? 'https://index.docker.io/v1/' : registry;
  let out: string;
  try {
    out = (await execOk({command: `docker-credential-${helper}`, args: ['get'], input: server, env, timeoutMs: 30000}))
      .stdout;
  } catch (err) {
    if (/credentials not found/i.test((err as Error).message)) return undefined;
    throw new UserError(
      `docker-credential-${helper} could not give credentials for ${registry}: ${(err as Error).message}`
    );
  }
  const c = JSON.parse(out) as {Username?: string; Secret?: string};
  if (!c.Secret) return undefined;
  mask(c.Secret);
  if (c.Username === '<token>') return {kind: 'identity', token: c.Secret};
  return {kind: 'basic', username: c.Username ?? '', password: c.Secret};
}

/** Credentials from the docker config: credHelpers, then auths (auth, identitytoken, registrytoken), then credsStore. */
export async function dockerConfigCredential(
  registry: string,
  env: NodeJS.ProcessEnv,
  mask: Mask
): Promise<Credential | undefined> {
  const config = readConfig(env);
  if (!config) return undefined;
  const keys = configKeys(registry);
  const helper = keys.map(k => config.credHelpers?.[k]).find(Boolean);
  if (helper) return fromHelper(helper, registry, mask, env);
  const entry = keys.map(k => config.auths?.[k]).find(Boolean);
  if (entry) {
    if (entry.identitytoken) {
      mask(entry.identitytoken);
      return {kind: 'identity', token: entry.identitytoken};
    }
    if (entry.registrytoken) {
      mask(entry.registrytoken);
      return {kind: 'bearer', token: entry.registrytoken};
    }
    let username = entry.username;
    let password = entry.password;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
    if (password) {
      mask(password);
      return {kind: 'basic', username: username ?? '', password};
    }
  }
  if (config.credsStore) return fromHelper(config.credsStore, registry, mask, env);
  return undefined;
}

/** GHCR from the workflow's GITHUB_TOKEN (user = the actor). */
export function ghcrCredential(registry: string, env: NodeJS.ProcessEnv, mask: Mask): Credential | undefined {
  if (registry !== 'ghcr.io' && !registry.endsWith('.ghcr.io')) return undefined;
  const token = env.GITHUB_TOKEN;
  if (!token) return undefined;
  mask(token);
  return {kind: 'basic', username: env.GITHUB_ACTOR || 'github-actions', password: token};
}

export interface ExplicitCredential {
  username?: string;
  password?: string;
}

/**
 * Credentials for a registry, in order: explicit for this destination; the docker config; the
 * built-in providers; anonymous.
 */
export async function resolveCredential(
  registry: string,
  explicit: ExplicitCredential | undefined,
  env: NodeJS.ProcessEnv,
  mask: Mask,
  providers: Array<(registry: string) => Promise<Credential | undefined>> = []
): Promise<Credential> {
  if (explicit?.password) {
    mask(explicit.password);
    return {kind: 'basic', username: explicit.username ?? '', password: explicit.password};
  }
  const fromConfig = await dockerConfigCredential(registry, env, mask);
  if (fromConfig) return fromConfig;
  const ghcr = ghcrCredential(registry, env, mask);
  if (ghcr) return ghcr;
  for (const p of providers) {
    const c = await p(registry);
    if (c) return c;
  }
  return {kind: 'anonymous'};
}
