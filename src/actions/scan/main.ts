import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {ActionIO, githubIO} from '../../shared/action/io.js';
import {getItems, getMultiline} from '../../shared/action/run.js';
import {UserError} from '../../shared/errors.js';
import {parseBoolean, parseInteger} from '../../shared/inputs.js';
import {readLogins} from '../../shared/registry/logins.js';
import {ensureDb} from '../../shared/scan/db.js';
import {gatesThatCannotFire, worstFirst} from '../../shared/scan/gate.js';
import {IgnoreRule, parseIgnoreYaml, parseTrivyIgnore} from '../../shared/scan/ignore.js';
import {FindingKind, SEVERITIES, Severity} from '../../shared/scan/report.js';
import {TargetResult, scanTargets} from '../../shared/scan/scan.js';
import {toSarif} from '../../shared/scan/sarif.js';
import {toolEnv} from '../../shared/exec.js';
import {TRIVY, TRIVY_VERSION} from '../../shared/tools/trivy.js';
import {resolveTool} from '../../shared/tools/install.js';

const KINDS: Record<string, FindingKind> = {
  vulnerabilities: 'vulnerability',
  vuln: 'vulnerability',
  secrets: 'secret',
  secret: 'secret',
  misconfigurations: 'misconfiguration',
  misconfig: 'misconfiguration'
};

function readIgnores(io: ActionIO): IgnoreRule[] {
  const given = getItems(io, 'ignore-files');
  const files = given.length
    ? given
    : ['.trivyignore', '.trivyignore.yaml', '.trivyignore.yml'].filter(f => fs.existsSync(f));
  const rules: IgnoreRule[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (err) {
      throw new UserError(
        `ignore-files: ${f} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix the path or remove it.`
      );
    }
    rules.push(...(/\.ya?ml$/i.test(f) ? parseIgnoreYaml(text, f) : parseTrivyIgnore(text, f)));
  }
  return rules;
}

const label = (t: TargetResult): string => `${t.name}${t.platform ? ` (${t.platform})` : ''}`;

