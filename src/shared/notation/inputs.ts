import fs from 'node:fs';
import path from 'node:path';
import {ActionIO} from '../action/io.js';
import {getMultiline} from '../action/run.js';
import {UserError} from '../errors.js';
import {parseBoolean} from '../inputs.js';
import {RegistryLogin} from '../registry/credentials.js';
import {parseAnnotations, workflowAnnotations} from '../sign/annotations.js';
import {LEVELS, Level, NotationTrust, checkIdentity, pemCertificates} from './config.js';
import {NotationRun, NotationSignOptions, NotationVerifyOptions} from './sign.js';

type Run = Exclude<keyof NotationRun, 'logins'>;

/** The sign action's inputs with signer: notation: signing, or verifying (verify: true). */
export type NotationInputs = {
  tool: 'notation';
  logins: Map<string, RegistryLogin>;
  notationVersion: string;
  notationPath?: string;
} & (
  | ({verify: false} & Omit<NotationSignOptions, Run | 'logins'>)
  | ({verify: true} & Omit<NotationVerifyOptions, Run | 'logins'>)
);

/** Inputs that belong to cosign: refused with signer: notation rather than silently ignored. */
const COSIGN_ONLY = [
  'key',
  'key-password',
  'sbom',
  'provenance',
  'vuln-report',
  'attest',
  'policy',
  'signing-config',
  'certificate-identity',
  'certificate-identity-regexp',
  'certificate-oidc-issuer',
  'certificate-oidc-issuer-regexp',
  'github-attestations'
];

/** Values of cosign inputs that ask for nothing (their defaults). */
const NEUTRAL: Record<string, string[]> = {provenance: ['false'], 'github-attestations': ['false']};

/** PEM text given inline, or a file of it (relative to the workspace). */
function pem(io: ActionIO, name: string, env: NodeJS.ProcessEnv, secret = false): string | undefined {
  const v = io.input(name).trim();
  if (!v) return undefined;
  if (v.startsWith('-----BEGIN')) {
    if (secret) for (const line of v.split('\n')) if (line.trim() && !line.startsWith('-----')) io.mask(line.trim());
    return `${v}\n`;
  }
  const file = path.resolve(env.GITHUB_WORKSPACE || process.cwd(), v);
  if (!fs.existsSync(file))
    throw new UserError(
      `${name}: neither PEM text nor a file (looked for ${file}); give the PEM from a secret, or its file.`
    );
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes('-----BEGIN')) throw new UserError(`${name}: ${v} holds no PEM block.`);
  return text;
}

/** Several PEM inputs, one per line: inline PEM blocks or files. */
function pems(io: ActionIO, name: string, env: NodeJS.ProcessEnv): string[] {
  const raw = io.input(name).trim();
  if (!raw) return [];
  if (raw.startsWith('-----BEGIN')) {
    const certs = pemCertificates(raw);
    if (!certs.length) throw new UserError(`${name}: no certificate in the PEM text.`);
    return certs;
  }
  return getMultiline(io, name).map(line => {
    const file = path.resolve(env.GITHUB_WORKSPACE || process.cwd(), line);
    if (!fs.existsSync(file)) throw new UserError(`${name}: ${line} is not a file (looked for ${file}).`);
    const certs = pemCertificates(fs.readFileSync(file, 'utf8'));
    if (!certs.length) throw new UserError(`${name}: ${line} holds no certificate.`);
    return certs.join('');
  });
}

function pluginConfig(io: ActionIO): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of getMultiline(io, 'notation-plugin-config')) {
    const m = /^([^=\s]+)=(.*)$/.exec(line);
    if (!m) throw new UserError(`notation-plugin-config: "${line}" is not key=value (one per line).`);
    out[m[1]] = m[2];
  }
  return out;
}

