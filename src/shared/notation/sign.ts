import path from 'node:path';
import {UserError} from '../errors.js';
import {describe} from '../exec.js';
import {Logger} from '../log.js';
import {Clients} from '../registry/clients.js';
import {RegistryClient} from '../registry/client.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {mapLimit} from '../registry/limit.js';
import {listReferrers} from '../sign/signatures.js';
import {clientsFor, targetCredentials} from '../sign/cosign-run.js';
import {SignResult} from '../sign/sign.js';
import {Target, parseImages, planTargets, resolveImages, targetRef} from '../sign/targets.js';
import {VerifiedImage} from '../sign/verify.js';
import {NOTATION_SIGNATURE, NotationKey, NotationTrust, notationError, signArgs} from './config.js';
import {NotationHome} from './home.js';

/** What every Notation run shares: the binary, a private directory (removed by the caller), logins. */
export interface NotationRun {
  notation: string;
  tempDir: string;
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  logins: Map<string, RegistryLogin>;
}

export interface NotationSignOptions extends NotationRun {
  images: string[];
  recursive: boolean;
  /** The key: a local key and chain (PEM text), or a plugin's key. */
  key: {kind: 'local'; keyPem: string; chainPem: string} | Extract<NotationKey, {kind: 'plugin'}>;
  /** A plugin to install first (a file or URL, with its SHA-256). */
  plugin?: {file?: string; url?: string; sha256: string};
  format: 'jws' | 'cose';
  timestamp?: {url: string; rootCert: string};
  annotations: Record<string, string>;
  dryRun: boolean;
}

export interface NotationVerifyOptions extends NotationRun {
  images: string[];
  recursive: boolean;
  /** Trust built from inputs, or the user's own trustpolicy.json (and trust store directory). */
  trust: NotationTrust | {policyFile: string; storeDir?: string};
  /** User metadata every signature must carry (notation verify -m). */
  metadata: Record<string, string>;
}

/** The Notation signatures a digest carries: its referrers (or fallback index) of Notation's artifact type. */
export async function notationSignatures(
  client: RegistryClient,
  repository: string,
  digest: string
): Promise<string[]> {
  return (await listReferrers(client, repository, digest))
    .filter(d => d.artifactType === NOTATION_SIGNATURE)
    .map(d => d.digest)
    .sort();
}

/** A private Notation home with the logins of every registry the targets live in. */
async function homeFor(run: NotationRun, clients: Clients, targets: Target[]): Promise<NotationHome> {
  const home = new NotationHome(run.notation, path.join(run.tempDir, 'notation'), run.env);
  home.registries(
    await targetCredentials(clients, targets),
    [...new Set(targets.map(t => t.registry))].filter(r => clients.insecure(r))
  );
  return home;
}

/**
 * Signs every image by digest with Notation, each repo@digest once (with recursive, every platform
 * manifest of an index too; Notation itself signs one reference per run and would sign a tag's digest
 * again for every tag). On a registry with the referrers API the signature is a referrer only; without
 * it, Notation keeps the sha256-<hex> fallback index.
 */
