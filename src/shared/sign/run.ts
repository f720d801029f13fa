import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Logger} from '../log.js';
import {Mask} from '../registry/credentials.js';
import {COSIGN, COSIGN_VERSION} from '../tools/cosign.js';
import {resolveTool} from '../tools/install.js';
import {TRIVY, TRIVY_VERSION} from '../tools/trivy.js';
import {SignInputs} from './inputs.js';
import {NotationInputs} from '../notation/inputs.js';
import {notationSign, notationVerify} from '../notation/sign.js';
import {NOTATION, NOTATION_VERSION} from '../tools/notation.js';
import {SignResult, signImages} from './sign.js';
import {VerifiedImage, verifyImages} from './verify.js';

export type SignOutcome = {cosignVersion?: string; notationVersion?: string} & (
  {verify: true; verified: VerifiedImage[]} | {verify: false; signed: SignResult}
);

/**
 * Signing or verifying, start to end, for the action and the command line alike: cosign installed or
 * found at the pinned version, a private directory for credentials (handed to saveState so the post
 * step can remove it if the run is cancelled, and removed here in any case), then the run.
 */
export async function runSign(
  inputs: SignInputs,
  ctx: {
    env: NodeJS.ProcessEnv;
    mask: Mask;
    log: Logger;
    getIdToken?: (audience: string) => Promise<string>;
    saveState?: (name: string, value: string) => void;
  }
): Promise<SignOutcome> {
  if (inputs.tool === 'notation') return runNotation(inputs, ctx);
  const tool = await resolveTool(COSIGN, COSIGN_VERSION, {
    version: inputs.cosignVersion,
    path: inputs.cosignPath,
    env: ctx.env,
    log: ctx.log
  });
  const tempDir = fs.mkdtempSync(path.join(ctx.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-sign-'));
  ctx.saveState?.('temp-dir', tempDir);
  const run = {
    cosign: tool.path,
    tempDir,
    env: ctx.env,
    mask: ctx.mask,
    log: ctx.log,
    logins: inputs.logins,
    getIdToken: ctx.getIdToken
  };
  try {
    if (inputs.verify)
      return {cosignVersion: tool.version, verify: true, verified: await verifyImages({...inputs, ...run})};
    // trivy only when an SBOM is asked for: found or installed at the version the scan action pins.
    const trivy = inputs.evidence?.sbom.length
      ? await resolveTool(TRIVY, TRIVY_VERSION, {
          version: inputs.trivyVersion,
          path: inputs.trivyPath,
          env: ctx.env,
          log: ctx.log,
          role: 'SBOMs'
        })
      : undefined;
    return {
      cosignVersion: tool.version,
      verify: false,
      signed: await signImages({...inputs, ...run, trivy: trivy?.path})
    };
  } finally {
    fs.rmSync(tempDir, {recursive: true, force: true});
  }
}

/** The same with Notation: the CLI found or installed at the pinned version, a private home removed after. */
async function runNotation(
  inputs: NotationInputs,
  ctx: {env: NodeJS.ProcessEnv; mask: Mask; log: Logger; saveState?: (name: string, value: string) => void}
): Promise<SignOutcome> {
  const tool = await resolveTool(NOTATION, NOTATION_VERSION, {
    version: inputs.notationVersion,
    path: inputs.notationPath,
    env: ctx.env,
    log: ctx.log
  });
  const tempDir = fs.mkdtempSync(path.join(ctx.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-sign-'));
  ctx.saveState?.('temp-dir', tempDir);
  const run = {notation: tool.path, tempDir, env: ctx.env, mask: ctx.mask, log: ctx.log, logins: inputs.logins};
  try {
    if (inputs.verify)
      return {notationVersion: tool.version, verify: true, verified: await notationVerify({...inputs, ...run})};
    return {notationVersion: tool.version, verify: false, signed: await notationSign({...inputs, ...run})};
  } finally {
    fs.rmSync(tempDir, {recursive: true, force: true});
  }
}
