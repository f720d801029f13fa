import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Logger} from '../log.js';
import {Policy} from '../policy/policy.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {COSIGN, COSIGN_VERSION} from '../tools/cosign.js';
import {resolveTool} from '../tools/install.js';
import {CosignRun} from './cosign-run.js';
import {VerifiedImage, requirementsError, signerCheck, verifyImages} from './verify.js';
import {NotationTrust} from '../notation/config.js';
import {notationVerify} from '../notation/sign.js';
import {NOTATION, NOTATION_VERSION} from '../tools/notation.js';

export type Verdict = {ok: true; images: VerifiedImage[]} | {ok: false; reason: string; images: VerifiedImage[]};

export interface CosignGate {
  /**
   * Checks `repository@digest` against a policy (every platform manifest too with recursive): its
   * signer, and the attestations it requires. The reason of a refusal names each failed requirement.
   */
  check(reference: string, policy: Policy, opts: {where: string; recursive: boolean}): Promise<Verdict>;
  /** Removes the private directory cosign's credentials were written to. */
  close(): void;
}

/**
 * The gate of sync and push-multi: cosign (found or installed at the pinned version on first use)
 * verifies an image by digest before anything of it is copied.
 */
export function cosignGate(ctx: {
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  logins: Map<string, RegistryLogin>;
  getIdToken?: (audience: string) => Promise<string>;
  cosignVersion?: string;
  cosignPath?: string;
  trustedRoot?: string;
  ignoreSct?: boolean;
  /** For a policy whose signer is Notation: the CLI (found or installed at the pinned version on first use). */
  notationVersion?: string;
  notationPath?: string;
}): CosignGate {
  let run: Promise<CosignRun> | undefined;
  let tempDir: string | undefined;
  const cosign = (): Promise<CosignRun> =>
    (run ??= (async () => {
      const tool = await resolveTool(COSIGN, COSIGN_VERSION, {
        version: ctx.cosignVersion ?? '',
        path: ctx.cosignPath,
        env: ctx.env,
        log: ctx.log,
        role: 'gate'
      });
      tempDir = fs.mkdtempSync(path.join(ctx.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-gate-'));
      return {
        cosign: tool.path,
        tempDir,
        env: ctx.env,
        mask: ctx.mask,
        log: ctx.log,
        logins: ctx.logins,
        getIdToken: ctx.getIdToken
      };
    })());
  let notationTool: Promise<string> | undefined;
  const notation = (): Promise<string> =>
    (notationTool ??= (async () => {
      const tool = await resolveTool(NOTATION, NOTATION_VERSION, {
        version: ctx.notationVersion ?? '',
        path: ctx.notationPath,
        env: ctx.env,
        log: ctx.log,
        role: 'gate'
      });
      return tool.path;
    })());
  /** A Notation signer's verdict per digest, then cosign's for the policy's attestations (if any). */
  const withNotation = async (
    reference: string,
    policy: Policy,
    trust: NotationTrust,
    recursive: boolean
  ): Promise<VerifiedImage[]> => {
    const dir = fs.mkdtempSync(path.join(ctx.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-gate-notation-'));
    let signed: VerifiedImage[];
    try {
      signed = await notationVerify({
        notation: await notation(),
        tempDir: dir,
        env: ctx.env,
        mask: ctx.mask,
        log: ctx.log,
        logins: ctx.logins,
        images: [reference],
        recursive,
        trust,
        metadata: {}
      });
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
    const attested = policy.attestations.length
      ? await verifyImages({
          ...(await cosign()),
          images: [reference],
          recursive,
          signer: signerCheck(policy.signer, 'policy.signer', ctx.env, ctx.mask),
          policy,
          skipSignature: true,
          trustedRoot: ctx.trustedRoot,
          ignoreSct: ctx.ignoreSct
        })
      : [];
    return signed.map(n => {
      const a = attested.find(x => x.digest === n.digest);
      const requirements = [
        {
          requirement: 'signature',
          ok: n.verified,
          detail: n.verified
            ? `${n.signatures ?? '?'} Notation signature(s), one trusted`
            : `Notation: ${n.error ?? ''}`
        },
        ...(a?.requirements ?? [])
      ];
      const {error: _notationError, ...rest} = n;
      const error = requirementsError(requirements);
      return {...rest, verified: !error, ...(error ? {error} : {}), requirements};
    });
  };
  return {
    async check(reference, policy, {where, recursive}) {
      const images = policy.signer.notation
        ? await withNotation(reference, policy, policy.signer.notation, recursive)
        : await verifyImages({
            ...(await cosign()),
            images: [reference],
            recursive,
            signer: signerCheck(policy.signer, where, ctx.env, ctx.mask),
            policy,
            trustedRoot: ctx.trustedRoot,
            ignoreSct: ctx.ignoreSct
          });
      const failed = images.filter(v => !v.verified);
      if (!failed.length) return {ok: true, images};
      const reason = failed
        .map(v => {
          const what = (v.requirements ?? [])
            .filter(r => !r.ok)
            .map(r => `${r.requirement}: ${r.detail}`)
            .join(', ');
          // Named by platform (or index) and digest: a nested index has several manifests per platform.
          const where = images.length > 1 ? `${v.platform ?? 'index'} (${v.digest.slice(0, 19)}): ` : '';
          return `${where}${what || v.error || 'not verified'}`;
        })
        .join('; ');
      return {ok: false, reason, images};
    },
    close() {
      if (tempDir) fs.rmSync(tempDir, {recursive: true, force: true});
    }
  };
}
