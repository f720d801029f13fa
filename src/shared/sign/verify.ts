import {UserError} from '../errors.js';
import {exec} from '../exec.js';
import {mapLimit} from '../registry/limit.js';
import {platformTargets} from '../evidence/plan.js';
import {Check, checkAttestation, statementsOf} from '../policy/check.js';
import {AttestationRule, Policy} from '../policy/policy.js';
import {SignerRule} from '../policy/signer.js';
import {Mask} from '../registry/credentials.js';
import {Verifier, cosignEnv, verifyArgs, verifyFailure} from '../tools/cosign.js';
import {CosignRun, clientsFor, cosignDockerConfig} from './cosign-run.js';
import {KeyRef, keyRef} from './keys.js';
import {attestationFailure, whoAttested} from './presence.js';
import {Target, parseImages, planTargets, resolveImages, targetRef} from './targets.js';

/** How cosign checks one signer: the verifier flags, a key's environment, the format and log rules. */
export interface SignerCheck {
  verifier: Verifier;
  key?: KeyRef;
  newBundleFormat: boolean;
  ignoreTlog: boolean;
}

/** A signer rule (sync's verify, a policy's signer) as cosign checks it; a key relative to the workspace. */
export function signerCheck(rule: SignerRule, where: string, env: NodeJS.ProcessEnv, mask: Mask): SignerCheck {
  const key = rule.key ? keyRef(rule.key, `${where}.key`, env, mask, env.GITHUB_WORKSPACE || process.cwd()) : undefined;
  return {
    verifier: key
      ? {mode: 'key', keyRef: key.ref}
      : {
          mode: 'keyless',
          identity: rule.identity,
          identityRegexp: rule.identityRegexp,
          issuer: rule.issuer,
          issuerRegexp: rule.issuerRegexp
        },
    key,
    newBundleFormat: rule.bundleFormat === 'new',
    ignoreTlog: rule.ignoreTlog
  };
}

export interface VerifyOptions extends CosignRun {
  images: string[];
  recursive: boolean;
  /** Who must have signed (the inputs); a policy's signer takes its place. */
  signer: SignerCheck;
  /** A promotion policy: its signer and the attestations every digest (or platform) must carry. */
  policy?: Policy;
  /** Accept certificates without SCTs (a private Fulcio without a CT log): a weakening. */
  ignoreSct?: boolean;
  /** The signature is checked elsewhere (a Notation signer): only the policy's attestations here. */
  skipSignature?: boolean;
  trustedRoot?: string;
}

/** One requirement of one digest: the signature, or an attestation of the policy. */
export interface RequirementResult {
  requirement: string;
  ok: boolean;
  detail: string;
}

export interface VerifiedImage {
  reference: string;
  digest: string;
  tags: string[];
  platform?: string;
  verified: boolean;
  error?: string;
  /** Signatures cosign accepted. */
  signatures?: number;
  /** With a policy: every requirement checked on this digest. */
  requirements?: RequirementResult[];
}

function checkSigner(v: Verifier, what: string): void {
  if (v.mode !== 'keyless') return;
  if (!v.identity && !v.identityRegexp) {
    throw new UserError(
      `${what}: keyless verification needs certificate-identity or certificate-identity-regexp (who signed), and certificate-oidc-issuer (for GitHub Actions: https://token.actions.githubusercontent.com); or give key.`
    );
  }
  if (!v.issuer && !v.issuerRegexp) {
    throw new UserError(
      `${what}: keyless verification needs certificate-oidc-issuer (for GitHub Actions: https://token.actions.githubusercontent.com).`
    );
  }
}

/** The payload types of a signature: cosign's simple signing (legacy) and its signing predicate (bundles). */
const SIGNATURE_TYPES = new Set(['cosign container image signature', 'https://sigstore.dev/cosign/sign/v1']);

/**
 * What `cosign verify` accepted for a digest, from its output (one payload per verified bundle or
 * signature): signatures (a signing payload for this digest) and attestations (any other type, which
 * cosign also accepts there), or undefined when the output cannot be read. Pure.
 */
export function verifiedPayloads(
  stdout: string,
  digest: string
): {signatures: number; attestations: string[]} | undefined {
  let items: Array<{critical?: {type?: string; image?: {'docker-manifest-digest'?: string}}}>;
  try {
    items = JSON.parse(stdout) as typeof items;
  } catch {
    return undefined;
  }
  if (!Array.isArray(items)) return undefined;
  const forDigest = items.filter(i => i.critical?.image?.['docker-manifest-digest'] === digest);
  const signatures = forDigest.filter(i => SIGNATURE_TYPES.has(i.critical?.type ?? '')).length;
  const attestations = [...new Set(forDigest.map(i => i.critical?.type ?? '').filter(x => !SIGNATURE_TYPES.has(x)))];
  return {signatures, attestations};
}

