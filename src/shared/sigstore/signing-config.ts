import {UserError} from '../errors.js';

/** One service entry of a Sigstore signing config (v0.2 JSON). */
export interface ServiceEntry {
  url: string;
  majorApiVersion: number;
  validFor?: {start?: string; end?: string};
  operator?: string;
}

/** The fields of a Sigstore signing config this project reads (the rest is kept as is). */
export interface SigningConfig {
  mediaType?: string;
  caUrls?: ServiceEntry[];
  oidcUrls?: ServiceEntry[];
  rekorTlogUrls?: ServiceEntry[];
  rekorTlogConfig?: unknown;
  tsaUrls?: ServiceEntry[];
  tsaConfig?: unknown;
  [key: string]: unknown;
}

/** Public Sigstore's Fulcio: the certificate authority when no signing config names one. */
export const PUBLIC_FULCIO = 'https://fulcio.sigstore.dev';

/** Parses a signing config file's text; `input` names the input it came from in errors. Pure. */
export function parseSigningConfig(text: string, input: string): SigningConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${input}: not JSON (${(err as Error).message}). Make it with cosign signing-config create.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UserError(`${input}: not a Sigstore signing config (expected a JSON object with caUrls).`);
  const config = parsed as SigningConfig;
  if (!String(config.mediaType ?? '').startsWith('application/vnd.dev.sigstore.signingconfig.'))
    throw new UserError(
      `${input}: mediaType "${String(config.mediaType)}" is not a Sigstore signing config (application/vnd.dev.sigstore.signingconfig.v0.2+json).`
    );
  return config;
}

const valid = (e: ServiceEntry, now: Date): boolean =>
  (!e.validFor?.start || new Date(e.validFor.start) <= now) && (!e.validFor?.end || now < new Date(e.validFor.end));

/** The Fulcio (API v1, what cosign speaks) a signing config names for `now`. Pure. */
export function fulcioUrl(config: SigningConfig, input: string, now = new Date()): string {
  const ca = (config.caUrls ?? []).find(e => e.majorApiVersion === 1 && valid(e, now));
  if (!ca) throw new UserError(`${input}: names no certificate authority (caUrls with majorApiVersion 1) valid now.`);
  return ca.url.replace(/\/+$/, '');
}

/** Whether the config names a transparency log. Pure. */
export const hasTlog = (config: SigningConfig): boolean => (config.rekorTlogUrls ?? []).length > 0;

/**
 * The same config without its transparency log: how cosign 3 signs without Rekor when a signing
 * config is given (it refuses --tlog-upload=false next to one). Pure.
 */
export function withoutTlog(config: SigningConfig): SigningConfig {
  const {rekorTlogUrls: _urls, rekorTlogConfig: _config, ...rest} = config;
  return rest;
}

/**
 * Whether keyless signatures made so carry no trusted time: no transparency-log entry and no timestamp
 * authority (none given, or the signing config names none). Pure.
 */
export const withoutTrustedTime = (tlogUpload: boolean, config?: SigningConfig): boolean =>
  !tlogUpload && (config?.tsaUrls ?? []).length === 0;

export const NO_TRUSTED_TIME = `tlog-upload: false without a timestamp authority: nothing records when this run signed, and its certificate is valid for 10 minutes. Verifiers that need a trusted time refuse what it signs and attests: gh attestation verify ("threshold not met for verified signed & log entry integrated timestamps"), and cosign once the certificate has expired. Give a signing-config that names a timestamp authority (tsaUrls), or keep tlog-upload: true.`;