/** Reads the Notation inputs of the sign action; the images, logins and recursion are the common ones. */
export function readNotationInputs(
  io: ActionIO,
  env: NodeJS.ProcessEnv,
  common: {logins: Map<string, RegistryLogin>; images: string[]; recursive: boolean; verify: boolean; dryRun: boolean}
): NotationInputs {
  // A cosign input at its action.yml default (the runner sets it: provenance and github-attestations
  // 'false') is not given.
  const given = (name: string): boolean => {
    const v = io.input(name).trim();
    return !!v && !(NEUTRAL[name] ?? []).includes(v.toLowerCase());
  };
  for (const name of COSIGN_ONLY)
    if (given(name))
      throw new UserError(
        `${name}: a cosign input; with signer: notation give notation-key and notation-certificate (or notation-plugin), and for verifying notation-trusted-ca and notation-trusted-identities. Attestations (SBOM, provenance, scans) are made with cosign: a second sign step with signer: cosign.`
      );
  const base = {
    tool: 'notation' as const,
    logins: common.logins,
    images: common.images,
    recursive: common.recursive,
    notationVersion: io.input('notation-version'),
    notationPath: io.input('notation-path') || undefined
  };
  if (common.verify) {
    const policyFile = io.input('notation-trust-policy').trim();
    if (policyFile) {
      const file = path.resolve(env.GITHUB_WORKSPACE || process.cwd(), policyFile);
      if (!fs.existsSync(file))
        throw new UserError(`notation-trust-policy: ${policyFile} is not a file (looked for ${file}).`);
      const store = io.input('notation-trust-store').trim();
      const storeDir = store ? path.resolve(env.GITHUB_WORKSPACE || process.cwd(), store) : undefined;
      if (storeDir && !fs.existsSync(path.join(storeDir, 'x509')))
        throw new UserError(
          `notation-trust-store: ${store} has no x509/ directory; give a trust store laid out as x509/<ca|signingAuthority|tsa>/<store>/*.pem.`
        );
      return {...base, verify: true, trust: {policyFile: file, storeDir}, metadata: {}};
    }
    const level = (io.input('notation-verification-level').trim() || 'strict') as Level;
    if (!(LEVELS as readonly string[]).includes(level))
      throw new UserError(`notation-verification-level: "${level}" is not one of ${LEVELS.join(', ')}.`);
    const trust: NotationTrust = {
      ca: pems(io, 'notation-trusted-ca', env),
      signingAuthority: pems(io, 'notation-signing-authority', env),
      tsa: pems(io, 'timestamp-root-cert', env),
      identities: getMultiline(io, 'notation-trusted-identities').map(i =>
        checkIdentity(i, 'notation-trusted-identities')
      ),
      level
    };
    if (!trust.ca.length && !trust.signingAuthority.length)
      throw new UserError(
        'notation-trusted-ca: verifying with Notation needs the certificate authority the signatures chain to (notation-trusted-ca, or notation-signing-authority), or your own notation-trust-policy and notation-trust-store.'
      );
    if (!trust.identities.length)
      io.log.warning(
        'notation-trusted-identities: none given: any certificate issued under the trusted CA is accepted. Name the release signer (C=…, ST=…, O=…, CN=…).'
      );
    return {...base, verify: true, trust, metadata: parseAnnotations(getMultiline(io, 'signature-annotations'))};
  }
  const format = (io.input('signature-format').trim() || 'jws') as 'jws' | 'cose';
  if (format !== 'jws' && format !== 'cose')
    throw new UserError(`signature-format: "${format}" is neither jws nor cose.`);
  const url = io.input('timestamp-url').trim();
  const rootCert = io.input('timestamp-root-cert').trim();
  if (!!url !== !!rootCert)
    throw new UserError(
      'timestamp-url and timestamp-root-cert: give both (the RFC 3161 service and its root certificate), or neither.'
    );
  let timestampRoot: string | undefined;
  if (rootCert) {
    // notation reads the root from a file: an inline PEM is written into the run's directory by the caller.
    timestampRoot = path.resolve(env.GITHUB_WORKSPACE || process.cwd(), rootCert);
    if (!fs.existsSync(timestampRoot))
      throw new UserError(`timestamp-root-cert: ${rootCert} is not a file (looked for ${timestampRoot}).`);
  }
  const plugin = io.input('notation-plugin').trim();
  let key: NotationSignOptions['key'];
  let pluginSource: NotationSignOptions['plugin'];
  if (plugin) {
    const id = io.input('notation-key-id').trim();
    if (!id)
      throw new UserError('notation-key-id: signing with notation-plugin needs the key id (a KMS key ARN or URL).');
    key = {kind: 'plugin', plugin, id, config: pluginConfig(io)};
    const file = io.input('notation-plugin-file').trim();
    const pluginUrl = io.input('notation-plugin-url').trim();
    const sha256 = io.input('notation-plugin-sha256').trim().toLowerCase();
    if ((file || pluginUrl) && !/^[a-f0-9]{64}$/.test(sha256))
      throw new UserError(
        'notation-plugin-sha256: installing a plugin needs its SHA-256 (64 hex digits); nothing unchecked is installed.'
      );
    if (file || pluginUrl)
      pluginSource = {
        ...(file ? {file: path.resolve(env.GITHUB_WORKSPACE || process.cwd(), file)} : {url: pluginUrl}),
        sha256
      };
  } else {
    const keyPem = pem(io, 'notation-key', env, true);
    const chainPem = pem(io, 'notation-certificate', env);
    if (!keyPem || !chainPem)
      throw new UserError(
        'notation-key and notation-certificate: signing with Notation needs the private key (PEM, from a secret) and its certificate chain (leaf first, ending at the root), or notation-plugin with notation-key-id.'
      );
    if (!/PRIVATE KEY/.test(keyPem)) throw new UserError('notation-key: not a private key (PEM "PRIVATE KEY").');
    if (/ENCRYPTED/.test(keyPem))
      throw new UserError(
        'notation-key: an encrypted key; Notation reads unencrypted keys only (keep it in a secret).'
      );
    if (!pemCertificates(chainPem).length) throw new UserError('notation-certificate: no certificate in it.');
    key = {kind: 'local', keyPem, chainPem};
  }
  const annotations = {
    ...(parseBoolean('default-annotations', io.input('default-annotations'), true) ? workflowAnnotations(env) : {}),
    ...parseAnnotations(getMultiline(io, 'signature-annotations'))
  };
  return {
    ...base,
    verify: false,
    key,
    ...(pluginSource ? {plugin: pluginSource} : {}),
    format,
    ...(url && timestampRoot ? {timestamp: {url, rootCert: timestampRoot}} : {}),
    annotations,
    dryRun: common.dryRun
  };
}
