import {Raw, fieldError, mapping, regexp, unknownKeys} from './fields.js';

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
}

export const SIGNER_KEYS = [
  'key',
  'identity',
  'identity-regexp',
  'issuer',
  'issuer-regexp',
  'ignore-tlog',
  'bundle-format'
] as const;

/** Reads a signer mapping of a YAML input (sync's verify, a policy's signer). Pure. */
export function signerRule(input: string, raw: unknown, where: string): SignerRule {
  const o: Raw = mapping(input, raw, where, 'key, or identity and issuer');
  unknownKeys(input, o, SIGNER_KEYS, where);
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