export async function notationSign(opts: NotationSignOptions): Promise<SignResult> {
  const clients = clientsFor(opts);
  const images = parseImages(opts.images);
  if (images.length === 0)
    throw new UserError('images: give at least one image (a reference, or the push-multi refs output).');
  const targets = planTargets(await resolveImages(images, clients), opts.recursive);
  const home = await homeFor(opts, clients, targets);
  const key: NotationKey =
    opts.key.kind === 'local' ? {kind: 'local', key: 'release', certificate: 'release'} : opts.key;
  if (opts.key.kind === 'local') home.signingKey(opts.key.keyPem, opts.key.chainPem);
  const argsFor = (t: Target): string[] =>
    signArgs({
      reference: targetRef(t),
      key,
      format: opts.format,
      insecure: clients.insecure(t.registry),
      timestamp: opts.timestamp,
      metadata: opts.annotations
    });
  const command = describe({command: 'notation', args: argsFor(targets[0])});
  const count = (t: Target): Promise<string[]> => notationSignatures(clients.get(t.registry), t.repository, t.digest);
  const before = await mapLimit(targets, 8, count);
  if (opts.dryRun) {
    opts.log.info(`dry run: would run, for each of ${targets.length} manifest(s): ${command}`);
    return {images: targets.map((t, i) => result(t, before[i], before[i])), command, attestations: []};
  }
  if (opts.plugin && opts.key.kind === 'plugin') await home.installPlugin(opts.plugin, 'notation-plugin');
  opts.log.info(`signing ${targets.length} manifest(s) with Notation (${opts.format}): ${command}`);
  // One notation run per digest (it signs a single reference). Repositories in parallel, a repository's
  // digests one after another: each run uploads the same empty config blob, and concurrent uploads of
  // one blob into one repository race on distribution 2.8 ("blob unknown" at the manifest PUT).
  const byRepository = new Map<string, Target[]>();
  for (const t of targets) {
    const key = `${t.registry}/${t.repository}`;
    byRepository.set(key, [...(byRepository.get(key) ?? []), t]);
  }
  await mapLimit([...byRepository.values()], 4, async group => {
    for (const t of group) {
      const res = await home.run(argsFor(t));
      if (res.code !== 0) throw signError(targetRef(t), res.stderr, opts.key.kind);
      opts.log.debug(res.stdout.trim());
    }
  });
  const after = await mapLimit(targets, 8, count);
  return {images: targets.map((t, i) => result(t, before[i], after[i])), command, attestations: []};
}

function signError(reference: string, stderr: string, kind: 'local' | 'plugin'): UserError {
  const error = notationError(stderr);
  if (/unauthorized|denied|401|403/i.test(error))
    return new UserError(
      `signing ${reference}: the registry refused Notation's credentials (${error}). Give the registry a login (logins input, or GITHUB_TOKEN with packages: write for GHCR).`
    );
  if (kind === 'local' && /certificate|key/i.test(error))
    return new UserError(
      `signing ${reference}: ${error}. notation-certificate must be the whole chain, leaf first (keyUsage digitalSignature, extendedKeyUsage codeSigning, a subject with C, ST and O), ending at the root; notation-key its unencrypted private key.`
    );
  return new UserError(`signing ${reference}: notation failed: ${error}`);
}

function result(t: Target, before: string[], after: string[]): SignResult['images'][number] {
  const added = after.filter(d => !before.includes(d));
  return {
    reference: targetRef(t),
    digest: t.digest,
    tags: t.tags,
    ...(t.platform ? {platform: t.platform, parent: t.parent} : {}),
    signaturesBefore: before.length,
    signaturesAfter: after.length,
    signatures: added.map(d => `${t.registry}/${t.repository}@${d}`)
  };
}

/**
 * Verifies every image by digest with `notation verify` against the trust given (each platform manifest
 * too with recursive): one signature by a trusted identity under a trusted CA is enough. At level audit
 * Notation only logs an untrusted signer: a warning says it is no gate.
 */
export async function notationVerify(opts: NotationVerifyOptions): Promise<VerifiedImage[]> {
  const clients = clientsFor(opts);
  const images = parseImages(opts.images);
  if (images.length === 0) throw new UserError('images: give at least one image to verify.');
  const targets = planTargets(await resolveImages(images, clients), opts.recursive);
  const home = await homeFor(opts, clients, targets);
  if ('policyFile' in opts.trust) home.userTrust(opts.trust.policyFile, opts.trust.storeDir);
  else {
    if (opts.trust.level === 'audit')
      opts.log.warning(
        'notation-verification-level: audit checks integrity only: a signature by an untrusted CA or identity passes. It is no gate; use strict.'
      );
    home.trust(opts.trust);
  }
  return mapLimit(targets, 4, async t => {
    const res = await home.run([
      'verify',
      '--verbose',
      ...(clients.insecure(t.registry) ? ['--insecure-registry'] : []),
      ...Object.entries(opts.metadata).flatMap(([k, v]) => ['--user-metadata', `${k}=${v}`]),
      targetRef(t)
    ]);
    const signatures = (await notationSignatures(clients.get(t.registry), t.repository, t.digest)).length;
    return {
      reference: targetRef(t),
      digest: t.digest,
      tags: t.tags,
      ...(t.platform ? {platform: t.platform} : {}),
      verified: res.code === 0,
      ...(res.code === 0 ? {} : {error: notationError(res.stderr)}),
      signatures
    };
  });
}
