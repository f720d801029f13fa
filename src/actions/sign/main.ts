import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ActionIO, githubIO} from '../../shared/action/io.js';
import {getMultiline} from '../../shared/action/run.js';
import {UserError} from '../../shared/errors.js';
import {parseBoolean} from '../../shared/inputs.js';
import {readLogins} from '../../shared/registry/logins.js';
import {parseAnnotations, workflowAnnotations} from '../../shared/sign/annotations.js';
import {KeyRef, isKmsUri, keyRef} from '../../shared/sign/keys.js';
import {CosignRun, SignMode, SignResult, VerifiedImage, signImages, verifyImages} from '../../shared/sign/sign.js';
import {COSIGN, COSIGN_VERSION, Verifier} from '../../shared/tools/cosign.js';
import {resolveTool} from '../../shared/tools/install.js';

function choice<T extends string>(io: ActionIO, name: string, allowed: readonly T[], fallback: T): T {
  const v = io.input(name).trim() || fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UserError(`${name}: "${v}" is not one of ${allowed.join(', ')}.`);
  }
  return v as T;
}

function signMode(io: ActionIO, key: string): SignMode {
  const mode = choice(io, 'mode', ['auto', 'keyless', 'key', 'kms'] as const, 'auto');
  if (mode === 'auto') return !key ? 'keyless' : isKmsUri(key.trim()) ? 'kms' : 'key';
  if (mode === 'keyless' && key) throw new UserError('mode: keyless signs without a key; remove key or set mode: key.');
  if (mode !== 'keyless' && !key) throw new UserError(`mode: ${mode} needs the key input.`);
  if (mode === 'kms' && !isKmsUri(key.trim())) {
    throw new UserError('key: with mode: kms give a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://).');
  }
  return mode;
}

async function signSummary(io: ActionIO, res: SignResult): Promise<void> {
  const summary = io.summary;
  if (!summary) return;
  const head = ['image', 'platform', 'tags', 'signatures before → after', 'written'].map(h => ({
    data: h,
    header: true
  }));
  const rows = res.images.map(i => [
    i.reference,
    i.platform ?? '(index or image)',
    i.tags.join(', '),
    `${i.signaturesBefore} → ${i.signaturesAfter}`,
    i.signatures.join('<br>') || '—'
  ]);
  await summary
    .addHeading('sign', 3)
    .addTable([head, ...rows])
    .write();
}

