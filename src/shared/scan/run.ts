import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {toolEnv} from '../exec.js';
import {Logger} from '../log.js';
import {Mask} from '../registry/credentials.js';
import {TRIVY, TRIVY_VERSION} from '../tools/trivy.js';
import {resolveTool} from '../tools/install.js';
import {DbState, ensureDb} from './db.js';
import {worstFirst} from './gate.js';
import {ScanInputs} from './inputs.js';
import {SEVERITIES, Severity} from './report.js';
import {TargetResult, scanTargets} from './scan.js';
import {toSarif} from './sarif.js';

export const targetLabel = (t: TargetResult): string => `${t.name}${t.platform ? ` (${t.platform})` : ''}`;

export interface ScanOutcome {
  passed: boolean;
  results: TargetResult[];
  counts: Record<Severity, number>;
  secrets: number;
  misconfigurations: number;
  expired: TargetResult['gate']['expired'];
  db: DbState;
  /** The combined JSON report and the SARIF files, in the report directory. */
  report: string;
  sarif: string[];
  /** When the gate failed: what failed it, in one message. */
  failure?: string;
}

export interface ScanContext {
  env: NodeJS.ProcessEnv;
  log: Logger;
  mask: Mask;
  getIdToken?: (audience: string) => Promise<string>;
}

/**
 * The scan, start to end, for the action and the command line alike: trivy installed or found, the
 * DB made ready, every target scanned once to JSON and gated, the combined report and SARIF written.
 */
