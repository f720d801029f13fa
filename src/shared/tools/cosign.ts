import {execOk, toolEnv} from '../exec.js';
import {ToolSpec} from './install.js';

/** The cosign release the actions pin by default (input cosign-version overrides it). */
export const COSIGN_VERSION = 'v3.1.3';

const GOARCH: Record<string, string> = {x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x'};

export const COSIGN: ToolSpec = {
  name: 'cosign',
  versionInput: 'cosign-version',
  pathInput: 'cosign-path',
  // --use-signing-config and --new-bundle-format, which we always pass, arrived in 2.6.0.
  minimum: '2.6.0',
  releasesUrl: 'https://github.com/sigstore/cosign/releases/download',
  releasesUrlEnv: 'REGISTRY_ACTIONS_COSIGN_RELEASES_URL',
  asset: (_version, platform, arch) => {
    const os = platform === 'win32' ? 'windows' : platform;
    return {
      file: `cosign-${os}-${GOARCH[arch] ?? arch}${platform === 'win32' ? '.exe' : ''}`,
      checksums: 'cosign_checksums.txt'
    };
  },
  version: async (binary, env) => {
    const out = (await execOk({command: binary, args: ['version', '--json'], env, timeoutMs: 30000})).stdout;
    const v = (JSON.parse(out) as {gitVersion?: string}).gitVersion;
    if (!v) throw new Error('cosign version --json printed no gitVersion');
    return v;
  }
};

/** Choices that cosign's defaults would otherwise make, and that changed between releases. */
export interface SigstoreOptions {
  /** Sigstore bundle (OCI referrer) rather than the legacy .sig tag. */
  newBundleFormat: boolean;
  /** Record in the transparency log (Rekor). */
  tlogUpload: boolean;
  /** Fetch service URLs from the Sigstore signing config (cosign 3 default; needs the network). */
  useSigningConfig: boolean;
  /** A signing config file (private Sigstore deployments). */
  signingConfig?: string;
  /** A trusted root file (private Sigstore deployments). */
  trustedRoot?: string;
}

/**
 * How cosign signs: a key (file, env:// or KMS), or keyless through a key of this run certified once by
 * Fulcio (src/shared/sigstore/certificate.ts), which cosign reads as a key with its certificate.
 */
export type Signer =
  | {mode: 'key'; keyRef: string}
  | {mode: 'kms'; keyRef: string}
  | {mode: 'certificate'; keyRef: string; certificate: string};

export interface SignArgs extends SigstoreOptions {
  signer: Signer;
  /** Fully qualified repo@digest references; each is signed once. */
  references: string[];
  annotations: Record<string, string>;
  allowHttp: boolean;
}

/**
 * A signing config is passed alone: cosign 3 refuses --use-signing-config (even =false) and
 * --tlog-upload next to it. Without the transparency log, the config handed here is one without
 * Rekor (withoutTlog), which is how cosign signs without a log when given a config.
 */
function sigstoreFlags(o: SigstoreOptions): string[] {
  const args = [`--new-bundle-format=${o.newBundleFormat}`];
  if (o.signingConfig) args.push('--signing-config', o.signingConfig);
  else args.push(`--use-signing-config=${o.useSigningConfig}`, `--tlog-upload=${o.tlogUpload}`);
  if (o.trustedRoot) args.push('--trusted-root', o.trustedRoot);
  return args;
}

function signerFlags(s: Signer): string[] {
  // Keys travel as file paths, env:// references or KMS URIs; never their contents.
  if (s.mode === 'certificate') return ['--key', s.keyRef, '--certificate', s.certificate];
  return ['--key', s.keyRef];
}

/** `cosign sign` arguments: every default that changed across releases is stated. Pure. */
export function signArgs(o: SignArgs): string[] {
  const args = ['sign', '--yes', ...sigstoreFlags(o), ...signerFlags(o.signer), '--recursive=false'];
  if (o.allowHttp) args.push('--allow-http-registry');
  for (const [k, v] of Object.entries(o.annotations)) args.push('-a', `${k}=${v}`);
  return [...args, ...o.references];
}

export interface AttestArgs extends SigstoreOptions {
  signer: Signer;
  references: string[];
  predicate: string;
  predicateType: string;
  allowHttp: boolean;
  /** Also write the bundle to this file (for GitHub's attestation store). */
  bundle?: string;
}

/** `cosign attest` arguments. Pure. */
export function attestArgs(o: AttestArgs): string[] {
  const args = [
    'attest',
    '--yes',
    ...sigstoreFlags(o),
    ...signerFlags(o.signer),
    '--predicate',
    o.predicate,
    '--type',
    o.predicateType
  ];
  if (o.allowHttp) args.push('--allow-http-registry');
  if (o.bundle) args.push('--bundle', o.bundle);
  return [...args, ...o.references];
}

export type Verifier =
  | {mode: 'key'; keyRef: string}
  | {
      mode: 'keyless';
      identity?: string;
      identityRegexp?: string;
      issuer?: string;
      issuerRegexp?: string;
    };

export interface VerifyArgs {
  verifier: Verifier;
  reference: string;
  newBundleFormat: boolean;
  /** Skip the transparency log check (only for signatures made with tlog-upload false). */
  ignoreTlog: boolean;
  /** Accept certificates without SCTs (a private Fulcio without a CT log). */
  ignoreSct?: boolean;
  trustedRoot?: string;
  allowHttp: boolean;
  /** verify-attestation of this predicate type instead of verify. */
  attestationType?: string;
}

/** `cosign verify` (or `verify-attestation --type`) arguments for one image. Pure. */
export function verifyArgs(o: VerifyArgs): string[] {
  // verify-attestation prints the verified statements, one JSON envelope per line.
  const args = o.attestationType
    ? ['verify-attestation', '--type', o.attestationType, `--new-bundle-format=${o.newBundleFormat}`]
    : ['verify', `--new-bundle-format=${o.newBundleFormat}`, '--output', 'json'];
  const v = o.verifier;
  if (v.mode === 'key') args.push('--key', v.keyRef);
  else {
    if (v.identity) args.push('--certificate-identity', v.identity);
    if (v.identityRegexp) args.push('--certificate-identity-regexp', v.identityRegexp);
    if (v.issuer) args.push('--certificate-oidc-issuer', v.issuer);
    if (v.issuerRegexp) args.push('--certificate-oidc-issuer-regexp', v.issuerRegexp);
  }
  if (o.ignoreTlog) args.push('--insecure-ignore-tlog=true');
  if (o.ignoreSct) args.push('--insecure-ignore-sct=true');
  if (o.trustedRoot) args.push('--trusted-root', o.trustedRoot);
  if (o.allowHttp) args.push('--allow-http-registry');
  return [...args, o.reference];
}

/** What went wrong in a cosign run, judged from its exit code and the structure of its error. */
export type CosignFailure =
  'no-signature' | 'no-match' | 'not-found' | 'no-certificate' | 'registry-auth' | 'key-password' | 'other';

/** cosign's last `Error:` line (or its last line). */
export function cosignErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map(l => l.trim())
    .filter(l => l && !/deprecated|^WARNING/i.test(l));
  return (
    lines
      .filter(l => l.startsWith('Error:'))
      .pop()
      ?.replace(/^Error:\s*/, '') ??
    lines.pop() ??
    ''
  );
}

