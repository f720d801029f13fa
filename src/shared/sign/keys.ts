import fs from 'node:fs';
import path from 'node:path';
import {UserError} from '../errors.js';
import {Mask} from '../registry/credentials.js';

/** The environment variable a key given as text reaches cosign through (its value never on argv). */
export const KEY_ENV = 'REGISTRY_ACTIONS_COSIGN_KEY';

const KMS_SCHEMES = ['awskms://', 'gcpkms://', 'azurekms://', 'hashivault://', 'k8s://', 'pkcs11:'];

export const isKmsUri = (key: string): boolean => KMS_SCHEMES.some(s => key.startsWith(s));

/** Masks every body line of a private key (the runner masks line by line). */
function maskPem(pem: string, mask: Mask): void {
  if (!/PRIVATE KEY/.test(pem)) return;
  for (const line of pem.split('\n')) if (line.trim() && !line.startsWith('-----')) mask(line.trim());
}

/** How cosign is to read a key: a reference for --key and what its environment needs. */
export interface KeyRef {
  kind: 'file' | 'text' | 'env' | 'kms';
  ref: string;
  env: Record<string, string>;
}

/**
 * Turns the key input into something cosign reads without the key ever appearing on its command line:
 * PEM text goes through an environment variable (env://), a file path or an env:// reference is
 * passed as is, a KMS URI is passed through.
 */
export function keyRef(key: string, input: string, env: NodeJS.ProcessEnv, mask: Mask, cwd = process.cwd()): KeyRef {
  const k = key.trim();
  if (k.startsWith('-----BEGIN')) {
    maskPem(k, mask);
    return {kind: 'text', ref: `env://${KEY_ENV}`, env: {[KEY_ENV]: `${k}\n`}};
  }
  if (k.startsWith('env://')) {
    const name = k.slice('env://'.length);
    const value = env[name];
    if (!value) {
      throw new UserError(
        `${input}: ${k} names $${name}, which is empty or unset. Set it from a secret in the step's env.`
      );
    }
    maskPem(value, mask);
    return {kind: 'env', ref: k, env: {[name]: value}};
  }
  if (isKmsUri(k)) return {kind: 'kms', ref: k, env: {}};
  const file = path.resolve(cwd, k);
  if (!fs.existsSync(file)) {
    throw new UserError(
      `${input}: ${k} is not a file (looked for ${file}). Give the key as a PEM secret, a file path, env://VAR or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://).`
    );
  }
  return {kind: 'file', ref: file, env: {}};
}
