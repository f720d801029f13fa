import fs from 'node:fs';
import path from 'node:path';
import {Credential} from './auth.js';
import {isDockerHub} from './reference.js';

/**
 * A docker config.json holding the given credentials, for tools (cosign, trivy) that read registry
 * logins from DOCKER_CONFIG. Anonymous registries get no entry. Pure.
 */
export function dockerConfigJson(credentials: Map<string, Credential>): string {
  const auths: Record<string, Record<string, string>> = {};
  for (const [registry, c] of credentials) {
    const key = isDockerHub(registry) ? 'https://index.docker.io/v1/' : registry;
    if (c.kind === 'basic') auths[key] = {auth: Buffer.from(`${c.username}:${c.password}`).toString('base64')};
    else if (c.kind === 'identity') auths[key] = {username: c.username ?? '<token>', identitytoken: c.token};
    else if (c.kind === 'bearer') auths[key] = {registrytoken: c.token};
  }
  return `${JSON.stringify({auths}, null, 2)}\n`;
}

/** Writes the config into `dir` (created 0700, file 0600) and returns the directory for DOCKER_CONFIG. */
export function writeDockerConfig(dir: string, credentials: Map<string, Credential>): string {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700});
  fs.writeFileSync(path.join(dir, 'config.json'), dockerConfigJson(credentials), {mode: 0o600});
  return dir;
}
