import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import {coreLogger, getMultiline} from '../../shared/action/run.js';
import {UserError} from '../../shared/errors.js';
import {parseBoolean} from '../../shared/inputs.js';
import {readLogins} from '../../shared/registry/logins.js';
import {parseAnnotations, workflowAnnotations} from '../../shared/sign/annotations.js';
import {KeyRef, isKmsUri, keyRef} from '../../shared/sign/keys.js';
import {CosignRun, SignMode, SignResult, VerifiedImage, signImages, verifyImages} from '../../shared/sign/sign.js';
import {COSIGN, COSIGN_VERSION, Verifier} from '../../shared/tools/cosign.js';
import {resolveTool} from '../../shared/tools/install.js';

const mask = (s: string): void => core.setSecret(s);

function choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const v = core.getInput(name).trim() || fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UserError(`${name}: "${v}" is not one of ${allowed.join(', ')}.`);
  }
  return v as T;
}

function signMode(key: string): SignMode {
  const mode = choice('mode', ['auto', 'keyless', 'key', 'kms'] as const, 'auto');
  if (mode === 'auto') return !key ? 'keyless' : isKmsUri(key.trim()) ? 'kms' : 'key';
  if (mode === 'keyless' && key) throw new UserError('mode: keyless signs without a key; remove key or set mode: key.');
  if (mode !== 'keyless' && !key) throw new UserError(`mode: ${mode} needs the key input.`);
  if (mode === 'kms' && !isKmsUri(key.trim())) {
    throw new UserError('key: with mode: kms give a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://).');
  }
  return mode;
}

async function signSummary(res: SignResult): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
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
  await core.summary
    .addHeading('sign', 3)
    .addTable([head, ...rows])
    .write();
}

async function verifySummary(res: VerifiedImage[]): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const head = ['image', 'platform', 'tags', 'result'].map(h => ({data: h, header: true}));
  const rows = res.map(i => [
    i.reference,
    i.platform ?? '',
    i.tags.join(', '),
    i.verified ? `verified (${i.signatures ?? '?'} signature(s))` : `failed: ${i.error}`
  ]);
  await core.summary
    .addHeading('verify', 3)
    .addTable([head, ...rows])
    .write();
}