/**
 * Classifies a cosign failure on structure, not on words anywhere in the message: verify's exit codes
 * (10 no signature, 11 not found, 12 no match, 13 no certificate; with the bundle format a mismatch
 * exits 1 with "no matching signatures/attestations"), a registry's OCI error code as
 * go-containerregistry prints it (`UNAUTHORIZED: …`, `DENIED: …`) or an HTTP status it reports
 * (`status code 401`, `401 Unauthorized`), and a key that does not decrypt. A port or digest that
 * contains 401, or an OS "Permission denied", is none of these. Pure.
 */
export function classifyCosignFailure(code: number, stderr: string): CosignFailure {
  const error = cosignErrorLine(stderr);
  switch (code) {
    case 10:
      return 'no-signature';
    case 11:
      return 'not-found';
    case 12:
      return 'no-match';
    case 13:
      return 'no-certificate';
  }
  if (/\b(?:decrypt(?:ion)? failed|decrypt:|decrypting|incorrect passphrase)/i.test(error)) return 'key-password';
  if (/(?:^|[:;]\s)(?:UNAUTHORIZED|DENIED)(?::|$)/.test(error)) return 'registry-auth';
  if (/\bstatus code (?:401|403)\b|\b(?:401 Unauthorized|403 Forbidden)\b/.test(error)) return 'registry-auth';
  if (/\bno matching (?:signatures|attestations)\b/i.test(error)) return 'no-match';
  if (/\bno (?:signatures|attestations|bundles?) found\b/i.test(error)) return 'no-signature';
  return 'other';
}

/** Why a verification failed, in words a user can act on. */
export function verifyFailure(code: number, detail: string): string {
  const last = cosignErrorLine(detail);
  switch (classifyCosignFailure(code, detail)) {
    case 'no-signature':
      return 'no signature found for this digest (if this tag was signed before, it now points at a different image)';
    case 'not-found':
      return 'the image or tag was not found';
    case 'no-match':
      return `no signature matches the given key or identity (${last})`;
    case 'no-certificate':
      return `a signature has no certificate (${last})`;
    case 'registry-auth':
      return `the registry refused cosign's credentials (${last})`;
    default:
      return last || `cosign exited with code ${code}`;
  }
}

/** Prefixes a KMS or a private Sigstore deployment reads its settings from. */
const PASS_PREFIXES = ['SIGSTORE_', 'AWS_', 'AZURE_', 'GOOGLE_', 'GCP_', 'CLOUDSDK_', 'VAULT_'];

/**
 * The environment cosign runs in: built from scratch, so no stray COSIGN_* variable of the job can
 * change a flag; COSIGN_PASSWORD always set (unset, cosign would prompt on stdin); the docker config
 * we wrote for this run. Pure.
 */
export function cosignEnv(
  env: NodeJS.ProcessEnv,
  opts: {dockerConfig: string; password?: string; extra?: Record<string, string>}
): NodeJS.ProcessEnv {
  const out = toolEnv(env, {names: ['TUF_ROOT'], prefixes: PASS_PREFIXES});
  out.DOCKER_CONFIG = opts.dockerConfig;
  out.COSIGN_PASSWORD = opts.password ?? '';
  return {...out, ...opts.extra};
}