/** What failed among a digest's requirements, as one line (the signature's reason alone, the others named); undefined when all passed. Pure. */
export function requirementsError(requirements: RequirementResult[]): string | undefined {
  const failed = requirements.filter(r => !r.ok);
  if (!failed.length) return undefined;
  return failed.map(f => (f.requirement === 'signature' ? f.detail : `${f.requirement}: ${f.detail}`)).join('; ');
}

/** The attestation rules that apply to a target: every-digest ones always, platform ones on platform manifests. Pure. */
export function rulesFor(policy: Policy | undefined, t: Target, platforms: Set<Target>): AttestationRule[] {
  return (policy?.attestations ?? []).filter(r => r.on === 'every-digest' || platforms.has(t));
}

/**
 * Verifies every image by digest (tags resolved first, so the answer is about the image the tag
 * names now), each platform manifest too with recursive: its signature, and with a policy each
 * attestation the policy requires there, with its conditions. Reports every failed requirement.
 */
export async function verifyImages(opts: VerifyOptions): Promise<VerifiedImage[]> {
  const clients = clientsFor(opts);
  const images = parseImages(opts.images);
  if (images.length === 0) throw new UserError('images: give at least one image to verify.');
  const signer = opts.policy ? signerCheck(opts.policy.signer, 'policy.signer', opts.env, opts.mask) : opts.signer;
  if (!opts.skipSignature) checkSigner(signer.verifier, 'verify');
  const attestationSigners = new Map(
    (opts.policy?.attestations ?? []).map(r => [
      r,
      signerCheck(r.signer, `policy.attestations.${r.name}.signer`, opts.env, opts.mask)
    ])
  );
  for (const [r, s] of attestationSigners) checkSigner(s.verifier, `policy.attestations.${r.name}`);
  const targets = planTargets(await resolveImages(images, clients), opts.recursive);
  const platforms = new Set(platformTargets(targets));
  const dockerConfig = await cosignDockerConfig(clients, targets, opts.tempDir);
  const now = new Date();
  const run = (t: Target, s: SignerCheck, attestationType?: string): ReturnType<typeof exec> =>
    exec({
      command: opts.cosign,
      args: verifyArgs({
        verifier: s.verifier,
        reference: targetRef(t),
        newBundleFormat: s.newBundleFormat,
        ignoreTlog: s.ignoreTlog,
        ignoreSct: opts.ignoreSct,
        trustedRoot: opts.trustedRoot,
        allowHttp: clients.insecure(t.registry),
        attestationType
      }),
      env: cosignEnv(opts.env, {dockerConfig, extra: {...s.key?.env}})
    });
  return mapLimit(targets, 4, async t => {
    const base = {
      reference: targetRef(t),
      digest: t.digest,
      tags: t.tags,
      ...(t.platform ? {platform: t.platform} : {})
    };
    const sig = opts.skipSignature ? undefined : await run(t, signer);
    // cosign verify also accepts an attestation bundle by the signer: only signing payloads count.
    const verified = sig?.code === 0 ? verifiedPayloads(sig.stdout, t.digest) : undefined;
    const signatures = verified?.signatures;
    const requirements: RequirementResult[] = !sig
      ? []
      : [
          sig.code !== 0
            ? {requirement: 'signature', ok: false, detail: verifyFailure(sig.code, sig.stderr)}
            : verified && verified.signatures === 0
              ? {
                  requirement: 'signature',
                  ok: false,
                  detail: `attested by the required signer (${verified.attestations.join(', ') || 'an attestation'}) but not signed`
                }
              : {requirement: 'signature', ok: true, detail: `${signatures ?? '?'} signature(s)`}
        ];
    for (const rule of rulesFor(opts.policy, t, platforms)) {
      const res = await run(t, attestationSigners.get(rule) as SignerCheck, rule.type);
      // A failure says whether the attestation is missing or signed by someone else (read, not verified).
      const check: Check =
        res.code === 0
          ? checkAttestation(rule, statementsOf(res.stdout), t.digest, now)
          : {
              ok: false,
              reason: attestationFailure(
                rule.name,
                rule.signer,
                await whoAttested(clients.get(t.registry), t.repository, t.digest, rule.type),
                verifyFailure(res.code, res.stderr).replace(/signature/g, 'attestation')
              )
            };
      requirements.push(
        check.ok
          ? {requirement: rule.name, ok: true, detail: check.detail}
          : {requirement: rule.name, ok: false, detail: check.reason}
      );
    }
    const error = requirementsError(requirements);
    return {
      ...base,
      verified: !error,
      ...(error ? {error} : {}),
      signatures,
      ...(opts.policy ? {requirements} : {})
    };
  });
}