async function verifySummary(io: ActionIO, res: VerifiedImage[]): Promise<void> {
  const summary = io.summary;
  if (!summary) return;
  const head = ['image', 'platform', 'tags', 'result'].map(h => ({data: h, header: true}));
  const rows = res.map(i => [
    i.reference,
    i.platform ?? '',
    i.tags.join(', '),
    i.verified ? `verified (${i.signatures ?? '?'} signature(s))` : `failed: ${i.error}`
  ]);
  await summary
    .addHeading('verify', 3)
    .addTable([head, ...rows])
    .write();
}

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const mask = (s: string): void => io.mask(s);
  const password = io.input('key-password');
  if (password) mask(password);
  const keyInput = io.input('key');
  const verify = parseBoolean('verify', io.input('verify'), false);
  const recursive = parseBoolean('recursive', io.input('recursive'), true);
  const dryRun = parseBoolean('dry-run', io.input('dry-run'), false);
  const bundleFormat = choice(io, 'bundle-format', ['new', 'legacy'] as const, 'new');
  const tlogUpload = parseBoolean('tlog-upload', io.input('tlog-upload'), true);
  const ignoreTlog = parseBoolean('insecure-ignore-tlog', io.input('insecure-ignore-tlog'), false);
  if (!verify && ignoreTlog) {
    throw new UserError(
      'insecure-ignore-tlog: applies to verify: true only; to sign without the transparency log set tlog-upload: false.'
    );
  }
  if (verify && !tlogUpload && !ignoreTlog) {
    io.log.warning(
      'tlog-upload: false applies to signing; verification still requires a transparency-log entry. Signatures made without one verify only with insecure-ignore-tlog: true.'
    );
  }
  if (verify && ignoreTlog) {
    io.log.warning('insecure-ignore-tlog: true: signatures are verified without checking the transparency log.');
  }
  const useSigningConfig = parseBoolean('use-signing-config', io.input('use-signing-config'), tlogUpload);
  if (useSigningConfig && !tlogUpload && !io.input('signing-config')) {
    throw new UserError(
      'use-signing-config: true with tlog-upload: false is refused by cosign 3 (the signing config names a transparency log). Leave use-signing-config empty.'
    );
  }
  const logins = readLogins(getMultiline(io, 'logins'), 'logins', process.env, mask);
  const key: KeyRef | undefined = keyInput ? keyRef(keyInput, 'key', process.env, mask) : undefined;
  const mode = verify ? undefined : signMode(io, keyInput);

  const tool = await resolveTool(COSIGN, COSIGN_VERSION, {
    version: io.input('cosign-version'),
    path: io.input('cosign-path') || undefined,
    env: process.env,
    log: io.log
  });
  io.log.info(`cosign ${tool.version} (${tool.source}: ${tool.path})`);
  io.output('cosign-version', tool.version);

  const tempDir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-sign-'));
  io.saveState('temp-dir', tempDir);
  const run: CosignRun = {
    cosign: tool.path,
    tempDir,
    env: process.env,
    mask,
    log: io.log,
    logins,
    getIdToken: audience => io.getIdToken(audience)
  };
  try {
    if (verify) {
      const verifier: Verifier = key
        ? {mode: 'key', keyRef: key.ref}
        : {
            mode: 'keyless',
            identity: io.input('certificate-identity') || undefined,
            identityRegexp: io.input('certificate-identity-regexp') || undefined,
            issuer: io.input('certificate-oidc-issuer') || undefined,
            issuerRegexp: io.input('certificate-oidc-issuer-regexp') || undefined
          };
      const res = await verifyImages({
        ...run,
        images: getMultiline(io, 'images'),
        recursive,
        verifier,
        key,
        newBundleFormat: bundleFormat === 'new',
        ignoreTlog,
        trustedRoot: io.input('trusted-root') || undefined
      });
      for (const r of res) {
        if (r.verified) io.log.info(`${r.reference}${r.platform ? ` (${r.platform})` : ''}: verified`);
        else io.log.error(`${r.reference}${r.platform ? ` (${r.platform})` : ''}: ${r.error}`);
      }
      io.output('verified', JSON.stringify(res));
      io.output('digests', res.map(r => r.reference).join('\n'));
      await verifySummary(io, res);
      const failed = res.filter(r => !r.verified);
      if (failed.length) {
        throw new UserError(
          `${failed.length} of ${res.length} image(s) did not verify: ${failed.map(f => `${f.reference}${f.tags.length ? ` (${f.tags.join(', ')})` : ''}: ${f.error}`).join('; ')}`
        );
      }
      return;
    }
    const annotations = {
      ...(parseBoolean('default-annotations', io.input('default-annotations'), true)
        ? workflowAnnotations(process.env)
        : {}),
      ...parseAnnotations(getMultiline(io, 'annotations'))
    };
    const attest = io.input('attest');
    if (attest && !fs.existsSync(attest)) throw new UserError(`attest: ${attest} does not exist.`);
    const res = await signImages({
      ...run,
      images: getMultiline(io, 'images'),
      recursive,
      mode: mode as SignMode,
      key,
      password,
      sigstore: {
        newBundleFormat: bundleFormat === 'new',
        tlogUpload,
        useSigningConfig,
        signingConfig: io.input('signing-config') || undefined,
        trustedRoot: io.input('trusted-root') || undefined
      },
      annotations,
      attest: attest ? {predicate: attest, predicateType: io.input('predicate-type') || 'custom'} : undefined,
      dryRun
    });
    for (const i of res.images) {
      io.log.info(
        `${i.reference}${i.platform ? ` (${i.platform})` : ''}: ${dryRun ? 'would sign' : `signed; signatures ${i.signaturesBefore} → ${i.signaturesAfter}`}${i.tags.length ? ` [${i.tags.join(', ')}]` : ''}`
      );
    }
    io.output('signed', JSON.stringify(res.images));
    io.output('digests', res.images.map(i => i.reference).join('\n'));
    io.output('signatures', res.images.flatMap(i => i.signatures).join('\n'));
    await signSummary(io, res);
  } finally {
    fs.rmSync(tempDir, {recursive: true, force: true});
  }
}
