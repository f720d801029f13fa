import fs from 'node:fs';
import path from 'node:path';
import {UserError, errorMessage} from '../errors.js';
import {describe, exec} from '../exec.js';
import {Logger} from '../log.js';
import {Clients} from '../registry/clients.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {writeDockerConfig} from '../registry/docker-config.js';
import {mapLimit} from '../registry/limit.js';
import {DEFAULT_RETRY} from '../registry/retry.js';
import {Credential} from '../registry/auth.js';
import {
  SigstoreOptions,
  Signer,
  Verifier,
  attestArgs,
  classifyCosignFailure,
  cosignEnv,
  cosignErrorLine,
  signArgs,
  verifyArgs,
  verifyFailure
} from '../tools/cosign.js';
import {KeyRef} from './keys.js';
import {Signatures, newSignatureRefs, readSignatures, signatureCount} from './signatures.js';
import {Target, parseImages, planTargets, resolveImages, targetRef} from './targets.js';

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

export type SignMode = 'keyless' | 'key' | 'kms';

export interface SignOptions extends CosignRun {
  images: string[];
  recursive: boolean;
  mode: SignMode;
  /** For key and kms modes. */
  key?: KeyRef;
  password?: string;
  sigstore: SigstoreOptions;
  annotations: Record<string, string>;
  attest?: {predicate: string; predicateType: string};
  dryRun: boolean;
}

export interface SignedImage {
  /** repo@digest */
  reference: string;
  digest: string;
  tags: string[];
  platform?: string;
  /** Index this platform manifest belongs to. */
  parent?: string;
  signaturesBefore: number;
  signaturesAfter: number;
  /** Signature references written by this run. */
  signatures: string[];
  attested?: boolean;
}

export interface SignResult {
  images: SignedImage[];
  command: string;
}

export const PERMISSIONS_HINT = `Keyless signing needs the workflow's OIDC token. Add to the job (or workflow):
  permissions:
    id-token: write
    contents: read
    packages: write   # when the images are in GHCR
Pull requests from forks never get an OIDC token: sign on push or release instead, or use mode: key.`;

/** Fails at once, before any network call, when keyless signing cannot get a token (never a device flow). */
export function keylessPrecheck(env: NodeJS.ProcessEnv): void {
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    throw new UserError(
      `mode: keyless, but this job has no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). ${PERMISSIONS_HINT}`
    );
  }
}

/** Credentials of every registry the targets live in, as a docker config cosign reads. */
async function cosignDockerConfig(clients: Clients, targets: Target[], dir: string): Promise<string> {
  const creds = new Map<string, Credential>();
  for (const registry of new Set(targets.map(t => t.registry))) creds.set(registry, await clients.credential(registry));
  return writeDockerConfig(path.join(dir, 'docker'), creds);
}

const allowHttp = (clients: Clients, targets: Target[]): boolean => targets.some(t => clients.insecure(t.registry));

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

function clientsFor(run: CosignRun): Clients {
  return new Clients(
    {env: run.env, mask: run.mask, log: run.log, retry: DEFAULT_RETRY, concurrency: 4, getIdToken: run.getIdToken},
    run.logins
  );
}

async function signer(opts: SignOptions): Promise<Signer> {
  if (opts.mode === 'keyless') {
    keylessPrecheck(opts.env);
    if (!opts.getIdToken)
      throw new UserError('mode: keyless needs the GitHub Actions OIDC token; use mode: key elsewhere.');
    let token: string;
    try {
      token = await opts.getIdToken('sigstore');
    } catch (err) {
      throw new UserError(`mode: keyless: the OIDC token request failed (${errorMessage(err)}). ${PERMISSIONS_HINT}`);
    }
    opts.mask(token);
    const file = path.join(opts.tempDir, 'oidc-token');
    fs.writeFileSync(file, token, {mode: 0o600});
    return {mode: 'keyless', identityTokenFile: file};
  }
  if (!opts.key)
    throw new UserError(`mode: ${opts.mode} needs the key input (a PEM secret, a file, env://VAR or a KMS URI).`);
  return {mode: opts.mode, keyRef: opts.key.ref};
}

/**
 * Signs every image by digest, each repo@digest exactly once (with recursive, every platform manifest
 * of an index too), in one cosign run. Everything that can be checked is checked before the first
 * signature: every image resolves, the key decrypts, the OIDC token is there.
 */
