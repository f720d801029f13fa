import {mib} from '../../shared/summary.js';
import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readCleanupInputs} from '../../shared/cleanup/inputs.js';
import {cleanupOutputs, runCleanupJob} from '../../shared/cleanup/run.js';
import {cleanupSummary} from '../../shared/cleanup/summary.js';

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
  io.output('skipped', JSON.stringify(out.skipped));
  io.output('outcome', res.outcome);
  io.output('left', JSON.stringify(out.left));
  io.output('counts', JSON.stringify(out.counts));
  io.output('bytes-reclaimed', String(out.bytesReclaimed));
  const previews = res.packages.filter(p => p.ecrPreview).map(p => ({package: p.package, ...p.ecrPreview}));
  if (previews.length) io.output('ecr-preview', JSON.stringify(previews));
  await io.summary?.(cleanupSummary(res, dryRun));
  if (res.failed.length) {
    throw new UserError(`${res.failed.length} package(s) had failures: ${res.failed.join(' | ')}`);
  }
  if (res.outcome === 'incomplete') {
    const message = `stopped by ${res.stopped}: the images being deleted were finished, ${out.left.length} planned change(s) were not started (the left output lists them); the next run continues.`;
    if (res.stoppedBy === 'budget' && inputs.allowIncomplete) io.log.warning(message);
    else throw new UserError(message);
  }
}
