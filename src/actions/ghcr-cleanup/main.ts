import * as core from '@actions/core';
import {coreLogger, getItems, getMultiline} from '../../shared/action/run.js';
import {UserError} from '../../shared/errors.js';
import {parseBoolean, parseInteger, parsePatterns} from '../../shared/inputs.js';
import {compilePolicy} from '../../shared/cleanup/policy.js';
import {readLogins} from '../../shared/registry/logins.js';
import {CleanupResult, runCleanup} from '../../shared/cleanup/run.js';
import {openManifestStore} from '../../shared/cleanup/manifest-store.js';

const optionalInt = (name: string): number | undefined =>
  core.getInput(name).trim() === '' ? undefined : parseInteger(name, core.getInput(name), 0, 0, 100000);

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

async function summary(res: CleanupResult, dryRun: boolean): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  core.summary.addHeading(`ghcr-cleanup${dryRun ? ' (dry run)' : ''}`, 3);
  for (const p of res.packages) {
    core.summary.addHeading(p.package, 4);
    if (p.error) {
      core.summary.addRaw(`failed: ${p.error}`, true);
      continue;
    }
    if (p.blocked) core.summary.addRaw(`nothing changed: ${p.blocked}`, true);
    core.summary.addRaw(
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
    if (rows.length) core.summary.addTable([head, ...rows.slice(0, 500)]);
  }
  await core.summary.write();
}

export async function main(): Promise<void> {
  const backend = (core.getInput('backend') || 'ghcr').trim();
  if (backend !== 'ghcr' && backend !== 'oci') throw new UserError(`backend: "${backend}" is not one of ghcr, oci.`);
  const token = core.getInput('token');
  if (token) core.setSecret(token);
  if (!token && backend === 'ghcr') {
    throw new UserError('token: give a token (GITHUB_TOKEN with packages: write, or a classic token).');
  }
  const logins = readLogins(getMultiline('logins'), 'logins', process.env, s => core.setSecret(s));
  const repository = core.getInput('repository') || process.env.GITHUB_REPOSITORY || '';
  const owner = core.getInput('owner') || process.env.GITHUB_REPOSITORY_OWNER || repository.split('/')[0];
  if (!owner && backend === 'ghcr') throw new UserError('owner: give the user or organisation that owns the packages.');
  const packages = getItems('packages');
  if (packages.length === 0 && repository) packages.push(repository.split('/')[1]);
  if (packages.length === 0) throw new UserError('packages: give the package names to clean.');
  const useRegex = parseBoolean('use-regex', core.getInput('use-regex'), false);
  const patterns = (name: string): string[] => parsePatterns(core.getInput(name), useRegex);
  const policy = compilePolicy({
    keepNTagged: optionalInt('keep-n-tagged'),
    keepNUntagged: optionalInt('keep-n-untagged'),
    keepSemver: core.getInput('keep-semver') || undefined,
    olderThan: core.getInput('older-than') || undefined,
    deleteTags: patterns('delete-tags'),
    excludeTags: patterns('exclude-tags'),
    useRegex,
    deleteUntagged: parseBoolean('delete-untagged', core.getInput('delete-untagged'), false),
    deleteOrphans: parseBoolean('delete-orphans', core.getInput('delete-orphans'), false),
    deleteGhosts: parseBoolean('delete-ghosts', core.getInput('delete-ghosts'), false),
    deletePartial: parseBoolean('delete-partial', core.getInput('delete-partial'), false),
    ephemeral: getItems('ephemeral'),
    branchTags: patterns('branch-tags'),
    policy: core.getInput('policy') || undefined
  });
  const dryRun = parseBoolean('dry-run', core.getInput('dry-run'), false);
  core.info(`policy: ${policy.describe.join('; ')}${dryRun ? ' (dry run)' : ''}`);
  const registry = (core.getInput('registry-url') || 'ghcr.io').replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const cached = parseBoolean('manifest-cache', core.getInput('manifest-cache'), true)
    ? await openManifestStore({backend, registry, owner, packages, env: process.env, log: coreLogger})
    : undefined;
  const res = await runCleanup({
    backend,
    logins,
    owner,
    packages,
    token,
    apiUrl: core.getInput('github-api-url') || process.env.GITHUB_API_URL || 'https://api.github.com',
    registry,
    username: process.env.GITHUB_ACTOR || owner,
    policy,
    dryRun,
    repository: repository || undefined,
    deletesPerMinute: parseInteger('deletes-per-minute', core.getInput('deletes-per-minute'), 150, 1, 6000),
    concurrency: parseInteger('concurrency', core.getInput('concurrency'), 8, 1, 64),
    verify: parseBoolean('verify', core.getInput('verify'), true),
    recheck: parseBoolean('recheck', core.getInput('recheck'), true),
    // The real clock: SOURCE_DATE_EPOCH pins build metadata, not the age of what is in the registry.
    now: Date.now(),
    env: process.env,
    mask: s => core.setSecret(s),
    log: coreLogger,
    store: cached?.store
  });
  await cached?.finish(res.packages.every(p => !p.error && !p.blocked));
  const flat = <T>(pick: (p: CleanupResult['packages'][number]) => T[]): Array<T & {package: string}> =>
    res.packages.flatMap(p => pick(p).map(x => ({package: p.package, ...x})));
  for (const p of res.packages) {
    await core.group(`${p.package}`, async () => {
      if (p.error) return;
      if (p.blocked) core.warning(`${p.package}: nothing changed: ${p.blocked}`);
      for (const w of p.warnings) core.warning(`${p.package}: ${w}`);
      for (const d of p.deleted)
        core.info(`${dryRun ? 'would delete' : 'deleted'} ${d.id} ${d.digest} [${d.tags.join(', ')}]: ${d.reason}`);
      for (const d of p.untagged)
        core.info(`${dryRun ? 'would untag' : 'untagged'} ${d.removed.join(', ')} from ${d.digest}: ${d.reason}`);
      for (const d of p.skipped) core.warning(`${p.package}: ${d.id} ${d.digest}: ${d.reason}`);
      core.info(
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
  core.info(
    `GitHub API: ${res.api.calls} call(s) used, ${res.api.remaining ?? '?'} left; registry: ${res.registryRequests} request(s)`
  );
  core.setOutput('deleted', JSON.stringify(flat(p => p.deleted)));
  core.setOutput('untagged', JSON.stringify(flat(p => p.untagged)));
  core.setOutput('kept', JSON.stringify(flat(p => p.kept)));
  core.setOutput('counts', JSON.stringify(counts));
  core.setOutput('bytes-reclaimed', String(bytes));
  await summary(res, dryRun);
  if (res.failed.length) {
    throw new UserError(`${res.failed.length} package(s) had failures: ${res.failed.join(' | ')}`);
  }
}
