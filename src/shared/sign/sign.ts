import fs from 'node:fs';
import path from 'node:path';
import {UserError, errorMessage} from '../errors.js';
import {describe, exec} from '../exec.js';
import {mapLimit} from '../registry/limit.js';
import {SigstoreOptions, Signer, attestArgs, cosignEnv, signArgs} from '../tools/cosign.js';
import {EvidenceOptions, planEvidence} from '../evidence/plan.js';
import {Predicate, attestationsByDigest, readScanReport, writePredicates} from '../evidence/write.js';
import {
  NO_TRUSTED_TIME,
  PUBLIC_FULCIO,
  fulcioUrl,
  hasTlog,
  parseSigningConfig,
  withoutTlog,
  withoutTrustedTime
} from '../sigstore/signing-config.js';
import {CertificateSession} from '../sigstore/certificate.js';
import {KeyRef} from './keys.js';
import {StoreOptions, githubAttestationStore} from './github-store.js';
import {CosignRun, allowHttp, clientsFor, cosignDockerConfig, cosignError} from './cosign-run.js';
import {Signatures, newSignatureRefs, readSignatures, signatureCount} from './signatures.js';
import {Target, parseImages, planTargets, resolveImages, targetRef} from './targets.js';

export type SignMode = 'keyless' | 'key' | 'kms';

export interface SignOptions extends CosignRun {
  images: string[];
  recursive: boolean;
  mode: SignMode;
  /** For key and kms modes. */
  key?: KeyRef;
  password?: string;
  sigstore: SigstoreOptions;
  annotations: Record<string, string>;
  attest?: {predicate: string; predicateType: string};
  /** SBOMs, provenance and scan results to attest on the digests they describe. */
  evidence?: EvidenceOptions;
  /** trivy, for SBOMs. */
  trivy?: string;
  dryRun: boolean;
  /** GitHub's attestation store (github-attestations): where each digest's bundles are recorded, once. */
  githubStore?: Omit<StoreOptions, 'log'>;
}

export interface SignedImage {
  /** repo@digest */
  reference: string;
  digest: string;
  tags: string[];
  platform?: string;
  /** Index this platform manifest belongs to. */
  parent?: string;
  signaturesBefore: number;
  signaturesAfter: number;
  /** Signature references written by this run. */
  signatures: string[];
  attested?: boolean;
}

/** One attestation written: on which digest, of which cosign type. */
export interface AttestationRecord {
  reference: string;
  platform?: string;
  type: string;
  /** Its id in GitHub's attestation store, for the one bundle per digest and type recorded there. */
  githubId?: number;
}

export interface SignResult {
  images: SignedImage[];
  command: string;
  attestations: AttestationRecord[];
}

export const PERMISSIONS_HINT = `Keyless signing needs the workflow's OIDC token. Add to the job (or workflow):
  permissions:
    id-token: write
    contents: read
    packages: write   # when the images are in GHCR
Pull requests from forks never get an OIDC token: sign on push or release instead, or use mode: key.
Other CI systems: put an ID token with audience sigstore in SIGSTORE_ID_TOKEN (GitLab: id_tokens).`;

/** Fails at once, before any network call, when keyless signing cannot get a token (never a device flow). */
export function keylessPrecheck(env: NodeJS.ProcessEnv): void {
  if (env.SIGSTORE_ID_TOKEN) return;
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    throw new UserError(
      `mode: keyless, but this job has no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). ${PERMISSIONS_HINT}`
    );
  }
}

/**
 * Sigstore settings as cosign is to get them: a given signing config read and checked here (cosign's
 * own message for a bad one names no input), written again without Rekor when tlog-upload is false;
 * and the Fulcio keyless signing asks for its certificate.
 */
