import fs from 'node:fs';
import path from 'node:path';
import {mib} from '../../shared/summary.js';
import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readAuditInputs} from '../../shared/audit/inputs.js';
import {auditMetrics} from '../../shared/audit/metrics.js';
import {auditReport} from '../../shared/audit/report.js';
import {runAuditJob} from '../../shared/audit/run.js';
import {auditSummary} from '../../shared/audit/summary.js';

const write = (file: string, text: string): void => {
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, text);
};

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const inputs = readAuditInputs(io, process.env);
  io.log.info(
    `retention policy for what is reclaimable: ${inputs.policy.describe.join('; ') || 'none (nothing reclaimable)'}`
  );
  const res = await runAuditJob(inputs, {env: process.env, mask: s => io.mask(s), log: io.log});
  for (const r of res.repositories) {
    if (r.error) {
      io.log.warning(`${r.repository}: not audited: ${r.error}`);
      continue;
    }
    for (const w of r.warnings) io.log.warning(`${r.repository}: ${w}`);
    const bad = r.served.filter(i => !i.compliant);
    io.log.info(
      `${r.repository}: ${r.images.tagged} tagged and ${r.images.untagged} untagged image(s), ${r.manifests} manifest(s); ${mib(r.storedBytes)} stored, ${mib(r.reclaimableBytes)} reclaimable${r.served.length && inputs.compliance ? `; ${bad.length} of ${r.served.length} served image(s) non-compliant` : ''}`
    );
    for (const i of bad)
      io.log.warning(
        `${r.repository}:${i.tags.join(',')} (${i.digest}, ${i.checked}): ${i.failures.map(f => `${f.requirement}${f.platform ? ` (${f.platform})` : ''}: ${f.reason}`).join('; ')}`
      );
  }
  write(inputs.reportFile, `${JSON.stringify(auditReport(res), null, 2)}\n`);
  write(inputs.metricsFile, auditMetrics(res));
  const served = res.repositories.flatMap(r => r.served);
  const noncompliant = served.filter(i => !i.compliant).length;
  const sum = (f: (r: (typeof res.repositories)[number]) => number): number =>
    res.repositories.reduce((n, r) => n + f(r), 0);
  io.log.info(
    `report: ${inputs.reportFile}; metrics: ${inputs.metricsFile}; registry: ${res.requests.registry} request(s), ${res.requests.manifestReads} manifest read(s), ${res.requests.manifestsStored} from the manifest cache; GitHub API: ${res.requests.api} call(s)`
  );
  io.output('report-file', inputs.reportFile);
  io.output('metrics-file', inputs.metricsFile);
  io.output('outcome', res.outcome);
  io.output('left', JSON.stringify(res.left));
  io.output('noncompliant', String(noncompliant));
  io.output('stored-bytes', String(sum(r => r.storedBytes)));
  io.output('reclaimable-bytes', String(sum(r => r.reclaimableBytes)));
  await io.summary?.(auditSummary(res));
  const errors = res.repositories.filter(r => r.error);
  if (errors.length)
    throw new UserError(
      `${errors.length} repositories could not be audited: ${errors.map(r => `${r.repository}: ${r.error}`).join(' | ')}`
    );
  if (res.outcome === 'incomplete') {
    const message = `stopped by ${res.stopped}: ${res.left.length} repositories not audited (the left output lists them); the next run covers them.`;
    if (inputs.allowIncomplete) io.log.warning(message);
    else throw new UserError(message);
  }
  if (inputs.failOnNoncompliant && noncompliant)
    throw new UserError(
      `${noncompliant} of ${served.length} served image(s) do not meet compliance-policy; the job summary and ${inputs.reportFile} say which and why.`
    );
}
