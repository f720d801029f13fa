import {UserError} from '../errors.js';

/** The artifact type of a Notation signature (its config media type, and the referrers' artifactType). */
export const NOTATION_SIGNATURE = 'application/vnd.cncf.notary.signature';

export const LEVELS = ['strict', 'permissive', 'audit'] as const;
export type Level = (typeof LEVELS)[number];

/** What a Notation signature must chain to and name, for verify mode and the promotion gate. */
export interface NotationTrust {
  /** PEM text of CA certificates (the root, or an intermediate) a signing chain must end at. */
  ca: string[];
  /** PEM text of signing-authority certificates (AWS Signer's root, say). */
  signingAuthority: string[];
  /** PEM text of timestamp authority roots: with them, a signature must carry a trusted RFC 3161 timestamp. */
  tsa: string[];
  /** x509 subjects the signing certificate may have ("C=US, ST=WA, O=Acme, CN=release"); empty: any chaining to the CAs. */
  identities: string[];
  level: Level;
}

/** RDNs Notation requires in a trusted identity (it rejects one without them). */
const MANDATORY_RDNS = ['C', 'ST', 'O'];

/** A trusted identity as Notation reads it: comma-separated RDNs, each KEY=value, C, ST and O present. Pure. */
export function checkIdentity(subject: string, input: string): string {
  const parts = subject.split(/,(?=\s*[A-Za-z.0-9]+=)/).map(p => p.trim());
  const keys = new Set<string>();
  for (const p of parts) {
    const m = /^([A-Za-z.0-9]+)=(.+)$/.exec(p);
    if (!m)
      throw new UserError(
        `${input}: "${subject}" is not an x509 subject; write it like C=US, ST=WA, O=Acme, CN=release.`
      );
    keys.add(m[1].toUpperCase());
  }
  const missing = MANDATORY_RDNS.filter(k => !keys.has(k));
  if (missing.length)
    throw new UserError(
      `${input}: "${subject}" lacks ${missing.join(', ')}; Notation requires C, ST and O in a trusted identity (it compares the RDNs as a set).`
    );
  return parts.join(', ');
}

/** The store names trustpolicy.json refers to: one per kind, all named after this run. */
export const STORE = 'registry-actions';

/**
 * trustpolicy.json (version 1.0) for the trust given: every registry scope, the level, the stores that
 * hold the certificates, the identities (x509.subject, or any when none is given). Pure.
 */
export function trustPolicy(t: NotationTrust): string {
  const stores = [
    ...(t.ca.length ? [`ca:${STORE}`] : []),
    ...(t.signingAuthority.length ? [`signingAuthority:${STORE}`] : []),
    ...(t.tsa.length ? [`tsa:${STORE}`] : [])
  ];
  return `${JSON.stringify(
    {
      version: '1.0',
      trustPolicies: [
        {
          name: 'registry-actions',
          registryScopes: ['*'],
          signatureVerification: {level: t.level},
          trustStores: stores,
          trustedIdentities: t.identities.length ? t.identities.map(i => `x509.subject: ${i}`) : ['*']
        }
      ]
    },
    null,
    2
  )}\n`;
}

/** The key Notation signs with: a local key and its certificate chain, or a plugin's key. */
export type NotationKey =
  | {kind: 'local'; key: string; certificate: string}
  | {kind: 'plugin'; plugin: string; id: string; config: Record<string, string>};

/** signingkeys.json naming a local key and its chain as the default. Pure. */
export function signingKeys(keyPath: string, certPath: string): string {
  return `${JSON.stringify({default: 'release', keys: [{name: 'release', keyPath, certPath}]}, null, 2)}\n`;
}

/** The PEM certificates in a text (a chain file holds several). Pure. */
export function pemCertificates(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(m => `${m[0]}\n`);
}

/** `notation sign` arguments for one reference (never a key's contents: a key name, or a plugin and key id). Pure. */
export function signArgs(o: {
  reference: string;
  key: NotationKey;
  format: 'jws' | 'cose';
  insecure: boolean;
  timestamp?: {url: string; rootCert: string};
  metadata: Record<string, string>;
}): string[] {
  return [
    'sign',
    '--signature-format',
    o.format,
    // The referrers API where the registry has it; the sha256-<hex> fallback tag only where it does not.
    '--force-referrers-tag=false',
    ...(o.insecure ? ['--insecure-registry'] : []),
    ...(o.key.kind === 'local'
      ? ['--key', 'release']
      : [
          '--plugin',
          o.key.plugin,
          '--id',
          o.key.id,
          ...Object.entries(o.key.config).flatMap(([k, v]) => ['--plugin-config', `${k}=${v}`])
        ]),
    ...(o.timestamp ? ['--timestamp-url', o.timestamp.url, '--timestamp-root-cert', o.timestamp.rootCert] : []),
    ...Object.entries(o.metadata).flatMap(([k, v]) => ['--user-metadata', `${k}=${v}`]),
    o.reference
  ];
}

/**
 * Notation's reason from its output: with --verbose it says why each signature failed ("Signature
 * sha256:… failed verification with error: …"), which its final "Error:" line does not. Pure.
 */
export function notationError(stderr: string): string {
  const lines = stderr.split('\n').map(l => l.trim());
  const reasons = [
    ...new Set(lines.map(l => /failed verification with error: (.*)$/.exec(l)?.[1]).filter((r): r is string => !!r))
  ];
  const err = (
    lines.find(l => l.startsWith('Error:')) ??
    lines.filter(l => l && !l.startsWith('level=')).pop() ??
    'no output'
  ).replace(/^Error:\s*/, '');
  return reasons.length ? `${err.replace(/ associated with .*$/, '')}: ${reasons.join('; ')}` : err;
}