export function prepareSigstore(
  o: SigstoreOptions,
  dir: string
): {sigstore: SigstoreOptions; fulcio: string; untimed: boolean} {
  if (!o.signingConfig) return {sigstore: o, fulcio: PUBLIC_FULCIO, untimed: withoutTrustedTime(o.tlogUpload)};
  if (!o.newBundleFormat) {
    throw new UserError(
      'signing-config: cosign signs with a signing config only in the bundle format; set bundle-format: new or remove signing-config.'
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(o.signingConfig, 'utf8');
  } catch {
    throw new UserError(`signing-config: ${o.signingConfig} cannot be read. Give the path of a signing config file.`);
  }
  const config = parseSigningConfig(text, 'signing-config');
  const fulcio = fulcioUrl(config, 'signing-config');
  const untimed = withoutTrustedTime(o.tlogUpload, config);
  if (o.tlogUpload || !hasTlog(config)) return {sigstore: o, fulcio, untimed};
  const file = path.join(dir, 'signing-config-without-tlog.json');
  fs.writeFileSync(file, JSON.stringify(withoutTlog(config)));
  return {sigstore: {...o, signingConfig: file}, fulcio, untimed};
}

/** What each cosign run signs with, and the password that unlocks it. */
export type Signing = () => Promise<{signer: Signer; password?: string}>;

/**
 * The signer of a run. Keyless: one Fulcio certificate for the whole run (cosign alone asks for one
 * per digest), renewed with a fresh token only when it nears its ten minutes.
 */
function signing(opts: SignOptions, fulcio: string, dockerConfig: string): Signing {
  if (opts.mode === 'keyless') {
    keylessPrecheck(opts.env);
    const getIdToken = opts.getIdToken;
    const token = async (): Promise<string> => {
      if (opts.env.SIGSTORE_ID_TOKEN) return opts.env.SIGSTORE_ID_TOKEN;
      if (!getIdToken) throw new UserError('mode: keyless needs an OIDC token; use mode: key elsewhere.');
      try {
        return await getIdToken('sigstore');
      } catch (err) {
        throw new UserError(`mode: keyless: the OIDC token request failed (${errorMessage(err)}). ${PERMISSIONS_HINT}`);
      }
    };
    const session = new CertificateSession({
      cosign: opts.cosign,
      dir: opts.tempDir,
      fulcio,
      token,
      env: cosignEnv(opts.env, {dockerConfig}),
      mask: opts.mask,
      log: opts.log
    });
    return async () => {
      const c = await session.certified();
      return {signer: {mode: 'certificate', keyRef: c.keyRef, certificate: c.certificate}, password: c.password};
    };
  }
  if (!opts.key)
    throw new UserError(`mode: ${opts.mode} needs the key input (a PEM secret, a file, env://VAR or a KMS URI).`);
  const signer: Signer = {mode: opts.mode, keyRef: opts.key.ref};
  return () => Promise.resolve({signer, password: opts.password});
}

/**
 * Signs every image by digest, each repo@digest exactly once (with recursive, every platform manifest
 * of an index too), in one cosign run. Everything that can be checked is checked before the first
 * signature: every image resolves, the key decrypts, the OIDC token is there.
 */
export async function signImages(opts: SignOptions): Promise<SignResult> {
  const clients = clientsFor(opts);
  const images = parseImages(opts.images);
  if (images.length === 0)
    throw new UserError('images: give at least one image (a reference, or the push-multi refs output).');
  const {sigstore, fulcio, untimed} = prepareSigstore(opts.sigstore, opts.tempDir);
  if (untimed && opts.mode === 'keyless') opts.log.warning(NO_TRUSTED_TIME);
  const targets = planTargets(await resolveImages(images, clients), opts.recursive);
  const dockerConfig = await cosignDockerConfig(clients, targets, opts.tempDir);
  const scan = opts.evidence?.vulnReport ? readScanReport(opts.evidence.vulnReport) : undefined;
  const evidence = opts.evidence ? planEvidence(targets, opts.evidence, scan) : [];
  const next = signing(opts, fulcio, dockerConfig);
  const envFor = (password?: string): NodeJS.ProcessEnv =>
    cosignEnv(opts.env, {dockerConfig, password, extra: opts.key?.env});
  const http = allowHttp(clients, targets);
  const refs = targets.map(targetRef);
  const argsFor = (signer: Signer): string[] =>
    signArgs({...sigstore, signer, references: refs, annotations: opts.annotations, allowHttp: http});
  const described: Signer =
    opts.mode === 'keyless'
      ? {mode: 'certificate', keyRef: '<key of this run>', certificate: '<its Fulcio certificate>'}
      : {mode: opts.mode, keyRef: opts.key?.ref ?? '<key>'};
  const command = describe({command: 'cosign', args: argsFor(described)});

  const before = await mapLimit(targets, 8, t => readSignatures(clients.get(t.registry), t.repository, t.digest));
  if (opts.dryRun) {
    opts.log.info(`dry run: would run ${command}`);
    for (const e of evidence)
      opts.log.info(`dry run: would attest ${e.label} on ${e.targets.map(targetRef).join(', ')}`);
    return {images: targets.map((t, i) => result(t, before[i], before[i], [])), command, attestations: []};
  }
  if (opts.mode !== 'keyless') {
    // Decrypts the key (or reaches the KMS) before anything is signed: a wrong password fails here.
    const {signer, password} = await next();
    const check = await exec({
      command: opts.cosign,
      args: ['public-key', '--key', signer.keyRef],
      env: envFor(password)
    });
    if (check.code !== 0) throw cosignError('key', check.stderr, check.code);
  }
  // Every predicate is made before the first signature: an SBOM trivy cannot make signs nothing.
  const predicates = opts.evidence
    ? await writePredicates(
        evidence,
        {
          evidence: opts.evidence,
          tempDir: opts.tempDir,
          env: opts.env,
          log: opts.log,
          clients,
          dockerConfig,
          trivy: opts.trivy
        },
        scan
      )
    : [];
  const {signer, password} = await next();
  opts.log.info(`signing ${refs.length} manifest(s): ${command}`);
  const res = await exec({
    command: opts.cosign,
    args: argsFor(signer),
    env: envFor(password),
    onOutput: chunk => opts.log.debug(chunk.trimEnd())
  });
  if (res.code !== 0) throw cosignError(`signing ${refs.join(', ')}`, res.stderr, res.code);

  const custom: Predicate[] = opts.attest
    ? [
        {
          label: `${opts.attest.predicateType} (attest input)`,
          type: opts.attest.predicateType,
          file: opts.attest.predicate,
          targets: targets.filter(t => !t.parent)
        }
      ]
    : [];
  // One digest's attestations one after another: without a referrers API each one rewrites the
  // digest's sha256-<hex> index, and two writers at once lose one of them. Digests in parallel.
  // GitHub's store takes each digest's attestation once, from whichever registry's copy comes first.
  const store = opts.githubStore ? githubAttestationStore({...opts.githubStore, log: opts.log}) : undefined;
  const stored = new Set<string>();
  const attestations = await mapLimit(attestationsByDigest([...predicates, ...custom]), 4, async ([t, list]) => {
    const out: AttestationRecord[] = [];
    for (const p of list) {
      const current = await next();
      const key = `${t.digest} ${p.type}`;
      const bundle =
        store && !stored.has(key) ? path.join(opts.tempDir, `bundle-${stored.add(key).size}.json`) : undefined;
      const a = await exec({
        command: opts.cosign,
        args: attestArgs({
          ...sigstore,
          signer: current.signer,
          references: [targetRef(t)],
          predicate: p.file,
          predicateType: p.type,
          allowHttp: http,
          bundle
        }),
        env: envFor(current.password)
      });
      if (a.code !== 0) throw cosignError(`attesting ${p.label} on ${targetRef(t)}`, a.stderr, a.code);
      const githubId = bundle
        ? await store?.post(JSON.parse(fs.readFileSync(bundle, 'utf8')) as unknown, `${p.label} of ${t.digest}`)
        : undefined;
      out.push({
        reference: targetRef(t),
        ...(t.platform ? {platform: t.platform} : {}),
        type: p.type,
        ...(githubId !== undefined ? {githubId} : {})
      });
    }
    return out;
  });
  const attested = new Set(custom.flatMap(p => p.targets.map(targetRef)));
  const after = await mapLimit(targets, 8, t => readSignatures(clients.get(t.registry), t.repository, t.digest));
  return {
    images: targets.map((t, i) => ({
      ...result(t, before[i], after[i], newSignatureRefs(`${t.registry}/${t.repository}`, before[i], after[i])),
      ...(attested.has(targetRef(t)) ? {attested: true} : {})
    })),
    command,
    attestations: attestations.flat()
  };
}

function result(t: Target, before: Signatures, after: Signatures, signatures: string[]): SignedImage {
  return {
    reference: targetRef(t),
    digest: t.digest,
    tags: t.tags,
    ...(t.platform ? {platform: t.platform, parent: t.parent} : {}),
    signaturesBefore: signatureCount(before),
    signaturesAfter: signatureCount(after),
    signatures
  };
}
