import fs from 'node:fs';
import {ActionIO} from '../action/io.js';
import {withRenamedInputs} from '../action/renamed.js';
import {getMultiline} from '../action/run.js';
import {UserError} from '../errors.js';
import {parseImages} from './targets.js';
import {parseBoolean, parseList} from '../inputs.js';
import {readLogins} from '../registry/logins.js';
import {EvidenceOptions, SBOM_FORMATS, SbomFormat} from '../evidence/plan.js';
import {readPolicy} from '../policy/policy.js';
import {SignerRule} from '../policy/signer.js';
import {parseAnnotations, workflowAnnotations} from './annotations.js';
import {KeyRef, isKmsUri, keyRef} from './keys.js';
import {SignMode, SignOptions} from './sign.js';
import {readStoreMode} from './github-store.js';
import {githubApiFromEnv} from '../github/api.js';
import {SignerCheck, VerifyOptions} from './verify.js';
import {RegistryLogin} from '../registry/credentials.js';
import {NotationInputs, readNotationInputs} from '../notation/inputs.js';

type Run = 'cosign' | 'tempDir' | 'env' | 'mask' | 'log' | 'logins' | 'getIdToken' | 'trivy';

/** The sign action's inputs, read and validated in one place: signing, or verifying (verify: true), with cosign or Notation. */
export type SignInputs = CosignInputs | NotationInputs;

export type CosignInputs = {
  tool: 'cosign';
  logins: Map<string, RegistryLogin>;
  cosignVersion: string;
  cosignPath?: string;
} & (
  | ({verify: false; trivyVersion: string; trivyPath?: string} & Omit<SignOptions, Run>)
  | ({verify: true} & Omit<VerifyOptions, Run>)
);

/** The signer the verify inputs name, for a policy that leaves its signer out. */
function inputSigner(
  io: ActionIO,
  key: string,
  ignoreTlog: boolean,
  bundleFormat: 'new' | 'legacy'
): SignerRule | undefined {
  const rule: SignerRule = {
    key: key || undefined,
    identity: io.input('certificate-identity') || undefined,
    identityRegexp: io.input('certificate-identity-regexp') || undefined,
    issuer: io.input('certificate-oidc-issuer') || undefined,
    issuerRegexp: io.input('certificate-oidc-issuer-regexp') || undefined,
    ignoreTlog,
    bundleFormat
  };
  return rule.key || rule.identity || rule.identityRegexp ? rule : undefined;
}

