import fs from 'node:fs';
import path from 'node:path';
import {Raw, fieldError, mapping, regexp, unknownKeys} from './fields.js';
import {LEVELS, Level, NotationTrust, checkIdentity, pemCertificates} from '../notation/config.js';

/** Who must have signed: a public key, or a keyless identity and issuer (exact or regexp). */
export interface SignerRule {
  /** A public key: a file (relative to the workspace), env://VAR, or a KMS URI. */
  key?: string;
  identity?: string;
  identityRegexp?: string;
  issuer?: string;
  issuerRegexp?: string;
  /** Accept signatures without a transparency-log entry (signed with tlog-upload false): a weakening. */
  ignoreTlog: boolean;
  /** Signatures stored as Sigstore bundles (referrers; the default) or legacy sha256-<hex>.sig tags. */
  bundleFormat: 'new' | 'legacy';
  /** A Notation signer instead: the CA (and identities) its X.509 signatures must chain to (and name). */
  notation?: NotationTrust;
}

export const SIGNER_KEYS = [
  'key',
  'identity',
  'identity-regexp',
  'issuer',
  'issuer-regexp',
  'ignore-tlog',
  'bundle-format',
  'notation'
] as const;

const NOTATION_KEYS = ['ca', 'signing-authority', 'tsa', 'identities', 'level'] as const;

/** Certificates named by a policy field: files (relative to the workspace), one or a list, or PEM text. */
function certificates(input: string, raw: unknown, where: string, base: string): string[] {
  const items = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
  return items.map(item => {
    if (item.includes('-----BEGIN')) return item;
    const file = path.resolve(base, item);
    if (!fs.existsSync(file)) throw fieldError(input, where, `${item} is not a file (looked for ${file})`);
    const text = fs.readFileSync(file, 'utf8');
    if (!pemCertificates(text).length) throw fieldError(input, where, `${item} holds no PEM certificate`);
    return text;
  });
}

/** A policy's Notation signer: `notation: {ca, identities, level, signing-authority, tsa}`. */
function notationRule(input: string, raw: unknown, where: string, base: string): NotationTrust {
  const o = mapping(input, raw, where, NOTATION_KEYS.join(', '));
  unknownKeys(input, o, NOTATION_KEYS, where);
  const level = (o.level === undefined ? 'strict' : String(o.level)) as Level;
  if (!(LEVELS as readonly string[]).includes(level))
    throw fieldError(input, `${where}.level`, `"${level}" is not one of ${LEVELS.join(', ')}`);
  const trust: NotationTrust = {
    ca: certificates(input, o.ca, `${where}.ca`, base),
    signingAuthority: certificates(input, o['signing-authority'], `${where}.signing-authority`, base),
    tsa: certificates(input, o.tsa, `${where}.tsa`, base),
    identities: (o.identities === undefined ? [] : Array.isArray(o.identities) ? o.identities : [o.identities]).map(i =>
      checkIdentity(String(i), `${input}: ${where}.identities`)
    ),
    level
  };
  if (!trust.ca.length && !trust.signingAuthority.length)
    throw fieldError(
      input,
      where,
      'needs ca (or signing-authority): the certificates Notation signatures must chain to'
    );
  if (level === 'audit')
    throw fieldError(
      input,
      `${where}.level`,
      'audit verifies integrity only (an untrusted signer passes): no gate; use strict'
    );
  return trust;
}

/** Reads a signer mapping of a YAML input (sync's verify, a policy's signer). Pure. */
export function signerRule(
  input: string,
  raw: unknown,
  where: string,
  base = process.env.GITHUB_WORKSPACE || process.cwd()
): SignerRule {
  const o: Raw = mapping(input, raw, where, 'key, or identity and issuer');
  unknownKeys(input, o, SIGNER_KEYS, where);
  if (o.notation !== undefined) {
    const others = Object.keys(o).filter(k => k !== 'notation');
    if (others.length) throw fieldError(input, where, `notation is a signer of its own; remove ${others.join(', ')}`);
    return {
      ignoreTlog: false,
      bundleFormat: 'new',
      notation: notationRule(input, o.notation, `${where}.notation`, base)
    };
  }
  const str = (k: string): string | undefined => (o[k] === undefined ? undefined : String(o[k]));
  const rule: SignerRule = {
    key: str('key'),
    identity: str('identity'),
    identityRegexp: str('identity-regexp'),
    issuer: str('issuer'),
    issuerRegexp: str('issuer-regexp'),
    ignoreTlog: o['ignore-tlog'] === true || o['ignore-tlog'] === 'true',
    bundleFormat: str('bundle-format') === 'legacy' ? 'legacy' : 'new'
  };
  if (o['bundle-format'] !== undefined && !['new', 'legacy'].includes(String(o['bundle-format'])))
    throw fieldError(input, `${where}.bundle-format`, `"${String(o['bundle-format'])}" is neither new nor legacy`);
  if (rule.key && (rule.identity || rule.identityRegexp || rule.issuer || rule.issuerRegexp))
    throw fieldError(input, where, 'give key, or identity and issuer, not both');
  if (!rule.key && (!(rule.identity || rule.identityRegexp) || !(rule.issuer || rule.issuerRegexp)))
    throw fieldError(
      input,
      where,
      'needs key, or identity (or identity-regexp) and issuer (or issuer-regexp)',
      'For images signed in GitHub Actions the issuer is https://token.actions.githubusercontent.com.'
    );
  for (const k of ['identity-regexp', 'issuer-regexp']) {
    const v = str(k);
    if (v !== undefined) regexp(input, v, `${where}.${k}`);
  }
  return rule;
}
