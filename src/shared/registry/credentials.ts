import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../errors.js';
import {execOk} from '../exec.js';
import {Credential} from './auth.js';
import {isDockerHub} from './reference.js';
import {acrCredential} from './providers/acr.js';
import {azureCloudOf} from './providers/azure-cloud.js';
import {ProviderContext} from './providers/context.js';
import {ecrCredential, parseEcrHost} from './providers/ecr.js';
import {ecrPublicCredential} from './providers/ecr-public.js';
import {garCredential, isGarHost} from './providers/gar.js';

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

/** How to log in to one registry: a provider and its settings. */
export interface RegistryLogin {
  provider: string;
  username?: string;
  password?: string;
  insecure?: boolean;
  /** Upload blobs in chunks of this many bytes. */
  chunkSize?: number;
  options?: Record<string, string>;
}

function cloudProvider(registry: string, env: NodeJS.ProcessEnv): string | undefined {
  if (parseEcrHost(registry)) return 'ecr';
  if (registry === 'public.ecr.aws' && (env.AWS_ACCESS_KEY_ID || env.AWS_ROLE_ARN)) return 'ecr-public';
  if (azureCloudOf(registry) && (env.AZURE_CLIENT_ID || env.AZURE_ACCESS_TOKEN)) return 'acr';
  if (isGarHost(registry) && (env.GCP_WORKLOAD_IDENTITY_PROVIDER || env.GOOGLE_OAUTH_ACCESS_TOKEN)) return 'gar';
  return undefined;
}

async function fromProvider(
  provider: string,
  registry: string,
  login: RegistryLogin,
  ctx: ProviderContext
): Promise<Credential> {
  const o = login.options ?? {};
  switch (provider) {
    case 'ecr':
      return ecrCredential({registry, region: o.region, roleArn: o.role}, ctx);
    case 'ecr-public':
      return ecrPublicCredential({registry, roleArn: o.role}, ctx);
    case 'acr':
      return acrCredential({registry, tenantId: o.tenant, clientId: o['client-id'], insecure: login.insecure}, ctx);
    case 'gar':
      return garCredential(
        {registry, workloadIdentityProvider: o['workload-identity-provider'], serviceAccount: o['service-account']},
        ctx
      );
    default:
      throw new UserError(`${registry}: unknown provider "${provider}"`);
  }
}

/**
 * Credentials for a registry. With provider auto, in order: the explicit username and password; the
 * docker config; GITHUB_TOKEN for GHCR; the cloud provider the host belongs to; anonymous. A named
 * provider is used alone, and its absence is an error rather than a silent anonymous attempt.
 */
export async function resolveCredential(
  registry: string,
  login: RegistryLogin,
  ctx: ProviderContext
): Promise<Credential> {
  const {env, mask} = ctx;
  const explicit = (): Credential | undefined => {
    if (!login.password) return undefined;
    mask(login.password);
    return {kind: 'basic', username: login.username ?? '', password: login.password};
  };
  const missing = (what: string): never => {
    throw new UserError(`${registry}: provider ${login.provider} found no credentials: ${what}.`);
  };
  switch (login.provider) {
    case 'anonymous':
      return {kind: 'anonymous'};
    case 'basic':
      return explicit() ?? missing('give username= and password-env= on the destination');
    case 'docker-config':
      return (
        (await dockerConfigCredential(registry, env, mask)) ??
        missing(`log in first (docker login ${registry}) or fill ${dockerConfigPath(env)}`)
      );
    case 'ghcr':
      return (
        ghcrCredential(registry, env, mask) ??
        missing('set GITHUB_TOKEN in the step env (and permissions: packages: write)')
      );
    case 'ecr':
    case 'ecr-public':
    case 'acr':
    case 'gar':
      return fromProvider(login.provider, registry, login, ctx);
  }
  const given = explicit();
  if (given) return given;
  const fromConfig = await dockerConfigCredential(registry, env, mask);
  if (fromConfig) return fromConfig;
  const ghcr = ghcrCredential(registry, env, mask);
  if (ghcr) return ghcr;
  const cloud = cloudProvider(registry, env);
  if (cloud) return fromProvider(cloud, registry, login, ctx);
  return {kind: 'anonymous'};
}
