import crypto from 'node:crypto';
import {RegistryClient} from '../registry/client.js';
import {referrersTag} from '../registry/digest.js';
import {ImageManifest, MEDIA} from '../registry/media.js';
import {SignerRule} from '../policy/signer.js';
import {listReferrers} from './signatures.js';

/** The predicate type URI of each cosign --type name (cosign's own table); any other type is its URI. */
const PREDICATE_URIS: Record<string, string> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  link: 'https://in-toto.io/Link/v1',
  custom: 'https://cosign.sigstore.dev/attestation/v1'
};

export const predicateUri = (type: string): string => PREDICATE_URIS[type] ?? type;

/** Fulcio's certificate extensions for the OIDC issuer: 1.3.6.1.4.1.57264.1.8 (DER string) and .1.1 (raw). */
const ISSUER_V2 = Buffer.from('060a2b0601040183bf300108', 'hex');
const ISSUER_V1 = Buffer.from('060a2b0601040183bf300101', 'hex');

/** The value of a certificate extension found by its OID, read from the DER as bytes. */
function extensionValue(der: Buffer, oid: Buffer): string | undefined {
  const at = der.indexOf(oid);
  if (at < 0) return undefined;
  let i = at + oid.length;
  if (der[i] === 0x01) i += 3; // critical BOOLEAN
  if (der[i] !== 0x04) return undefined;
  const len = der[i + 1];
  if (len > 0x7f) return undefined;
  const value = der.subarray(i + 2, i + 2 + len);
  // .1.8 holds a DER UTF8String; .1.1 the raw text.
  return value[0] === 0x0c ? value.subarray(2, 2 + value[1]).toString('utf8') : value.toString('utf8');
}

/** Who signed: a certificate's identity (its SAN: workflow URI or email) and OIDC issuer, or a key. */
export interface SignerSeen {
  identity?: string;
  issuer?: string;
}

export const describeSigner = (s: SignerSeen): string =>
  s.identity ? `${s.identity}${s.issuer ? ` (issuer ${s.issuer})` : ''}` : 'a key';

/** Who a certificate names: its SAN and Fulcio's issuer extension. Pure. */
export function certificateSigner(der: Buffer): SignerSeen {
  const cert = new crypto.X509Certificate(der);
  const identity = (cert.subjectAltName ?? '')
    .split(', ')
    .map(s => s.replace(/^(URI|email):/, ''))
    .join(', ');
  const issuer = extensionValue(cert.raw, ISSUER_V2) ?? extensionValue(cert.raw, ISSUER_V1);
  return {identity: identity || cert.subject.replace(/\n/g, ', '), ...(issuer ? {issuer} : {})};
}

interface BundleJson {
  verificationMaterial?: {
    certificate?: {rawBytes?: string};
    x509CertificateChain?: {certificates?: Array<{rawBytes?: string}>};
    publicKey?: {hint?: string};
  };
}

/** Who signed a Sigstore bundle: the certificate's identity, or a key. */
function bundleSigner(bundle: BundleJson): SignerSeen {
  const m = bundle.verificationMaterial;
  const raw = m?.certificate?.rawBytes ?? m?.x509CertificateChain?.certificates?.[0]?.rawBytes;
  return raw ? certificateSigner(Buffer.from(raw, 'base64')) : {};
}

async function blobJson<T>(client: RegistryClient, repository: string, digest: string): Promise<T | undefined> {
  try {
    const stream = await client.getBlob(repository, digest);
    return JSON.parse(Buffer.concat(await stream.toArray()).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Who signed the attestations of a predicate type a digest carries, read without verifying them: the
 * bundles among its referrers (or its fallback index) and the legacy `.att` tag. For a reason a reader
 * can act on when verification finds none by the required signer: "present, signed by X" is not "missing".
 */
export async function whoAttested(
  client: RegistryClient,
  repository: string,
  digest: string,
  type: string
): Promise<SignerSeen[]> {
  const uri = predicateUri(type);
  const signers: SignerSeen[] = [];
  for (const d of await listReferrers(client, repository, digest).catch(() => [])) {
    if (d.artifactType !== MEDIA.sigstoreBundle) continue;
    const m = await client.getManifest(repository, d.digest).catch(() => undefined);
    if (!m) continue;
    const manifest = JSON.parse(m.body.toString('utf8')) as ImageManifest;
    if ((manifest.annotations ?? {})['dev.sigstore.bundle.predicateType'] !== uri) continue;
    const layer = manifest.layers?.[0];
    const bundle = layer ? await blobJson<BundleJson>(client, repository, layer.digest) : undefined;
    if (bundle) signers.push(bundleSigner(bundle));
  }
  const att = await client.getManifest(repository, `${referrersTag(digest)}.att`).catch(() => undefined);
  if (att) {
    for (const l of (JSON.parse(att.body.toString('utf8')) as ImageManifest).layers ?? []) {
      if (l.mediaType !== MEDIA.dsse) continue;
      const envelope = await blobJson<{payload?: string}>(client, repository, l.digest);
      const statement = JSON.parse(Buffer.from(envelope?.payload ?? '', 'base64').toString('utf8') || '{}') as {
        predicateType?: string;
      };
      if (statement.predicateType !== uri) continue;
      const pem = l.annotations?.['dev.sigstore.cosign/certificate'];
      signers.push(pem ? certificateSigner(new crypto.X509Certificate(pem).raw) : {});
    }
  }
  return signers.filter((x, i) => signers.findIndex(y => describeSigner(y) === describeSigner(x)) === i);
}

/** Whether a signer seen on an attestation is the one a rule names (keyless rules only; a key cannot be told without verifying). */
function isRequired(rule: SignerRule, s: SignerSeen): boolean {
  if (rule.key || !s.identity) return false;
  const id = rule.identity ? s.identity === rule.identity : new RegExp(rule.identityRegexp ?? '^$').test(s.identity);
  const iss = rule.issuer ? s.issuer === rule.issuer : new RegExp(rule.issuerRegexp ?? '^$').test(s.issuer ?? '');
  return id && iss;
}

/**
 * Why a required attestation did not verify, as a reader acts on it: missing altogether, present but
 * signed by someone else (naming who), or signed by the required signer yet not verifying (cosign's
 * reason). Pure.
 */
export function attestationFailure(name: string, rule: SignerRule, seen: SignerSeen[], cosignReason: string): string {
  if (!seen.length) return `no ${name} attestation on this digest (${cosignReason})`;
  if (seen.some(s => isRequired(rule, s)))
    return `${name} present, signed by the required signer, but it does not verify: ${cosignReason}`;
  if (rule.key && seen.every(s => !s.identity)) return `${name} present, signed with a key, not with the required key`;
  return `${name} present, signed by ${seen.map(describeSigner).join('; ')}, not by the required signer`;
}