async function summary(
  io: ActionIO,
  results: TargetResult[],
  threshold: Severity,
  top: number,
  passed: boolean
): Promise<void> {
  const summary = io.summary;
  if (!summary) return;
  const s = summary.addHeading(`scan: ${passed ? 'passed' : 'failed'} (threshold ${threshold})`, 3);
  const head = ['target', 'platform', ...[...SEVERITIES].reverse(), 'secrets', 'misconfig', 'ignored', 'gate'].map(
    h => ({data: h, header: true})
  );
  s.addTable([
    head,
    ...results.map(r => [
      r.name,
      r.platform ?? '',
      ...[...SEVERITIES].reverse().map(sev => String(r.gate.counts[sev])),
      String(r.gate.secrets),
      String(r.gate.misconfigurations),
      String(r.gate.ignored.length),
      r.gate.passed ? 'pass' : `fail (${r.gate.failing.length})`
    ])
  ]);
  for (const r of results) {
    const worst = worstFirst(r.gate.reported).slice(0, top);
    if (!worst.length) continue;
    s.addHeading(label(r), 4);
    s.addTable([
      ['id', 'severity', 'package', 'installed', 'fixed', 'title'].map(h => ({data: h, header: true})),
      ...worst.map(f => [
        f.id,
        f.severity,
        f.pkg ?? f.location,
        f.installed ?? '',
        f.fixed ?? (f.kind === 'vulnerability' ? 'no fix yet' : ''),
        f.title
      ])
    ]);
  }
  await s.write();
}

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const threshold = io.input('severity-threshold').trim().toUpperCase() || 'HIGH';
  if (!(SEVERITIES as readonly string[]).includes(threshold)) {
    throw new UserError(
      `severity-threshold: "${io.input('severity-threshold')}" is not one of ${SEVERITIES.join(', ')}.`
    );
  }
  const failOnInput = getItems(io, 'fail-on');
  const failOn: FindingKind[] = [];
  for (const k of failOnInput.length ? failOnInput : ['vulnerabilities', 'secrets']) {
    if (k === 'none') continue;
    const kind = KINDS[k];
    if (!kind) throw new UserError(`fail-on: "${k}" is not one of vulnerabilities, secrets, misconfigurations, none.`);
    failOn.push(kind);
  }
  const scanners = getItems(io, 'scanners').length ? getItems(io, 'scanners') : ['vuln', 'secret'];
  for (const s of scanners) {
    if (!['vuln', 'secret', 'misconfig', 'license'].includes(s))
      throw new UserError(`scanners: "${s}" is not one of vuln, secret, misconfig.`);
  }
  // A fail-on the user chose that can never fire is a configuration error; the default
  // (vulnerabilities,secrets) follows the scanners.
  const silent = gatesThatCannotFire(failOn, scanners);
  const byDefault = failOnInput.length === 0 || failOnInput.join(',') === 'vulnerabilities,secrets';
  if (silent.length && !byDefault) throw new UserError(`fail-on: ${silent.join('; ')}.`);
  if (byDefault) {
    const unscanned = silent.map(m => m.split(' ')[0]);
    failOn.splice(0, failOn.length, ...failOn.filter(k => !unscanned.includes(k)));
  }
  const ignores = readIgnores(io);
  const logins = readLogins(getMultiline(io, 'logins'), 'logins', process.env, s => io.mask(s));
  const targets = getItems(io, 'targets');
  if (targets.length === 0) throw new UserError('targets: give at least one image or oci:<layout> to scan.');
  const summaryFindings = parseInteger('summary-findings', io.input('summary-findings'), 10, 0, 1000);

  const tool = await resolveTool(TRIVY, TRIVY_VERSION, {
    version: io.input('trivy-version'),
    path: io.input('trivy-path') || undefined,
    env: process.env,
    log: io.log
  });
  io.log.info(`trivy ${tool.version} (${tool.source}: ${tool.path})`);
  const base = process.env.RUNNER_TEMP || os.tmpdir();
  const cacheDir =
    io.input('cache-dir') ||
    path.join(process.env.RUNNER_TOOL_CACHE || path.join(os.homedir(), '.cache'), 'registry-actions-trivy');
  const reportDir = io.input('report-dir') || fs.mkdtempSync(path.join(base, 'registry-actions-scan-'));
  fs.mkdirSync(reportDir, {recursive: true});
  const workDir = fs.mkdtempSync(path.join(base, 'registry-actions-scan-work-'));
  // The real clock: SOURCE_DATE_EPOCH pins build metadata, never ignore expiry or DB freshness.
  const t = Date.now();
  const actionsCache = parseBoolean('cache', io.input('cache'), true);
  // trivy downloads the DB in a clean environment that keeps proxies and TLS roots.
  const dbEnv = toolEnv(process.env);
  try {
    const db = await ensureDb({
      trivy: tool.path,
      cacheDir,
      repositories: getItems(io, 'db-repository'),
      java: false,
      now: t,
      env: dbEnv,
      log: io.log,
      actionsCache,
      workDir
    });
    io.log.info(
      `vulnerability DB: ${db.source}${db.repository ? ` from ${db.repository}` : ''}, updated ${db.metadata.UpdatedAt ?? '?'}`
    );
    io.output('db', db.source);
    if (parseBoolean('java-db', io.input('java-db'), false)) {
      await ensureDb({
        trivy: tool.path,
        cacheDir,
        repositories: getItems(io, 'java-db-repository'),
        java: true,
        now: t,
        env: dbEnv,
        log: io.log,
        actionsCache,
        workDir
      });
    }
    const results = await scanTargets({
      targets,
      platforms: getItems(io, 'platforms'),
      trivy: tool.path,
      cacheDir,
      workDir,
      reportDir,
      scanners,
      timeout: io.input('timeout') || '10m',
      gate: {
        threshold: threshold as Severity,
        ignoreUnfixed: parseBoolean('ignore-unfixed', io.input('ignore-unfixed'), false),
        failOn,
        ignores,
        now: t
      },
      logins,
      env: process.env,
      mask: s => io.mask(s),
      log: io.log,
      getIdToken: audience => io.getIdToken(audience),
      // One trivy at a time: runs sharing a cache directory contend for its lock.
      concurrency: 1,
      tlsInsecure: parseBoolean('tls-insecure', io.input('tls-insecure'), false)
    });

    const counts = Object.fromEntries(
      SEVERITIES.map(s => [s, results.reduce((n, r) => n + r.gate.counts[s], 0)])
    ) as Record<Severity, number>;
    const secrets = results.reduce((n, r) => n + r.gate.secrets, 0);
    const misconfigurations = results.reduce((n, r) => n + r.gate.misconfigurations, 0);
    const passed = results.every(r => r.gate.passed);
    const expired = results[0]?.gate.expired ?? [];
    for (const e of expired) {
      io.log.warning(
        `${e.source}: the ignore entry for ${e.id} expired on ${new Date(e.expires as number).toISOString().slice(0, 10)}; it no longer ignores anything${e.reason ? ` (reason was: ${e.reason})` : ''}.`
      );
    }
    for (const r of results) {
      io.log.info(
        `${label(r)}: ${[...SEVERITIES]
          .reverse()
          .map(s => `${r.gate.counts[s]} ${s.toLowerCase()}`)
          .join(
            ', '
          )}; ${r.gate.secrets} secret(s), ${r.gate.misconfigurations} misconfiguration(s); ${r.gate.ignored.length} ignored${r.gate.unfixedSkipped ? `, ${r.gate.unfixedSkipped} without a fix left out` : ''}`
      );
    }
    const combined = path.join(reportDir, 'scan-results.json');
    fs.writeFileSync(
      combined,
      `${JSON.stringify(
        {
          passed,
          threshold,
          failOn,
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
        name: label(r),
        category: `registry-actions-scan/${r.platform ?? 'image'}/${r.input}`,
        findings: worstFirst(r.gate.atThreshold)
      })),
      tool.version
    );
    if (sarif.truncated)
      io.log.warning(
        `SARIF: ${sarif.truncated} result(s) beyond GitHub's 25,000 a run were left out (the JSON report has them all).`
      );
    const sarifFiles = sarif.files.map((f, i) => {
      const file = path.join(reportDir, sarif.files.length === 1 ? 'scan.sarif' : `scan-${i + 1}.sarif`);
      fs.writeFileSync(file, `${JSON.stringify(f, null, 2)}\n`);
      return file;
    });
    io.output('result', passed ? 'pass' : 'fail');
    io.output('counts', JSON.stringify({...counts, secrets, misconfigurations}));
    for (const s of ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const) io.output(s.toLowerCase(), String(counts[s]));
    io.output(
      'targets',
      JSON.stringify(
        results.map(r => ({
          target: r.name,
          platform: r.platform,
          digest: r.digest,
          passed: r.gate.passed,
          counts: r.gate.counts,
          report: r.report
        }))
      )
    );
    io.output('json', combined);
    io.output('sarif', sarifFiles.join('\n'));
    io.output(
      'expired-ignores',
      JSON.stringify(
        expired.map(e => ({
          id: e.id,
          source: e.source,
          expires: new Date(e.expires as number).toISOString().slice(0, 10),
          reason: e.reason
        }))
      )
    );
    await summary(io, results, threshold as Severity, summaryFindings, passed);
    if (!passed) {
      const failing = results.flatMap(r =>
        worstFirst(r.gate.failing).map(
          f =>
            `${label(r)}: ${f.id} ${f.severity} ${f.pkg ?? f.location}${f.installed ? ` ${f.installed}` : ''}${f.fixed ? ` (fixed in ${f.fixed})` : ''}`
        )
      );
      throw new UserError(
        `the scan found ${failing.length} finding(s) at or above ${threshold} (fail-on: ${failOn.join(', ')}): ${failing.slice(0, 20).join('; ')}${failing.length > 20 ? `; and ${failing.length - 20} more (see ${combined})` : ''}`
      );
    }
  } finally {
    fs.rmSync(workDir, {recursive: true, force: true});
  }
}
