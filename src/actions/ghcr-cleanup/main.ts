import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readCleanupInputs} from '../../shared/cleanup/inputs.js';
import {CleanupResult, cleanupOutputs, runCleanupJob} from '../../shared/cleanup/run.js';

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

async function summary(io: ActionIO, res: CleanupResult, dryRun: boolean): Promise<void> {
  const summary = io.summary;
  if (!summary) return;
  summary.addHeading(`ghcr-cleanup${dryRun ? ' (dry run)' : ''}`, 3);
  for (const p of res.packages) {
    summary.addHeading(p.package, 4);
    if (p.error) {
      summary.addRaw(`failed: ${p.error}`, true);
      continue;
    }
    if (p.blocked) summary.addRaw(`nothing changed: ${p.blocked}`, true);
    summary.addRaw(
      `${dryRun ? 'would delete' : 'deleted'} ${p.deleted.length}, untagged ${p.untagged.length}, kept ${p.kept.length}, already gone ${p.alreadyGone}, skipped ${p.skipped.length}, failed ${p.failed.length}; ${mib(p.bytesReclaimed)} reclaimed`,
      true
    );
    const head = ['version', 'digest', 'tags', 'action', 'why'].map(h => ({data: h, header: true}));
    const rows = [
      ...p.deleted.map(d => [String(d.id), d.digest.slice(0, 19), d.tags.join(', '), 'delete', d.reason]),
      ...p.untagged.map(d => [String(d.id), d.digest.slice(0, 19), d.removed.join(', '), 'untag', d.reason]),
      ...p.failed.map(d => [String(d.id), d.digest.slice(0, 19), d.tags.join(', '), 'failed', d.error]),
      ...p.kept
        .filter(d => d.tags.length)
        .map(d => [String(d.id), d.digest.slice(0, 19), d.tags.join(', '), 'keep', d.reason])
    ];
    if (rows.length) summary.addTable([head, ...rows.slice(0, 500)]);
  }
  await summary.write();
}

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const inputs = readCleanupInputs(io, process.env);
  const dryRun = inputs.dryRun;
  io.log.info(`policy: ${inputs.policy.describe.join('; ')}${dryRun ? ' (dry run)' : ''}`);
  const res = await runCleanupJob(inputs, {env: process.env, mask: s => io.mask(s), log: io.log});
  for (const p of res.packages) {
    await io.log.group(`${p.package}`, async () => {
      if (p.error) return;
      if (p.blocked) io.log.warning(`${p.package}: nothing changed: ${p.blocked}`);
      for (const w of p.warnings) io.log.warning(`${p.package}: ${w}`);
      for (const d of p.deleted)
        io.log.info(`${dryRun ? 'would delete' : 'deleted'} ${d.id} ${d.digest} [${d.tags.join(', ')}]: ${d.reason}`);
      for (const d of p.untagged)
        io.log.info(`${dryRun ? 'would untag' : 'untagged'} ${d.removed.join(', ')} from ${d.digest}: ${d.reason}`);
      for (const d of p.skipped) io.log.warning(`${p.package}: ${d.id} ${d.digest}: ${d.reason}`);
      io.log.info(
        `${p.package}: ${p.deleted.length} ${dryRun ? 'to delete' : 'deleted'}, ${p.untagged.length} untagged, ${p.kept.length} kept, ${p.alreadyGone} already gone; ${mib(p.bytesReclaimed)}; ${p.pages} page(s), ${p.manifestRequests} manifest read(s)${p.manifestsStored ? `, ${p.manifestsStored} from the manifest cache` : ''}`
      );
    });
  }
  const out = cleanupOutputs(res);
  io.log.info(
    `GitHub API: ${res.api.calls} call(s) used, ${res.api.remaining ?? '?'} left; registry: ${res.registryRequests} request(s)`
  );
  io.output('deleted', JSON.stringify(out.deleted));
  io.output('untagged', JSON.stringify(out.untagged));
  io.output('kept', JSON.stringify(out.kept));
  io.output('counts', JSON.stringify(out.counts));
  io.output('bytes-reclaimed', String(out.bytesReclaimed));
  await summary(io, res, dryRun);
  if (res.failed.length) {
    throw new UserError(`${res.failed.length} package(s) had failures: ${res.failed.join(' | ')}`);
  }
}
