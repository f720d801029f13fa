import {ActionIO, githubIO} from '../../shared/action/io.js';
import {UserError} from '../../shared/errors.js';
import {readSignInputs} from '../../shared/sign/inputs.js';
import {runSign} from '../../shared/sign/run.js';
import {signSummary, verifySummary} from '../../shared/sign/summary.js';

export async function main(io: ActionIO = githubIO()): Promise<void> {
  const inputs = readSignInputs(io, process.env);
  const out = await runSign(inputs, {
    env: process.env,
    mask: s => io.mask(s),
    log: io.log,
    getIdToken: audience => io.getIdToken(audience),
    saveState: (name, value) => io.saveState(name, value)
  });
  if (out.cosignVersion) io.output('cosign-version', out.cosignVersion);
  if (out.notationVersion) io.output('notation-version', out.notationVersion);
  if (out.verify) {
    const res = out.verified;
    for (const r of res) {
      if (r.verified) io.log.info(`${r.reference}${r.platform ? ` (${r.platform})` : ''}: verified`);
      else io.log.error(`${r.reference}${r.platform ? ` (${r.platform})` : ''}: ${r.error}`);
    }
    io.output('verified', JSON.stringify(res));
    io.output('digests', res.map(r => r.reference).join('\n'));
    await io.summary?.(verifySummary(res));
    const failed = res.filter(r => !r.verified);
    if (failed.length) {
      throw new UserError(
        `${failed.length} of ${res.length} image(s) did not verify: ${failed.map(f => `${f.reference}${f.tags.length ? ` (${f.tags.join(', ')})` : ''}: ${f.error}`).join('; ')}`
      );
    }
    return;
  }
  const res = out.signed;
  const dryRun = !inputs.verify && inputs.dryRun;
  const what = inputs.tool === 'notation' ? 'Notation signature(s)' : 'signatures';
  for (const i of res.images) {
    io.log.info(
      `${i.reference}${i.platform ? ` (${i.platform})` : ''}: ${dryRun ? 'would sign' : `signed; ${what} ${i.signaturesBefore} → ${i.signaturesAfter}`}${i.tags.length ? ` [${i.tags.join(', ')}]` : ''}`
    );
  }
  io.output('signed', JSON.stringify(res.images));
  io.output('digests', res.images.map(i => i.reference).join('\n'));
  io.output('signatures', res.images.flatMap(i => i.signatures).join('\n'));
  io.output('attestations', JSON.stringify(res.attestations));
  await io.summary?.(signSummary(res));
}
