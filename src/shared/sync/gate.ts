import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Logger} from '../log.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {CosignRun} from '../sign/cosign-run.js';
import {signerCheck, verifyImages} from '../sign/verify.js';
import {COSIGN, COSIGN_VERSION} from '../tools/cosign.js';
import {resolveTool} from '../tools/install.js';
import {VerifyRule} from './config.js';

export type Verdict = {ok: true} | {ok: false; reason: string};

export interface SignatureGate {
  /** Verifies `repository@digest` against the rule: cosign verify by digest. */
  check(reference: string, rule: VerifyRule, where: string): Promise<Verdict>;
  /** Removes the private directory cosign's credentials were written to. */
  close(): void;
}

/**
 * The signature gate of sync: cosign (found or installed at the pinned version on first use) verifies
 * each image by digest before anything of it is copied. What a refusal says is cosign's reason.
 */
export function signatureGate(ctx: {
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  logins: Map<string, RegistryLogin>;
  getIdToken?: (audience: string) => Promise<string>;
  cosignPath?: string;
}): SignatureGate {
  let run: Promise<CosignRun> | undefined;
  let tempDir: string | undefined;
  const cosign = (): Promise<CosignRun> =>
    (run ??= (async () => {
      const tool = await resolveTool(COSIGN, COSIGN_VERSION, {
        version: '',
        path: ctx.cosignPath,
        env: ctx.env,
        log: ctx.log
      });
      ctx.log.info(`signature gate: cosign ${tool.version} (${tool.source}: ${tool.path})`);
      tempDir = fs.mkdtempSync(path.join(ctx.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-sync-'));
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
    async check(reference, rule, where) {
      const r = await cosign();
      const [v] = await verifyImages({
        ...r,
        images: [reference],
        recursive: false,
        signer: signerCheck(rule, where, ctx.env, ctx.mask)
      });
      return v?.verified ? {ok: true} : {ok: false, reason: `signature: ${v?.error ?? 'not verified'}`};
    },
    close() {
      if (tempDir) fs.rmSync(tempDir, {recursive: true, force: true});
    }
  };
}
