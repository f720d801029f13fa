import {ActionIO, githubIO} from '../../shared/action/io.js';
import {getItems, getMultiline} from '../../shared/action/run.js';
import {UserError} from '../../shared/errors.js';
import {parseBoolean, parseInteger, parsePatterns} from '../../shared/inputs.js';
import {compilePolicy} from '../../shared/cleanup/policy.js';
import {readLogins} from '../../shared/registry/logins.js';
import {CleanupResult, runCleanup} from '../../shared/cleanup/run.js';
import {openManifestStore} from '../../shared/cleanup/manifest-store.js';

const optionalInt = (io: ActionIO, name: string): number | undefined =>
  io.input(name).trim() === '' ? undefined : parseInteger(name, io.input(name), 0, 0, 100000);

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
  const backend = (io.input('backend') || 'ghcr').trim();
  if (backend !== 'ghcr' && backend !== 'oci') throw new UserError(`backend: "${backend}" is not one of ghcr, oci.`);
  const token = io.input('token');
  if (token) io.mask(token);
  if (!token && backend === 'ghcr') {
    throw new UserError('token: give a token (GITHUB_TOKEN with packages: write, or a classic token).');
  }
  const logins = readLogins(getMultiline(io, 'logins'), 'logins', process.env, s => io.mask(s));
  const repository = io.input('repository') || process.env.GITHUB_REPOSITORY || '';
  const owner = io.input('owner') || process.env.GITHUB_REPOSITORY_OWNER || repository.split('/')[0];
  if (!owner && backend === 'ghcr') throw new UserError('owner: give the user or organisation that owns the packages.');
  const packages = getItems(io, 'packages');
  if (packages.length === 0 && repository) packages.push(repository.split('/')[1]);
  if (packages.length === 0) throw new UserError('packages: give the package names to clean.');
  const useRegex = parseBoolean('use-regex', io.input('use-regex'), false);
  const patterns = (name: string): string[] => parsePatterns(io.input(name), useRegex);
  const policy = compilePolicy({
    keepNTagged: optionalInt(io, 'keep-n-tagged'),
    keepNUntagged: optionalInt(io, 'keep-n-untagged'),
    keepSemver: io.input('keep-semver') || undefined,
    olderThan: io.input('older-than') || undefined,
    deleteTags: patterns('delete-tags'),
    excludeTags: patterns('exclude-tags'),
    useRegex,
    deleteUntagged: parseBoolean('delete-untagged', io.input('delete-untagged'), false),
    deleteOrphans: parseBoolean('delete-orphans', io.input('delete-orphans'), false),
    deleteGhosts: parseBoolean('delete-ghosts', io.input('delete-ghosts'), false),
    deletePartial: parseBoolean('delete-partial', io.input('delete-partial'), false),
    ephemeral: getItems(io, 'ephemeral'),
    branchTags: patterns('branch-tags'),
    policy: io.input('policy') || undefined
  });
  const dryRun = parseBoolean('dry-run', io.input('dry-run'), false);
  io.log.info(`policy: ${policy.describe.join('; ')}${dryRun ? ' (dry run)' : ''}`);
  const registry = (io.input('registry-url') || 'ghcr.io').replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const cached = parseBoolean('manifest-cache', io.input('manifest-cache'), true)
    ? await openManifestStore({backend, registry, owner, packages, env: process.env, log: io.log})
    : undefined;
  const res = await runCleanup({
    backend,
    logins,
    owner,
    packages,
    token,
    apiUrl: io.input('github-api-url') || process.env.GITHUB_API_URL || 'https://api.github.com',
    registry,
    username: process.env.GITHUB_ACTOR || owner,
    policy,
    dryRun,
    repository: repository || undefined,
    deletesPerMinute: parseInteger('deletes-per-minute', io.input('deletes-per-minute'), 150, 1, 6000),
    concurrency: parseInteger('concurrency', io.input('concurrency'), 8, 1, 64),
    verify: parseBoolean('verify', io.input('verify'), true),
    recheck: parseBoolean('recheck', io.input('recheck'), true),
    // The real clock: SOURCE_DATE_EPOCH pins build metadata, not the age of what is in the registry.
    now: Date.now(),
    env: process.env,
    mask: s => io.mask(s),
    log: io.log,
    store: cached?.store
  });
  await cached?.finish(res.packages.every(p => !p.error && !p.blocked));
  const flat = <T>(pick: (p: CleanupResult['packages'][number]) => T[]): Array<T & {package: string}> =>
    res.packages.flatMap(p => pick(p).map(x => ({package: p.package, ...x})));
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
  const bytes = res.packages.reduce((n, p) => n + p.bytesReclaimed, 0);
  const counts = {
    deleted: res.packages.reduce((n, p) => n + p.deleted.length, 0),
    untagged: res.packages.reduce((n, p) => n + p.untagged.length, 0),
    kept: res.packages.reduce((n, p) => n + p.kept.length, 0),
    alreadyGone: res.packages.reduce((n, p) => n + p.alreadyGone, 0),
    skipped: res.packages.reduce((n, p) => n + p.skipped.length, 0),
    failed: res.packages.reduce((n, p) => n + p.failed.length + (p.error ? 1 : 0), 0),
    bytesReclaimed: bytes,
    apiCalls: res.api.calls,
    apiRemaining: res.api.remaining,
    registryRequests: res.registryRequests
  };
  io.log.info(
    `GitHub API: ${res.api.calls} call(s) used, ${res.api.remaining ?? '?'} left; registry: ${res.registryRequests} request(s)`
  );
  io.output('deleted', JSON.stringify(flat(p => p.deleted)));
  io.output('untagged', JSON.stringify(flat(p => p.untagged)));
  io.output('kept', JSON.stringify(flat(p => p.kept)));
  io.output('counts', JSON.stringify(counts));
  io.output('bytes-reclaimed', String(bytes));
  await summary(io, res, dryRun);
  if (res.failed.length) {
    throw new UserError(`${res.failed.length} package(s) had failures: ${res.failed.join(' | ')}`);
  }
}
