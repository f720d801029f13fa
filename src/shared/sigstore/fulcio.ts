import crypto from 'node:crypto';
import {UserError} from '../errors.js';

/** A certificate Fulcio issued for an ephemeral key, PEM: the leaf, then its chain. */
export interface IssuedCertificate {
  certificate: string;
  chain: string[];
}

/** The subject Fulcio wants proven: the token's email claim, else its sub claim (as cosign does). Pure. */
export function tokenSubject(token: string): string {
  const part = token.split('.')[1];
  if (!part) throw new UserError('the OIDC token is not a JWT.');
  const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as {email?: string; sub?: string};
  const subject = claims.email || claims.sub;
  if (!subject) throw new UserError('the OIDC token has neither an email nor a sub claim.');
  return subject;
}

/** Fulcio's v2 `signingCert` request body for a key and token. Pure but for the signature. */
export function signingCertRequest(token: string, key: crypto.KeyObject): unknown {
  const publicKey = crypto.createPublicKey(key).export({format: 'pem', type: 'spki'}).toString();
  const proof = crypto.sign('sha256', Buffer.from(tokenSubject(token)), key).toString('base64');
  return {
    credentials: {oidcIdentityToken: token},
    publicKeyRequest: {publicKey: {algorithm: 'ECDSA', content: publicKey}, proofOfPossession: proof}
  };
}

interface SigningCertResponse {
  signedCertificateEmbeddedSct?: {chain?: {certificates?: string[]}};
  signedCertificateDetachedSct?: {chain?: {certificates?: string[]}};
}

/** The leaf and chain of Fulcio's answer (embedded SCT, or detached for a Fulcio without CT log). Pure. */
export function issuedCertificate(body: SigningCertResponse): IssuedCertificate {
  const certs = (body.signedCertificateEmbeddedSct ?? body.signedCertificateDetachedSct)?.chain?.certificates ?? [];
  if (!certs.length) throw new Error('Fulcio answered without a certificate chain');
  return {certificate: certs[0], chain: certs.slice(1)};
}

/** Asks Fulcio for one code-signing certificate binding `key` to the token's identity. */
export async function requestCertificate(
  fulcio: string,
  token: string,
  key: crypto.KeyObject,
  fetcher: typeof fetch = fetch
): Promise<IssuedCertificate> {
  const url = `${fulcio}/api/v2/signingCert`;
  let res: Response;
  try {
    res = await fetcher(url, {
      method: 'POST',
      headers: {'content-type': 'application/json', accept: 'application/json'},
      body: JSON.stringify(signingCertRequest(token, key)),
      signal: AbortSignal.timeout(60_000)
    });
  } catch (err) {
    throw new UserError(`Fulcio (${url}) could not be reached: ${(err as Error).message}.`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.trim().slice(0, 500);
    try {
      message = (JSON.parse(text) as {message?: string}).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new UserError(`Fulcio (${url}) refused the certificate request: HTTP ${res.status}: ${message}`);
  }
  return issuedCertificate(JSON.parse(text) as SigningCertResponse);
}
