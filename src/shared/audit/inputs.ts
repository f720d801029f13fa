import path from 'node:path';
import {ActionIO} from '../action/io.js';
import {UserError} from '../errors.js';
import {parseBoolean, parseInteger, parsePatterns} from '../inputs.js';
import {CleanupInputs, readCleanupInputs} from '../cleanup/inputs.js';
import {Policy, readPolicy} from '../policy/policy.js';
import {TagMatcher, tagMatcher} from '../tag/matcher.js';

/** The audit's inputs: the cleanup's (what to list, and the retention policy for what is reclaimable) and its own. */
export interface AuditInputs extends CleanupInputs {
  compliance?: Policy;
  verifyTags?: TagMatcher;
  maxVerifications: number;
  trustedRoot?: string;
  cosignPath?: string;
  notationPath?: string;
  cosignVersion?: string;
  reportFile: string;
  metricsFile: string;
  failOnNoncompliant: boolean;
}

/** Reads every audit input through `io`; errors name the input. */
export function readAuditInputs(io: ActionIO, env: NodeJS.ProcessEnv): AuditInputs {
  const cleanup = readCleanupInputs(io, env, true);
  const compliance = readPolicy(io.input('compliance-policy'), 'compliance-policy', env);
  const failOnNoncompliant = parseBoolean('fail-on-noncompliant', io.input('fail-on-noncompliant'), false);
  if (failOnNoncompliant && !compliance)
    throw new UserError('fail-on-noncompliant: needs compliance-policy (what a served image must carry).');
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const file = (name: string, fallback: string): string => path.resolve(workspace, io.input(name) || fallback);
  return {
    ...cleanup,
    dryRun: true,
    compliance,
    // action.yml's default, for callers that do not apply it: every served image, up to the cap.
    verifyTags: tagMatcher('verify-tags', parsePatterns(io.input('verify-tags') || '*', false), false),
    maxVerifications: parseInteger('max-verifications', io.input('max-verifications'), 20, 0, 10_000),
    trustedRoot: io.input('trusted-root') || undefined,
    cosignPath: io.input('cosign-path') || undefined,
    notationPath: io.input('notation-path') || undefined,
    cosignVersion: io.input('cosign-version') || undefined,
    reportFile: file('report-file', 'registry-audit.json'),
    metricsFile: file('metrics-file', 'registry-audit.prom'),
    failOnNoncompliant
  };
}