export async function main(): Promise<void> {
  const password = core.getInput('key-password');
  if (password) mask(password);
  const keyInput = core.getInput('key');
  const verify = parseBoolean('verify', core.getInput('verify'), false);
  const recursive = parseBoolean('recursive', core.getInput('recursive'), true);
  const dryRun = parseBoolean('dry-run', core.getInput('dry-run'), false);
  const bundleFormat = choice('bundle-format', ['new', 'legacy'] as const, 'new');
  const tlogUpload = parseBoolean('tlog-upload', core.getInput('tlog-upload'), true);
  const ignoreTlog = parseBoolean('insecure-ignore-tlog', core.getInput('insecure-ignore-tlog'), false);
  if (!verify && ignoreTlog) {
    throw new UserError(
      'insecure-ignore-tlog: applies to verify: true only; to sign without the transparency log set tlog-upload: false.'
    );
  }
  if (verify && !tlogUpload && !ignoreTlog) {
    core.warning(
      'tlog-upload: false applies to signing; verification still requires a transparency-log entry. Signatures made without one verify only with insecure-ignore-tlog: true.'
    );
  }
  if (verify && ignoreTlog) {
    core.warning('insecure-ignore-tlog: true: signatures are verified without checking the transparency log.');
  }
  const useSigningConfig = parseBoolean('use-signing-config', core.getInput('use-signing-config'), tlogUpload);
  if (useSigningConfig && !tlogUpload && !core.getInput('signing-config')) {
    throw new UserError(
      'use-signing-config: true with tlog-upload: false is refused by cosign 3 (the signing config names a transparency log). Leave use-signing-config empty.'
    );
  }
  const logins = readLogins(getMultiline('logins'), 'logins', process.env, mask);
  const key: KeyRef | undefined = keyInput ? keyRef(keyInput, 'key', process.env, mask) : undefined;
  const mode = verify ? undefined : signMode(keyInput);

  const tool = await resolveTool(COSIGN, COSIGN_VERSION, {
    version: core.getInput('cosign-version'),
    path: core.getInput('cosign-path') || undefined,
    env: process.env,
    log: coreLogger
  });
  core.info(`cosign ${tool.version} (${tool.source}: ${tool.path})`);
  core.setOutput('cosign-version', tool.version);

  const tempDir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-sign-'));
  core.saveState('temp-dir', tempDir);
  const run: CosignRun = {
    cosign: tool.path,
    tempDir,
    env: process.env,
    mask,
    log: coreLogger,
    logins,
    getIdToken: audience => core.getIDToken(audience)
  };
  try {
    if (verify) {
      const verifier: Verifier = key
        ? {mode: 'key', keyRef: key.ref}
        : {
            mode: 'keyless',
            identity: core.getInput('certificate-identity') || undefined,
            identityRegexp: core.getInput('certificate-identity-regexp') || undefined,
            issuer: core.getInput('certificate-oidc-issuer') || undefined,
            issuerRegexp: core.getInput('certificate-oidc-issuer-regexp') || undefined
          };
      const res = await verifyImages({
        ...run,
        images: getMultiline('images'),
        recursive,
        verifier,
        key,
        newBundleFormat: bundleFormat === 'new',
        ignoreTlog,
        trustedRoot: core.getInput('trusted-root') || undefined
      });
      for (const r of res) {
        if (r.verified) core.info(`${r.reference}${r.platform ? ` (${r.platform})` : ''}: verified`);
        else core.error(`${r.reference}${r.platform ? ` (${r.platform})` : ''}: ${r.error}`);
      }
      core.setOutput('verified', JSON.stringify(res));
      core.setOutput('digests', res.map(r => r.reference).join('\n'));
      await verifySummary(res);
      const failed = res.filter(r => !r.verified);
      if (failed.length) {
        throw new UserError(
          `${failed.length} of ${res.length} image(s) did not verify: ${failed.map(f => `${f.reference}${f.tags.length ? ` (${f.tags.join(', ')})` : ''}: ${f.error}`).join('; ')}`
        );
      }
      return;
    }
    const annotations = {
      ...(parseBoolean('default-annotations', core.getInput('default-annotations'), true)
        ? workflowAnnotations(process.env)
        : {}),
      ...parseAnnotations(getMultiline('annotations'))
    };
    const attest = core.getInput('attest');
    if (attest && !fs.existsSync(attest)) throw new UserError(`attest: ${attest} does not exist.`);
    const res = await signImages({
      ...run,
      images: getMultiline('images'),
      recursive,
      mode: mode as SignMode,
      key,
      password,
      sigstore: {
        newBundleFormat: bundleFormat === 'new',
        tlogUpload,
        useSigningConfig,
        signingConfig: core.getInput('signing-config') || undefined,
        trustedRoot: core.getInput('trusted-root') || undefined
      },
      annotations,
      attest: attest ? {predicate: attest, predicateType: core.getInput('predicate-type') || 'custom'} : undefined,
      dryRun
    });
    for (const i of res.images) {
      core.info(
        `${i.reference}${i.platform ? ` (${i.platform})` : ''}: ${dryRun ? 'would sign' : `signed; signatures ${i.signaturesBefore} → ${i.signaturesAfter}`}${i.tags.length ? ` [${i.tags.join(', ')}]` : ''}`
      );
    }
    core.setOutput('signed', JSON.stringify(res.images));
    core.setOutput('digests', res.images.map(i => i.reference).join('\n'));
    core.setOutput('signatures', res.images.flatMap(i => i.signatures).join('\n'));
    await signSummary(res);
  } finally {
    fs.rmSync(tempDir, {recursive: true, force: true});
  }
}