/** sbom, provenance, vuln-report and build-parameters: what is attested besides the signature. */
function readEvidence(io: ActionIO): EvidenceOptions | undefined {
  const sbom = parseList(io.input('sbom')).map(f => f.toLowerCase());
  for (const f of sbom) {
    if (!(SBOM_FORMATS as readonly string[]).includes(f))
      throw new UserError(
        `sbom: "${f}" is not a format this action makes; use ${SBOM_FORMATS.join(', ')} (comma-separated for both).`
      );
  }
  const provenance = parseBoolean('provenance', io.input('provenance'), false);
  const vulnReport = io.input('vuln-report').trim() || undefined;
  if (vulnReport && !fs.existsSync(vulnReport))
    throw new UserError(
      `vuln-report: ${vulnReport} does not exist; pass the scan action's report output from the same job.`
    );
  const rawBuild = io.input('build-parameters').trim();
  let buildParameters: Record<string, unknown> | undefined;
  if (rawBuild) {
    try {
      buildParameters = JSON.parse(rawBuild) as Record<string, unknown>;
    } catch (err) {
      throw new UserError(
        `build-parameters: not JSON (${(err as Error).message}); pass push-multi's build-parameters output.`
      );
    }
    if (typeof buildParameters !== 'object' || buildParameters === null || Array.isArray(buildParameters))
      throw new UserError("build-parameters: expected a JSON object (push-multi's build-parameters output).");
  }
  if (buildParameters && !provenance)
    throw new UserError('build-parameters: recorded in the provenance only; set provenance: true.');
  if (!sbom.length && !provenance && !vulnReport) return undefined;
  return {sbom: sbom as SbomFormat[], provenance, vulnReport, buildParameters};
}

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
  const signer = choice(io, 'signer', ['cosign', 'notation'] as const, 'cosign');
  if (signer === 'notation') {
    const images = getMultiline(io, 'images');
    const verifying = parseBoolean('verify', io.input('verify'), false);
    if (parseImages(images).length === 0)
      throw new UserError(
        `images: give at least one image to ${verifying ? 'verify' : 'sign'} (a reference, or push-multi's refs output).`
      );
    return readNotationInputs(io, env, {
      logins: readLogins(getMultiline(io, 'logins'), 'logins', env, mask),
      images,
      recursive: parseBoolean('recursive', io.input('recursive'), true),
      verify: verifying,
      dryRun: parseBoolean('dry-run', io.input('dry-run'), false)
    });
  }
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

  // Checked here, before cosign is resolved or downloaded: a missing input reads as what it is.
  const images = getMultiline(io, 'images');
  if (parseImages(images).length === 0)
    throw new UserError(
      `images: give at least one image to ${verify ? 'verify' : 'sign'} (a reference, or push-multi's refs output).`
    );
  const common = {
    tool: 'cosign' as const,
    logins,
    cosignVersion: io.input('cosign-version'),
    cosignPath: io.input('cosign-path') || undefined,
    images,
    recursive,
    key
  };
  if (verify) {
    const signer: SignerCheck = {
      verifier: key
        ? {mode: 'key', keyRef: key.ref}
        : {
            mode: 'keyless',
            identity: io.input('certificate-identity') || undefined,
            identityRegexp: io.input('certificate-identity-regexp') || undefined,
            issuer: io.input('certificate-oidc-issuer') || undefined,
            issuerRegexp: io.input('certificate-oidc-issuer-regexp') || undefined
          },
      key,
      newBundleFormat: bundleFormat === 'new',
      ignoreTlog
    };
    const ignoreSct = parseBoolean('insecure-ignore-sct', io.input('insecure-ignore-sct'), false);
    if (ignoreSct)
      io.log.warning(
        'insecure-ignore-sct: true: certificates are accepted without a certificate-transparency proof (a private Fulcio without a CT log).'
      );

    return {
      ...common,
      verify: true,
      signer,
      policy: readPolicy(io.input('policy'), 'policy', env, inputSigner(io, keyInput, ignoreTlog, bundleFormat)),
      ignoreSct,
      trustedRoot: io.input('trusted-root') || undefined
    };
  }
  const annotations = {
    ...(parseBoolean('default-annotations', io.input('default-annotations'), true) ? workflowAnnotations(env) : {}),
    ...parseAnnotations(getMultiline(io, 'signature-annotations'))
  };
  const attest = io.input('attest');
  if (attest && !fs.existsSync(attest)) throw new UserError(`attest: ${attest} does not exist.`);
  const evidence = readEvidence(io);
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
    evidence,
    trivyVersion: io.input('trivy-version'),
    trivyPath: io.input('trivy-path') || undefined,
    dryRun,
    githubStore: githubStore(io, env, !!(evidence || attest))
  };
}

/** github-attestations: where GitHub's attestation store is and who writes to it; undefined: off. */
function githubStore(io: ActionIO, env: NodeJS.ProcessEnv, attests: boolean): SignOptions['githubStore'] {
  const mode = readStoreMode(io.input('github-attestations'));
  if (mode === 'off') return undefined;
  if (!attests)
    throw new UserError(
      'github-attestations: records attestations (sbom, provenance, vuln-report, attest); this run makes none.'
    );
  const token = io.input('github-token') || env.GITHUB_TOKEN || '';
  if (token) io.mask(token);
  const repository = env.GITHUB_REPOSITORY ?? '';
  if (!token || !/^[^/]+\/[^/]+$/.test(repository))
    throw new UserError(
      'github-attestations: needs github-token (GITHUB_TOKEN with attestations: write) and GITHUB_REPOSITORY (owner/name), which GitHub Actions sets.'
    );
  return {
    token,
    apiUrl: githubApiFromEnv(env).apiUrl,
    repository,
    onRefusal: mode
  };
}
