import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readSyncInputs} from '../../shared/sync/inputs.js';
import {runSync, syncOutputs} from '../../shared/sync/run.js';
import {syncSummary} from '../../shared/sync/summary.js';

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const inputs = readSyncInputs(io, process.env);
  io.log.info(
    `${inputs.entries.length} repositor${inputs.entries.length === 1 ? 'y' : 'ies'} to mirror${inputs.dryRun ? ' (dry run)' : ''}`
  );
  const res = await runSync({
    ...inputs,
    env: process.env,
    mask: s => io.mask(s),
    log: io.log,
    getIdToken: a => io.getIdToken(a)
  });
  for (const e of res.entries) {
    io.log.info(
      `${e.entry}: ${e.selected.length} selected, ${e.copied.length} ${inputs.dryRun ? 'to copy' : 'copied'}, ${e.unchanged.length} unchanged, ${e.refused.length} refused, ${e.failed.length} failed, ${e.left.length} left`
    );
    if (e.error) io.log.error(e.error);
    for (const f of e.failed) io.log.error(`${e.entry}: ${f.tags.join(', ') || f.digest}: ${f.error}`);
    for (const r of e.refused) io.log.warning(`${e.entry}@${r.digest} (${r.tags.join(', ')}) refused: ${r.reason}`);
  }
  for (const [name, value] of Object.entries(syncOutputs(res))) io.output(name, value);
  await io.summary?.(syncSummary(res, inputs.dryRun));
  const stopped = Object.values(res.stopped).join('; ');
  if (res.outcome === 'failed') {
    throw new UserError(
      `sync: some entries or images failed (each error above); the others were mirrored.${stopped ? ` Also stopped early: ${stopped}.` : ''}`
    );
  }
  if (res.outcome === 'incomplete') {
    const message = `incomplete: ${stopped}. What is left is listed in the left output; the next run copies it.`;
    if (inputs.allowIncomplete) io.log.warning(message);
    else throw new UserError(`${message} Set allow-incomplete: true to let the step pass.`);
  }
}
