import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {worstFirst} from '../../shared/scan/gate.js';
import {readScanInputs} from '../../shared/scan/inputs.js';
import {SEVERITIES, Severity} from '../../shared/scan/report.js';
import {targetLabel, runScan} from '../../shared/scan/run.js';
import {TargetResult} from '../../shared/scan/scan.js';

const label = targetLabel;

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
  const inputs = readScanInputs(io, process.env);
  const {passed, results, counts, secrets, misconfigurations, expired, db, report, sarif, failure} = await runScan(
    inputs,
    {env: process.env, log: io.log, mask: s => io.mask(s), getIdToken: audience => io.getIdToken(audience)}
  );
  io.output('db', db.source);
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
  io.output('report', report);
  io.output('json', report);
  io.output('sarif', sarif.join('\n'));
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
  await summary(io, results, inputs.threshold, inputs.summaryFindings, passed);
  if (failure) throw new UserError(failure);
}
