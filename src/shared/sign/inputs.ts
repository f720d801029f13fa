import fs from 'node:fs';
import {ActionIO} from '../action/io.js';
import {withRenamedInputs} from '../action/renamed.js';
import {getMultiline} from '../action/run.js';
import {UserError} from '../errors.js';
import {parseBoolean} from '../inputs.js';
import {readLogins} from '../registry/logins.js';
import {Verifier} from '../tools/cosign.js';
import {parseAnnotations, workflowAnnotations} from './annotations.js';
import {KeyRef, isKmsUri, keyRef} from './keys.js';
import {SignMode, SignOptions, VerifyOptions} from './sign.js';
import {RegistryLogin} from '../registry/credentials.js';

type Run = 'cosign' | 'tempDir' | 'env' | 'mask' | 'log' | 'logins' | 'getIdToken';

/** The sign action's inputs, read and validated in one place: signing, or verifying (verify: true). */
export type SignInputs = {
  logins: Map<string, RegistryLogin>;
  cosignVersion: string;
  cosignPath?: string;
} & (({verify: false} & Omit<SignOptions, Run>) | ({verify: true} & Omit<VerifyOptions, Run>));

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

/**
 * Reads every sign input through `io` (the runner's or the command line's); warnings about inputs
 * that weaken a check go to its log.
 */
export function readSignInputs(given: ActionIO, env: NodeJS.ProcessEnv): SignInputs {
  const io = withRenamedInputs(given, 'sign');
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
  const logins = readLogins(getMultiline(io, 'logins'), 'logins', env, mask);
  const key: KeyRef | undefined = keyInput ? keyRef(keyInput, 'key', env, mask) : undefined;
  const mode = verify ? undefined : signMode(io, keyInput);

  const common = {
    logins,
    cosignVersion: io.input('cosign-version'),
    cosignPath: io.input('cosign-path') || undefined,
    images: getMultiline(io, 'images'),
    recursive,
    key
  };
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
    return {
      ...common,
      verify: true,
      verifier,
      newBundleFormat: bundleFormat === 'new',
      ignoreTlog,
      trustedRoot: io.input('trusted-root') || undefined
    };
  }
  const annotations = {
    ...(parseBoolean('default-annotations', io.input('default-annotations'), true) ? workflowAnnotations(env) : {}),
    ...parseAnnotations(getMultiline(io, 'signature-annotations'))
  };
  const attest = io.input('attest');
  if (attest && !fs.existsSync(attest)) throw new UserError(`attest: ${attest} does not exist.`);
  return {
    ...common,
    verify: false,
    mode: mode as SignMode,
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
  };
}
