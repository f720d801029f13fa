import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Logger} from '../log.js';
import {Policy} from '../policy/policy.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {COSIGN, COSIGN_VERSION} from '../tools/cosign.js';
import {resolveTool} from '../tools/install.js';
import {CosignRun} from './cosign-run.js';
import {VerifiedImage, signerCheck, verifyImages} from './verify.js';

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
}): CosignGate {
  let run: Promise<CosignRun> | undefined;
  let tempDir: string | undefined;
  const cosign = (): Promise<CosignRun> =>
    (run ??= (async () => {
      const tool = await resolveTool(COSIGN, COSIGN_VERSION, {
        version: ctx.cosignVersion ?? '',
        path: ctx.cosignPath,
        env: ctx.env,
        log: ctx.log
      });
      ctx.log.info(`gate: cosign ${tool.version} (${tool.source}: ${tool.path})`);
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
  return {
    async check(reference, policy, {where, recursive}) {
      const images = await verifyImages({
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