export async function signImages(opts: SignOptions): Promise<SignResult> {
  const clients = clientsFor(opts);
  const images = parseImages(opts.images);
  if (images.length === 0)
    throw new UserError('images: give at least one image (a reference, or the push-multi refs output).');
  const targets = planTargets(await resolveImages(images, clients), opts.recursive);
  const sign = await signer(opts);
  const dockerConfig = await cosignDockerConfig(clients, targets, opts.tempDir);
  const env = cosignEnv(opts.env, {dockerConfig, password: opts.password, extra: opts.key?.env});
  const http = allowHttp(clients, targets);
  const refs = targets.map(targetRef);
  const args = signArgs({
    ...opts.sigstore,
    signer: sign,
    references: refs,
    annotations: opts.annotations,
    allowHttp: http
  });
  const command = describe({command: 'cosign', args});

  const before = await mapLimit(targets, 8, t => readSignatures(clients.get(t.registry), t.repository, t.digest));
  if (opts.dryRun) {
    opts.log.info(`dry run: would run ${command}`);
    return {images: targets.map((t, i) => result(t, before[i], before[i], [])), command};
  }
  if (sign.mode !== 'keyless') {
    // Decrypts the key (or reaches the KMS) before anything is signed: a wrong password fails here.
    const check = await exec({command: opts.cosign, args: ['public-key', '--key', sign.keyRef], env});
    if (check.code !== 0) throw cosignError('key', check.stderr, check.code);
  }
  opts.log.info(`signing ${refs.length} manifest(s): ${command}`);
  const res = await exec({command: opts.cosign, args, env, onOutput: chunk => opts.log.debug(chunk.trimEnd())});
  if (res.code !== 0) throw cosignError(`signing ${refs.join(', ')}`, res.stderr, res.code);
  let attested = false;
  if (opts.attest) {
    const top = targets.filter(t => !t.parent).map(targetRef);
    const a = await exec({
      command: opts.cosign,
      args: attestArgs({...opts.sigstore, signer: sign, references: top, ...opts.attest, allowHttp: http}),
      env
    });
    if (a.code !== 0) throw cosignError(`attesting ${top.join(', ')}`, a.stderr, a.code);
    attested = true;
  }
  const after = await mapLimit(targets, 8, t => readSignatures(clients.get(t.registry), t.repository, t.digest));
  return {
    images: targets.map((t, i) => ({
      ...result(t, before[i], after[i], newSignatureRefs(`${t.registry}/${t.repository}`, before[i], after[i])),
      ...(attested && !t.parent ? {attested} : {})
    })),
    command
  };
}

function result(t: Target, before: Signatures, after: Signatures, signatures: string[]): SignedImage {
  return {
    reference: targetRef(t),
    digest: t.digest,
    tags: t.tags,
    ...(t.platform ? {platform: t.platform, parent: t.parent} : {}),
    signaturesBefore: signatureCount(before),
    signaturesAfter: signatureCount(after),
    signatures
  };
}

export interface VerifyOptions extends CosignRun {
  images: string[];
  recursive: boolean;
  verifier: Verifier;
  key?: KeyRef;
  newBundleFormat: boolean;
  ignoreTlog: boolean;
  trustedRoot?: string;
}

export interface VerifiedImage {
  reference: string;
  digest: string;
  tags: string[];
  platform?: string;
  verified: boolean;
  error?: string;
  /** Signatures cosign accepted. */
  signatures?: number;
}

/**
 * Verifies every image by digest (tags resolved first, so the answer is about the image the tag
 * names now), each platform manifest too with recursive. Reports each failure with its reason.
 */
export async function verifyImages(opts: VerifyOptions): Promise<VerifiedImage[]> {
  const clients = clientsFor(opts);
  const images = parseImages(opts.images);
  if (images.length === 0) throw new UserError('images: give at least one image to verify.');
  const v = opts.verifier;
  if (v.mode === 'keyless' && !v.identity && !v.identityRegexp) {
    throw new UserError(
      'verify: keyless verification needs certificate-identity or certificate-identity-regexp (who signed), and certificate-oidc-issuer (for GitHub Actions: https://token.actions.githubusercontent.com); or give key.'
    );
  }
  if (v.mode === 'keyless' && !v.issuer && !v.issuerRegexp) {
    throw new UserError(
      'verify: keyless verification needs certificate-oidc-issuer (for GitHub Actions: https://token.actions.githubusercontent.com).'
    );
  }
  const targets = planTargets(await resolveImages(images, clients), opts.recursive);
  const dockerConfig = await cosignDockerConfig(clients, targets, opts.tempDir);
  const env = cosignEnv(opts.env, {dockerConfig, extra: opts.key?.env});
  return mapLimit(targets, 4, async t => {
    const args = verifyArgs({
      verifier: v,
      reference: targetRef(t),
      newBundleFormat: opts.newBundleFormat,
      ignoreTlog: opts.ignoreTlog,
      trustedRoot: opts.trustedRoot,
      allowHttp: clients.insecure(t.registry)
    });
    const res = await exec({command: opts.cosign, args, env});
    const base = {
      reference: targetRef(t),
      digest: t.digest,
      tags: t.tags,
      ...(t.platform ? {platform: t.platform} : {})
    };
    if (res.code !== 0) return {...base, verified: false, error: verifyFailure(res.code, res.stderr)};
    let signatures: number | undefined;
    try {
      signatures = (JSON.parse(res.stdout) as unknown[]).length;
    } catch {
      signatures = undefined;
    }
    return {...base, verified: true, signatures};
  });
}
