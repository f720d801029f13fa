import path from 'node:path';
import {UserError} from '../errors.js';
import {Logger} from '../log.js';
import {Credential} from '../registry/auth.js';
import {Clients} from '../registry/clients.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {writeDockerConfig} from '../registry/docker-config.js';
import {DEFAULT_RETRY} from '../registry/retry.js';
import {classifyCosignFailure, cosignErrorLine} from '../tools/cosign.js';
import {Target} from './targets.js';

/** What every cosign run of the sign action shares: the binary, a private directory, logins. */
export interface CosignRun {
  /** Path of the cosign binary. */
  cosign: string;
  /** A private directory for this run (docker config, identity token); removed by the caller. */
  tempDir: string;
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  logins: Map<string, RegistryLogin>;
  getIdToken?: (audience: string) => Promise<string>;
}

/** Credentials of every registry the targets live in, by registry (what a tool's docker config holds). */
export async function targetCredentials(clients: Clients, targets: Target[]): Promise<Map<string, Credential>> {
  const creds = new Map<string, Credential>();
  for (const registry of new Set(targets.map(t => t.registry))) creds.set(registry, await clients.credential(registry));
  return creds;
}

/** Credentials of every registry the targets live in, as a docker config cosign reads. */
export async function cosignDockerConfig(clients: Clients, targets: Target[], dir: string): Promise<string> {
  return writeDockerConfig(path.join(dir, 'docker'), await targetCredentials(clients, targets));
}

export const allowHttp = (clients: Clients, targets: Target[]): boolean =>
  targets.some(t => clients.insecure(t.registry));

/** Turns cosign's error output into one line a user can act on. */
export function cosignError(what: string, stderr: string, code: number): UserError {
  const error = cosignErrorLine(stderr);
  switch (classifyCosignFailure(code, stderr)) {
    case 'key-password':
      return new UserError(
        `${what}: the key could not be decrypted: key-password is wrong or missing for this key (${error}).`
      );
    case 'registry-auth':
      return new UserError(
        `${what}: the registry refused cosign's credentials (${error}). Give the registry a login (logins input, docker config, or GITHUB_TOKEN with packages: write for GHCR).`
      );
    default:
      return new UserError(`${what}: cosign failed with exit code ${code}: ${error}`);
  }
}

/** The registry clients of a tool's run (cosign, notation): its logins, its log and environment. */
export function clientsFor(run: Pick<CosignRun, 'env' | 'mask' | 'log' | 'logins' | 'getIdToken'>): Clients {
  return new Clients(
    {env: run.env, mask: run.mask, log: run.log, retry: DEFAULT_RETRY, concurrency: 4, getIdToken: run.getIdToken},
    run.logins
  );
}
