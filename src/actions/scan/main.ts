import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readScanInputs} from '../../shared/scan/inputs.js';
import {runScan} from '../../shared/scan/run.js';
import {scanSummary} from '../../shared/scan/summary.js';

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
  await io.summary?.(scanSummary({results, threshold: inputs.threshold, top: inputs.summaryFindings, passed, expired}));
  if (failure) throw new UserError(failure);
}