export async function runScan(inputs: ScanInputs, ctx: ScanContext): Promise<ScanOutcome> {
  const tool = await resolveTool(TRIVY, TRIVY_VERSION, {
    version: inputs.trivyVersion,
    path: inputs.trivyPath,
    env: ctx.env,
    log: ctx.log
  });
  const base = ctx.env.RUNNER_TEMP || os.tmpdir();
  const cacheDir =
    inputs.cacheDir ??
    path.join(ctx.env.RUNNER_TOOL_CACHE || path.join(os.homedir(), '.cache'), 'registry-actions-trivy');
  const reportDir = inputs.reportDir ?? fs.mkdtempSync(path.join(base, 'registry-actions-scan-'));
  fs.mkdirSync(reportDir, {recursive: true});
  const workDir = fs.mkdtempSync(path.join(base, 'registry-actions-scan-work-'));
  // The real clock: SOURCE_DATE_EPOCH pins build metadata, never ignore expiry or DB freshness.
  const now = Date.now();
  // trivy downloads the DB in a clean environment that keeps proxies and TLS roots.
  const dbEnv = toolEnv(ctx.env);
  try {
    const dbFor = (java: boolean): Promise<DbState> =>
      ensureDb({
        trivy: tool.path,
        cacheDir,
        repositories: java ? inputs.javaDbRepositories : inputs.dbRepositories,
        java,
        now,
        env: dbEnv,
        log: ctx.log,
        actionsCache: inputs.cache,
        workDir
      });
    const db = await dbFor(false);
    ctx.log.info(
      `vulnerability DB: ${db.source}${db.repository ? ` from ${db.repository}` : ''}, updated ${db.metadata.UpdatedAt ?? '?'}`
    );
    if (inputs.javaDb) await dbFor(true);
    const results = await scanTargets({
      targets: inputs.targets,
      platforms: inputs.platforms,
      trivy: tool.path,
      cacheDir,
      workDir,
      reportDir,
      scanners: inputs.scanners,
      timeout: inputs.timeout,
      gate: {
        threshold: inputs.threshold,
        ignoreUnfixed: inputs.ignoreUnfixed,
        failOn: inputs.failOn,
        ignores: inputs.ignores,
        now
      },
      logins: inputs.logins,
      env: ctx.env,
      mask: ctx.mask,
      log: ctx.log,
      getIdToken: ctx.getIdToken,
      // One trivy at a time: runs sharing a cache directory contend for its lock.
      concurrency: 1,
      tlsInsecure: inputs.tlsInsecure
    });
    const counts = Object.fromEntries(
      SEVERITIES.map(s => [s, results.reduce((n, r) => n + r.gate.counts[s], 0)])
    ) as Record<Severity, number>;
    const secrets = results.reduce((n, r) => n + r.gate.secrets, 0);
    const misconfigurations = results.reduce((n, r) => n + r.gate.misconfigurations, 0);
    const passed = results.every(r => r.gate.passed);
    const expired = results[0]?.gate.expired ?? [];
    for (const e of expired) {
      ctx.log.warning(
        `${e.source}: the ignore entry for ${e.id} expired on ${new Date(e.expires as number).toISOString().slice(0, 10)}; it no longer ignores anything${e.reason ? ` (reason was: ${e.reason})` : ''}.`
      );
    }
    for (const r of results) {
      ctx.log.info(
        `${targetLabel(r)}: ${[...SEVERITIES]
          .reverse()
          .map(s => `${r.gate.counts[s]} ${s.toLowerCase()}`)
          .join(
            ', '
          )}; ${r.gate.secrets} secret(s), ${r.gate.misconfigurations} misconfiguration(s); ${r.gate.ignored.length} ignored${r.gate.unfixedSkipped ? `, ${r.gate.unfixedSkipped} without a fix left out` : ''}`
      );
    }
    const finished = new Date().toISOString();
    const combined = path.join(reportDir, 'scan-results.json');
    fs.writeFileSync(
      combined,
      `${JSON.stringify(
        {
          passed,
          // What the sign action's vuln attestations record of the scanner and when it ran.
          scanner: {
            name: 'trivy',
            version: tool.version,
            db: {repository: db.repository, updatedAt: db.metadata.UpdatedAt}
          },
          scannedAt: {started: new Date(now).toISOString(), finished},
          threshold: inputs.threshold,
          failOn: inputs.failOn,
          counts,
          expiredIgnores: expired,
          targets: results.map(r => ({
            input: r.input,
            target: r.name,
            platform: r.platform,
            digest: r.digest,
            trivyReport: r.report,
            passed: r.gate.passed,
            counts: r.gate.counts,
            findings: r.gate.reported,
            ignored: r.gate.ignored.map(i => ({
              id: i.finding.id,
              pkg: i.finding.pkg,
              by: i.rule.source,
              reason: i.rule.reason
            }))
          }))
        },
        null,
        2
      )}\n`
    );
    const sarif = toSarif(
      results.map(r => ({
        name: targetLabel(r),
        category: `registry-actions-scan/${r.platform ?? 'image'}/${r.input}`,
        findings: worstFirst(r.gate.atThreshold)
      })),
      tool.version
    );
    if (sarif.truncated)
      ctx.log.warning(
        `SARIF: ${sarif.truncated} result(s) beyond GitHub's 25,000 a run were left out (the JSON report has them all).`
      );
    const sarifFiles = sarif.files.map((f, i) => {
      const file = path.join(reportDir, sarif.files.length === 1 ? 'scan.sarif' : `scan-${i + 1}.sarif`);
      fs.writeFileSync(file, `${JSON.stringify(f, null, 2)}\n`);
      return file;
    });
    let failure: string | undefined;
    if (!passed) {
      const failing = results.flatMap(r =>
        worstFirst(r.gate.failing).map(
          f =>
            `${targetLabel(r)}: ${f.id} ${f.severity} ${f.pkg ?? f.location}${f.installed ? ` ${f.installed}` : ''}${f.fixed ? ` (fixed in ${f.fixed})` : ''}`
        )
      );
      failure = `the scan found ${failing.length} finding(s) at or above ${inputs.threshold} (fail-on: ${inputs.failOn.join(', ')}): ${failing.slice(0, 20).join('; ')}${failing.length > 20 ? `; and ${failing.length - 20} more (see ${combined})` : ''}`;
    }
    return {
      passed,
      results,
      counts,
      secrets,
      misconfigurations,
      expired,
      db,
      report: combined,
      sarif: sarifFiles,
      failure
    };
  } finally {
    fs.rmSync(workDir, {recursive: true, force: true});
  }
}
