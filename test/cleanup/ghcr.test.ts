import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, test} from '@jest/globals';
import {startActionsCache} from '../helpers/actions-cache.js';
import {GH_TOKEN, GhcrEmulator, startGhcr} from '../helpers/ghcr.js';
import {githubApiDescription} from '../helpers/openapi.js';
import {GhcrImages, Pushed} from '../helpers/ghcr-images.js';
import {manifestDigest} from '../helpers/registry.js';
import {ActionRun, errorLines, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';

const ready = !!requireTool('docker-registry') && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;

let emu: GhcrEmulator;
let seq = 0;
const OWNER = 'acme';
const DAY = 86_400_000;

beforeAll(async () => {
  if (!ready) return;
  emu = (await startGhcr()) as GhcrEmulator;
  emu.orgs.add('acme-org');
}, 30000);
afterAll(async () => emu?.stop());
// Every answer the GitHub emulator gave fits GitHub's published API description (route, status, schema).
afterEach(() => {
  if (!emu) return;
  const found = emu.violations.splice(0);
  expect(found).toEqual([]);
});

interface Versioned {
  digest: string;
  tags: string[];
}

function fresh(owner = OWNER, name?: string): GhcrImages {
  seq++;
  return new GhcrImages(emu, owner, name ?? `app${seq}`);
}

/** Active versions of a package: digest → sorted tags. */
function state(p: GhcrImages): Map<string, string[]> {
  return new Map(emu.active(p.repo).map(v => [v.name, [...v.tags].sort()]));
}

async function cleanup(
  p: GhcrImages,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  opts: {brokenBefore?: boolean} = {}
): Promise<ActionRun> {
  const run = await runBundledAction(
    'ghcr-cleanup',
    {
      owner: p.owner,
      packages: p.pkg,
      'github-token': GH_TOKEN,
      'github-api-url': emu.apiUrl,
      'registry-url': emu.host,
      'deletes-per-minute': '6000',
      ...inputs
    },
    // A tool cache of its own for each run: manifests kept between runs only where a test says so.
    {
      GITHUB_REPOSITORY: `${p.owner}/${p.pkg}`,
      RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'cleanup-tools-')),
      ...env
    }
  );
  // After every real run, whatever its outcome, every tag left in the package pulls completely.
  if (inputs['dry-run'] !== 'true' && !opts.brokenBefore) await assertTagsPull(p);
  return run;
}

const ok = (run: ActionRun): void => expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
const deleted = (run: ActionRun): string[] =>
  (JSON.parse(run.outputs.deleted) as Versioned[]).map(d => d.digest).sort();
const all = (...ps: Pushed[]): string[] => ps.flatMap(p => [p.digest, ...p.children]).sort();

/** Every tag still in the package pulls completely: skopeo reads it, and each manifest it names exists. */
async function assertTagsPull(p: GhcrImages): Promise<void> {
  for (const [digest, tags] of state(p)) {
    for (const tag of tags) {
      expect(await manifestDigest(`${emu.host}/${p.repo}:${tag}`, `tester:${GH_TOKEN}`)).toBe(digest);
      const root = await p.client.getManifest(p.repo, tag);
      const kids =
        (JSON.parse((root as {body: Buffer}).body.toString()) as {manifests?: Array<{digest: string}>}).manifests ?? [];
      for (const k of kids) expect(await p.client.headManifest(p.repo, k.digest)).toBeDefined();
    }
  }
}

describe('ghcr-cleanup: multi-arch images are the unit', () => {
  maybe(
    'delete-untagged removes an old index with its platforms and attestations, never a kept image’s platforms',
    async () => {
      const p = fresh();
      emu.now = Date.now() - 10 * DAY;
      const old = await p.image('old', ['main'], {attestations: true});
      const current = await p.image('new', ['main', 'v1.0.0'], {attestations: true});
      const single = await p.platform('lone', 'linux/amd64', 256);
      const run = await cleanup(p, {'delete-untagged': 'true'});
      ok(run);
      expect(deleted(run)).toEqual([...all(old), single.digest].sort());
      expect([...state(p).keys()].sort()).toEqual(all(current));
      expect(state(p).get(current.digest)).toEqual(['main', 'v1.0.0']);
      await assertTagsPull(p);
      // Parents first: the index goes before its platform manifests.
      const ids = new Map(emu.versions.get(p.repo)?.map(v => [v.name, v.id]));
      const order = emu.calls
        .filter(c => c.method === 'DELETE' && c.path.includes(`/${p.pkg}/`))
        .map(c => Number(c.path.split('/').pop()));
      expect(order.indexOf(ids.get(old.digest) as number)).toBeLessThan(
        order.indexOf(ids.get(old.children[0]) as number)
      );
    }
  );

  maybe('a platform manifest shared by two indexes stays while one of them is kept', async () => {
    const p = fresh();
    const shared = await p.platform('shared', 'linux/amd64');
    const a = await p.platform('only-a', 'linux/arm64');
    const b = await p.platform('only-b', 'linux/arm64');
    const first = await p.image('first', ['old'], {reuse: [shared, a]});
    const second = await p.image('second', ['new'], {reuse: [shared, b]});
    const run = await cleanup(p, {'delete-tags': 'old'});
    ok(run);
    expect(deleted(run)).toEqual([first.digest, a.digest].sort());
    expect([...state(p).keys()].sort()).toEqual([second.digest, shared.digest, b.digest].sort());
    await assertTagsPull(p);
  });

  maybe('keep-n-tagged counts images, not versions or tags', async () => {
    const p = fresh();
    const images: Pushed[] = [];
    for (let i = 0; i < 5; i++)
      images.push(await p.image(`img${i}`, [`build-${i}`, `alias-${i}`], {attestations: true}));
    const run = await cleanup(p, {'keep-n-tagged': '2'});
    ok(run);
    expect(deleted(run)).toEqual(all(images[0], images[1], images[2]));
    expect([...state(p).keys()].sort()).toEqual(all(images[3], images[4]));
    await assertTagsPull(p);
  });

  maybe('keep-semver keeps the highest release per major line; keep-n-tagged the newest others', async () => {
    const p = fresh();
    const made: Record<string, Pushed> = {};
    for (const t of ['v1.0.0', 'v1.1.0', 'v2.0.0', 'v2.1.0', 'v3.0.0-rc.1', 'nightly', 'edge'])
      made[t] = await p.image(t, [t]);
    const run = await cleanup(p, {'keep-semver': '1', 'keep-n-tagged': '1'});
    ok(run);
    expect(deleted(run)).toEqual(all(made['v1.0.0'], made['v2.0.0'], made['v3.0.0-rc.1'], made.nightly));
    expect([...state(p).values()].flat().sort()).toEqual(['edge', 'v1.1.0', 'v2.1.0']);
  });

  maybe('exclude-tags and older-than beat every delete rule', async () => {
    const p = fresh();
    emu.now = Date.now() - 40 * DAY;
    const protectedOld = await p.image('prod', ['prod-2026']);
    const oldOne = await p.image('stale', ['feature-x']);
    emu.now = Date.now() - DAY;
    const young = await p.image('young', ['feature-y']);
    const run = await cleanup(p, {'delete-tags': 'feature-*, prod-*', 'exclude-tags': 'prod-*', 'older-than': '30d'});
    ok(run);
    expect(deleted(run)).toEqual(all(oldOne));
    expect([...state(p).keys()].sort()).toEqual(all(protectedOld, young));
    const kept = JSON.parse(run.outputs.kept) as Array<{digest: string; reason: string}>;
    expect(kept.find(k => k.digest === young.digest)?.reason).toContain('newer than older-than');
    expect(kept.find(k => k.digest === protectedOld.digest)?.reason).toContain('exclude-tags');
  });

  maybe('removing one tag of a multi-tagged image keeps the image and its other tags', async () => {
    const p = fresh();
    const img = await p.image('multi', ['v1.2.3', 'latest', 'pr-42']);
    const before = emu.active(p.repo).length;
    const run = await cleanup(p, {'delete-tags': 'pr-*'});
    ok(run);
    expect(deleted(run)).toEqual([]);
    expect(JSON.parse(run.outputs.untagged)).toEqual([
      expect.objectContaining({digest: img.digest, removed: ['pr-42']})
    ]);
    expect(state(p).get(img.digest)).toEqual(['latest', 'v1.2.3']);
    expect(emu.active(p.repo)).toHaveLength(before);
    expect(await p.client.headManifest(p.repo, 'pr-42')).toBeUndefined();
    await assertTagsPull(p);
  });

  maybe('delete-tags deletes an image only when every tag matches', async () => {
    const p = fresh();
    const gone = await p.image('a', ['pr-1', 'pr-1-abc']);
    const stays = await p.image('b', ['pr-2', 'v2.0.0']);
    const run = await cleanup(p, {'delete-tags': 'pr-*'});
    ok(run);
    expect(deleted(run)).toEqual(all(gone));
    expect(state(p).get(stays.digest)).toEqual(['v2.0.0']);
  });

  maybe('ghost and partial indexes', async () => {
    const p = fresh();
    const ghost = await p.image('ghost', ['ghost']);
    const partial = await p.image('partial', ['partial']);
    const good = await p.image('good', ['good']);
    // Break them as other tools do: delete platform versions through the API.
    const ids = new Map(emu.versions.get(p.repo)?.map(v => [v.name, v.id]));
    for (const d of [...ghost.children, partial.children[0]]) {
      const res = await fetch(`${emu.apiUrl}/users/${p.owner}/packages/container/${p.pkg}/versions/${ids.get(d)}`, {
        method: 'DELETE',
        headers: {authorization: `token ${GH_TOKEN}`}
      });
      expect(res.status).toBe(204);
    }
    const ghosts = await cleanup(p, {'delete-ghosts': 'true'}, {}, {brokenBefore: true});
    ok(ghosts);
    expect(deleted(ghosts)).toEqual([ghost.digest]);
    const partials = await cleanup(p, {'delete-partial': 'true'});
    ok(partials);
    expect(deleted(partials)).toEqual([partial.digest, partial.children[1]].sort());
    expect([...state(p).keys()].sort()).toEqual(all(good));
  });
});

describe('ghcr-cleanup: signatures follow their image', () => {
  maybe('legacy and bundle signatures of a deleted image go with it; those of a kept image stay', async () => {
    const p = fresh();
    const doomed = await p.image('doomed', ['old']);
    const legacyDoomed = await p.legacySignature(doomed.digest);
    const bundleDoomed = await p.bundleSignature(doomed);
    const kept = await p.image('kept', ['new']);
    const legacyKept = await p.legacySignature(kept.digest);
    const bundleKept = await p.bundleSignature(kept);
    const run = await cleanup(p, {'keep-n-tagged': '1'});
    ok(run);
    expect(deleted(run)).toEqual(
      all(doomed, legacyDoomed, bundleDoomed.bundle, bundleDoomed.fallback).filter((d, i, a) => a.indexOf(d) === i)
    );
    expect([...state(p).keys()].sort()).toEqual(
      [...all(kept), legacyKept.digest, bundleKept.bundle.digest, bundleKept.fallback.digest].sort()
    );
    await assertTagsPull(p);
  });

  maybe('an orphaned signature is kept unless delete-orphans; delete-untagged never touches signatures', async () => {
    const p = fresh();
    const img = await p.image('img', ['v1']);
    const orphanSubject = `sha256:${'a'.repeat(64)}`;
    const orphan = await p.legacySignature(orphanSubject);
    const sig = await p.legacySignature(img.digest);
    const untagged = await cleanup(p, {'delete-untagged': 'true'});
    ok(untagged);
    expect(deleted(untagged)).toEqual([]);
    const orphans = await cleanup(p, {'delete-orphans': 'true'});
    ok(orphans);
    expect(deleted(orphans)).toEqual([orphan.digest]);
    expect([...state(p).keys()].sort()).toEqual([...all(img), sig.digest].sort());
  });
});

describe('ghcr-cleanup: policies users know', () => {
  maybe('an ECR lifecycle policy document, evaluated with ECR semantics', async () => {
    const p = fresh();
    emu.now = Date.now() - 20 * DAY;
    const releases: Pushed[] = [];
    for (let i = 0; i < 4; i++) releases.push(await p.image(`r${i}`, [`release-${i}`]));
    const oldUntagged = await p.platform('old-untagged');
    emu.now = Date.now() - DAY;
    const freshUntagged = await p.platform('fresh-untagged');
    const dev = await p.image('dev', ['dev-1']);
    const policy = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'keep 2 releases',
          selection: {tagStatus: 'tagged', tagPrefixList: ['release'], countType: 'imageCountMoreThan', countNumber: 2},
          action: {type: 'expire'}
        },
        {
          rulePriority: 2,
          selection: {tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7},
          action: {type: 'expire'}
        }
      ]
    });
    const run = await cleanup(p, {policy});
    ok(run);
    expect(deleted(run)).toEqual([...all(releases[0], releases[1]), oldUntagged.digest].sort());
    expect([...state(p).keys()].sort()).toEqual([...all(releases[2], releases[3], dev), freshUntagged.digest].sort());
    const reasons = (JSON.parse(run.outputs.deleted) as Array<{digest: string; reason: string}>).find(
      d => d.digest === releases[0].digest
    );
    expect(reasons?.reason).toBe('ECR rule 1 (keep 2 releases)');
  });

  maybe(
    'older-than uses the real clock, not SOURCE_DATE_EPOCH; a use-regex exclude with {m,n} keeps protecting',
    async () => {
      const p = fresh();
      emu.now = Date.now() - 10 * DAY;
      const release = await p.image('rel', ['v12']);
      const feature = await p.image('feat', ['feature-x']);
      emu.now = Date.now();
      const fresh_ = await p.image('new', ['latest']);
      const run = await cleanup(
        p,
        {'keep-n-tagged': '0', 'older-than': '5d', 'use-regex': 'true', 'exclude-tags': '^v\\d{1,3}$\n^latest$'},
        // A reproducible build's SOURCE_DATE_EPOCH (30 days ago) must not make the images look newer.
        {SOURCE_DATE_EPOCH: String(Math.floor((Date.now() - 30 * DAY) / 1000))}
      );
      ok(run);
      expect(deleted(run)).toEqual(all(feature));
      expect([...state(p).keys()].sort()).toEqual(all(release, fresh_));
    }
  );

  maybe(
    'ephemeral branches: a prod tag of an image built on main is kept; a closed pull request’s deleted branch goes, with its evidence',
    async () => {
      const p = fresh();
      emu.openPulls = [];
      emu.branches = ['main'];
      emu.closedPulls = [{number: 12, head: 'feature/x'}];
      const prod = await p.image('prod', ['prod']);
      const staging = await p.image('staging', ['staging', '1.2']);
      const gone = await p.image('feat', ['feature-x']);
      const dry = await cleanup(p, {ephemeral: 'branches', 'dry-run': 'true'});
      ok(dry);
      const reasons = JSON.parse(dry.outputs.deleted) as Array<{digest: string; reason: string}>;
      expect(reasons.find(d => d.digest === gone.digest)?.reason).toBe(
        'ephemeral: feature-x (branch feature-x of closed pull request #12 no longer exists)'
      );
      const run = await cleanup(p, {ephemeral: 'branches'});
      ok(run);
      expect(deleted(run)).toEqual(all(gone));
      expect([...state(p).keys()].sort()).toEqual(all(prod, staging));
      emu.closedPulls = [];
    }
  );

  maybe('ephemeral: images of closed pull requests go; open ones and releases stay', async () => {
    const p = fresh();
    emu.openPulls = [7];
    const closed = await p.image('pr3', ['pr-3']);
    const open = await p.image('pr7', ['pr-7']);
    const release = await p.image('rel', ['v1.0.0']);
    const run = await cleanup(p, {ephemeral: 'pull-requests'});
    ok(run);
    expect(deleted(run)).toEqual(all(closed));
    expect([...state(p).keys()].sort()).toEqual(all(open, release));
  });

  maybe('dry-run reports exactly what the real run then deletes, and changes nothing', async () => {
    const p = fresh();
    for (let i = 0; i < 4; i++) await p.image(`d${i}`, [`t${i}`], {attestations: i % 2 === 0});
    await p.legacySignature((await p.image('signed', ['t-signed'])).digest);
    const before = state(p);
    const dry = await cleanup(p, {'keep-n-tagged': '2', 'dry-run': 'true'});
    ok(dry);
    expect(state(p)).toEqual(before);
    expect(emu.calls.filter(c => c.method === 'DELETE' && c.path.includes(`/${p.pkg}/`))).toEqual([]);
    const real = await cleanup(p, {'keep-n-tagged': '2'});
    ok(real);
    expect(deleted(real)).toEqual(deleted(dry));
    expect(deleted(real).length).toBeGreaterThan(0);
    expect(JSON.parse(real.outputs.counts)).toEqual(expect.objectContaining({deleted: deleted(dry).length, failed: 0}));
  });

  maybe('no rule at all: the action refuses instead of guessing', async () => {
    const p = fresh();
    await p.image('x', ['v1']);
    const run = await cleanup(p, {'exclude-tags': 'v*'});
    expect(run.code).not.toBe(0);
    expect(errorLines(run)).toEqual([expect.stringContaining('no cleanup rule given')]);
  });
});

describe('ghcr-cleanup: more policies', () => {
  maybe(
    'keep-n-untagged keeps the newest untagged images and deletes the older ones with their platforms',
    async () => {
      const p = fresh();
      const old = await p.image('u-old', []);
      const mid = await p.image('u-mid', []);
      const newest = await p.image('u-new', []);
      const tagged = await p.image('t', ['v1']);
      const run = await cleanup(p, {'keep-n-untagged': '1'});
      ok(run);
      expect(deleted(run)).toEqual(all(old, mid));
      expect([...state(p).keys()].sort()).toEqual(all(newest, tagged));
    }
  );

  maybe('kind:immutable protects full releases while floating tags are cleaned', async () => {
    const p = fresh();
    const release = await p.image('rel', ['v2.4.1']);
    const floating = await p.image('float', ['nightly']);
    const sha = await p.image('sha', ['sha-1a2b3c4']);
    const run = await cleanup(p, {'delete-tags': '*', 'exclude-tags': 'kind:immutable'});
    ok(run);
    expect(deleted(run)).toEqual(all(floating));
    expect([...state(p).keys()].sort()).toEqual(all(release, sha));
  });

  maybe('a public version with more than 5,000 downloads is refused by GitHub: reported, others deleted', async () => {
    const p = fresh();
    const popular = await p.image('popular', ['v1']);
    const other = await p.image('other', ['v2']);
    await p.image('keep', ['v3']);
    const v = emu.active(p.repo).find(x => x.name === popular.digest);
    if (v) v.downloads = 6000;
    const run = await cleanup(p, {'keep-n-tagged': '1'});
    expect(run.code).not.toBe(0);
    expect(errorLines(run).join('\n')).toContain('5,000 downloads');
    expect(deleted(run)).toEqual(all(other));
    // The refused index keeps its platforms: nothing under it was deleted.
    for (const d of all(popular)) expect(state(p).has(d)).toBe(true);
  });

  maybe('a deleted version can be restored through the API and pulls again', async () => {
    const p = fresh();
    const img = await p.image('r', ['v1'], {platforms: ['linux/amd64']});
    await p.image('r2', ['v2'], {platforms: ['linux/amd64']});
    const run = await cleanup(p, {'delete-tags': 'v1'});
    ok(run);
    expect(deleted(run)).toEqual(all(img));
    for (const d of [...img.children, img.digest]) {
      const id = emu.versions.get(p.repo)?.find(v => v.name === d)?.id;
      const res = await fetch(`${emu.apiUrl}/users/${p.owner}/packages/container/${p.pkg}/versions/${id}/restore`, {
        method: 'POST',
        headers: {authorization: `token ${GH_TOKEN}`}
      });
      expect(res.status).toBe(204);
    }
    expect(await manifestDigest(`${emu.host}/${p.repo}:v1`, `tester:${GH_TOKEN}`)).toBe(img.digest);
  });
});

describe('ghcr-cleanup: failures are reported per package, never half-applied', () => {
  maybe('GitHub refuses the last tagged version: reported, its children left in place, non-zero exit', async () => {
    const p = fresh();
    const only = await p.image('only', ['v1']);
    const run = await cleanup(p, {'delete-tags': 'v1'});
    expect(run.code).not.toBe(0);
    expect(errorLines(run).join('\n')).toContain('last tagged version');
    expect([...state(p).keys()].sort()).toEqual(all(only));
    await assertTagsPull(p);
  });

  maybe('a 404 on DELETE counts as already gone; a 429 and a secondary-limit 403 are waited out', async () => {
    const p = fresh();
    const a = await p.image('a', ['a']);
    await p.image('b', ['b']);
    const ids = new Map(emu.versions.get(p.repo)?.map(v => [v.name, v.id]));
    emu.faults.push(
      {method: 'DELETE', path: new RegExp(`/versions/${ids.get(a.children[0])}$`), status: 404, times: 1},
      {
        method: 'GET',
        path: new RegExp(`/${p.pkg}/versions$`),
        status: 403,
        message: 'You have exceeded a secondary rate limit',
        headers: {'retry-after': '1'},
        times: 1
      },
      {
        method: 'DELETE',
        path: new RegExp(`/versions/${ids.get(a.children[1])}$`),
        status: 429,
        headers: {'retry-after': '1'},
        times: 1
      }
    );
    const run = await cleanup(p, {'keep-n-tagged': '1'});
    ok(run);
    const counts = JSON.parse(run.outputs.counts) as {deleted: number; alreadyGone: number};
    expect(counts).toEqual(expect.objectContaining({deleted: 2, alreadyGone: 1}));
    expect(run.stdout).toContain('secondary rate limit');
    expect(emu.faults.every(f => f.times === 0)).toBe(true);
  });

  maybe(
    'the API budget: under rate-limit-floor no new image starts, the run ends incomplete with what is left; an exhausted limit is not waited out; the next run finishes',
    async () => {
      const p = fresh();
      const images: Pushed[] = [];
      for (let i = 0; i < 6; i++) images.push(await p.image(`budget${i}`, [`v${i}`]));
      const whole = (run: ActionRun) => {
        const gone = deleted(run);
        for (const img of images) {
          const parts = all(img);
          expect({
            img: img.digest,
            whole: parts.every(d => gone.includes(d)) || parts.every(d => !gone.includes(d))
          }).toEqual({
            img: img.digest,
            whole: true
          });
        }
        return gone;
      };
      // Enough for the listing and about two images, then under the floor of 50.
      emu.rateRemaining = 76;
      const first = await cleanup(p, {'keep-n-tagged': '1', 'delete-untagged': 'true'});
      expect(first.code).toBe(1);
      expect(first.outputs.outcome).toBe('incomplete');
      expect(errorLines(first).join('\n')).toMatch(
        /stopped by the rate-limit floor of 50 \(\d+ GitHub API request\(s\) left, the next image and those started need \d+; it resets at \d\d:\d\d UTC\)/
      );
      const gone = whole(first);
      expect(gone.length).toBeGreaterThan(0);
      const left = JSON.parse(first.outputs.left) as Array<{digest: string; reason: string}>;
      expect(left.length).toBeGreaterThan(0);
      expect(left[0].reason).toContain('not deleted: the rate-limit floor of 50');
      expect(gone.length + left.length).toBeLessThanOrEqual(15);

      // The limit itself runs out mid-run (another job spent the shared budget): no hour-long wait.
      emu.rateRemaining = 4;
      const started = Date.now();
      const exhausted = await cleanup(p, {
        'keep-n-tagged': '1',
        'delete-untagged': 'true',
        'rate-limit-floor': '0',
        'allow-incomplete': 'true'
      });
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(exhausted.outputs.outcome).toBe('incomplete');
      expect(exhausted.stdout).toMatch(
        /::warning::stopped by the GitHub API rate limit \(exhausted; it resets in \d+ s\)/
      );

      // What the exhausted run left of an image (its platforms, untagged now) goes with the next run.
      emu.rateRemaining = 5000;
      const next = await cleanup(p, {'keep-n-tagged': '1', 'delete-untagged': 'true'});
      ok(next);
      expect(next.outputs.outcome).toBe('complete');
      expect([...state(p).keys()].sort()).toEqual(all(images[5]));
    }
  );

  maybe('shard k/n: each part of a matrix cleans its own packages; together every package once', async () => {
    const pkgs = [0, 1, 2, 3, 4].map(() => fresh());
    for (const p of pkgs) for (let i = 0; i < 2; i++) await p.image(`${p.pkg}-${i}`, [`v${i}`]);
    const cleaned: string[] = [];
    for (const shard of ['1/3', '2/3', '3/3']) {
      const run = await cleanup(pkgs[0], {packages: pkgs.map(p => p.pkg).join(','), 'keep-n-tagged': '1', shard});
      ok(run);
      const names = [...new Set((JSON.parse(run.outputs.deleted) as Array<{package: string}>).map(d => d.package))];
      expect(run.stdout).toContain(`shard ${shard}: ${names.length} of 5 package(s)`);
      cleaned.push(...names);
    }
    expect(cleaned.sort()).toEqual(pkgs.map(p => p.pkg).sort());
    for (const p of pkgs) expect(state(p).size).toBe(3);
  });

  describe('recheck wave', () => {
    const listingPath = (p: GhcrImages): RegExp => new RegExp(`/${p.pkg}/versions$`);
    /**
     * Runs a wave-checked cleanup, calling `inject` once before the first listing read after planning's
     * `pages`; the first wave's page reads (sent together) are all answered after it.
     */
    const waveRun = async (
      p: GhcrImages,
      pages: number,
      inputs: Record<string, string>,
      inject: () => Promise<void>
    ): Promise<{run: ActionRun; reads: {pages: number; versions: number; deletes: number}}> => {
      let listings = 0;
      let injected: Promise<void> | undefined;
      const calls0 = emu.calls.length;
      emu.maxPerPage = 4;
      emu.onRequest = async r => {
        if (r.method !== 'GET' || !listingPath(p).test(r.url.pathname)) return;
        if (++listings > pages) await (injected ??= inject());
      };
      try {
        const run = await cleanup(p, {recheck: 'wave', ...inputs});
        const calls = emu.calls.slice(calls0).filter(c => c.path.includes(`/${p.pkg}/versions`));
        return {
          run,
          reads: {
            pages: calls.filter(c => c.method === 'GET' && /\/versions(\?|$)/.test(c.path)).length,
            versions: calls.filter(c => c.method === 'GET' && /\/versions\/\d+$/.test(c.path)).length,
            deletes: calls.filter(c => c.method === 'DELETE').length
          }
        };
      } finally {
        emu.onRequest = undefined;
        emu.maxPerPage = 100;
      }
    };
    /** `n` single-platform images, each tagged v<i>, oldest first: 2n versions, pages of 4 in waveRun. */
    const images = async (p: GhcrImages, n: number): Promise<Pushed[]> => {
      const out: Pushed[] = [];
      for (let i = 0; i < n; i++) out.push(await p.image(`w${i}`, [`v${i}`], {platforms: ['linux/amd64']}));
      return out;
    };

    maybe(
      'a wave is checked by reading its listing pages, not each version: what was tagged before the read is kept',
      async () => {
        const p = fresh();
        // 10 images (index + platform each): 20 versions, 5 pages of 4; keep-n-tagged 2 plans 8 away.
        const pushed = await images(p, 10);
        const retagged = pushed[3];
        const {run, reads} = await waveRun(p, 5, {'keep-n-tagged': '2'}, () => p.tag(retagged, 'hotfix'));
        ok(run);
        expect(deleted(run)).toEqual(all(...pushed.slice(0, 8).filter(i => i !== retagged)));
        expect(state(p).get(retagged.digest)).toEqual(['hotfix', 'v3']);
        const skipped = JSON.parse(run.outputs.skipped) as Array<{digest: string; reason: string}>;
        expect(skipped.find(s_ => s_.digest === retagged.digest)?.reason).toBe(
          'not deleted: tagged hotfix since planning'
        );
        // Two waves (the 8 indexes, then their 7 platforms): each reads the pages it spans and the one
        // after; no version is read on its own.
        expect(reads.versions).toBe(0);
        expect(reads.deletes).toBe(14);
        expect(reads.pages).toBeGreaterThan(5);
        expect(reads.pages).toBeLessThanOrEqual(5 + 2 * 6);
      }
    );

    maybe(
      'versions pushed since planning move the wave off its pages: each version not found is read on its own, none is judged on absence',
      async () => {
        const p = fresh();
        // Three pages of 4; keep-n-tagged 1 plans five images away. Before the first wave's read, ten
        // untagged platform manifests are pushed: every planned version is now two pages further down.
        const planned = await images(p, 6);
        const late: Pushed[] = [];
        const {run, reads} = await waveRun(p, 3, {'keep-n-tagged': '1'}, async () => {
          for (let i = 0; i < 10; i++) late.push(await p.platform(`late${i}`, 'linux/amd64', 128));
        });
        ok(run);
        expect(deleted(run)).toEqual(all(...planned.slice(0, 5)));
        for (const x of late) expect(state(p).has(x.digest)).toBe(true);
        expect(reads.versions).toBeGreaterThan(0);
        expect(reads.deletes).toBe(10);
      }
    );

    maybe('recheck wave is refused for a backend that checks each deletion at the registry', async () => {
      const run = await runBundledAction('ghcr-cleanup', {
        backend: 'harbor',
        'registry-url': emu.host,
        packages: 'acme/x',
        'keep-n-tagged': '1',
        recheck: 'wave'
      });
      expect(run.code).not.toBe(0);
      expect(errorLines(run).join('\n')).toContain('backend harbor checks each deletion at the registry cheaply');
    });
  });

  maybe('an incomplete version list deletes nothing in that package', async () => {
    const p = fresh();
    for (let i = 0; i < 3; i++) await p.image(`i${i}`, [`t${i}`]);
    const before = state(p);
    emu.maxPerPage = 4;
    const fault = {
      method: 'GET',
      path: new RegExp(`/${p.pkg.replace('/', '%2F')}/versions$`),
      query: /page=2/,
      status: 502,
      times: 10
    };
    emu.faults.push(fault);
    try {
      const run = await cleanup(p, {'keep-n-tagged': '1'});
      expect(state(p)).toEqual(before);
      expect(run.stdout).toContain('nothing changed: the version list could not be read completely');
      expect(fault.times).toBeLessThan(10);
    } finally {
      emu.maxPerPage = 100;
      fault.times = 0;
    }
  });

  maybe('several packages at once, one of them missing: the others are cleaned, the step fails naming it', async () => {
    const a = fresh('acme-org', 'svc/api');
    const b = fresh('acme-org', 'svc/web');
    const oldA = await a.image('a0', ['a0']);
    await a.image('a1', ['a1']);
    const oldB = await b.image('b0', ['b0']);
    await b.image('b1', ['b1']);
    const run = await runBundledAction(
      'ghcr-cleanup',
      {
        owner: 'acme-org',
        packages: 'svc/*\nmissing-pkg',
        // The old name of github-token still works (with a deprecation warning).
        token: GH_TOKEN,
        'github-api-url': emu.apiUrl,
        'registry-url': emu.host,
        'keep-n-tagged': '1',
        'deletes-per-minute': '6000'
      },
      {}
    );
    expect(run.code).not.toBe(0);
    expect(errorLines(run).join('\n')).toContain('missing-pkg: package not found');
    expect(deleted(run)).toEqual([...all(oldA), ...all(oldB)].sort());
  });

  maybe('wildcards with a token that cannot list packages: says which token is needed', async () => {
    const p = fresh();
    await p.image('x', ['v1']);
    emu.listingForbidden = true;
    try {
      const run = await cleanup(p, {packages: 'app*', 'keep-n-tagged': '1'});
      expect(run.code).not.toBe(0);
      expect(errorLines(run).join('\n')).toContain('GITHUB_TOKEN cannot list packages');
    } finally {
      emu.listingForbidden = false;
    }
  });

  maybe('two runs at the same time on one package: both finish, nothing kept is broken', async () => {
    const p = fresh();
    const images: Pushed[] = [];
    for (let i = 0; i < 6; i++) images.push(await p.image(`c${i}`, [`c${i}`], {attestations: true}));
    const [one, two] = await Promise.all([cleanup(p, {'keep-n-tagged': '2'}), cleanup(p, {'keep-n-tagged': '2'})]);
    ok(one);
    ok(two);
    expect([...state(p).keys()].sort()).toEqual(all(images[4], images[5]));
    await assertTagsPull(p);
  });
});

describe('ghcr-cleanup: manifests kept between runs', () => {
  /** "N manifest read(s), M from the manifest cache" from a run's package line. */
  const reads = (run: ActionRun, p: GhcrImages): [number, number] => {
    const line = run.stdout.split('\n').find(l => l.startsWith(`${p.pkg}: `) && l.includes('manifest read')) ?? '';
    const m = line.match(/(\d+) manifest read\(s\)(?:, (\d+) from the manifest cache)?/);
    return [Number(m?.[1] ?? -1), Number(m?.[2] ?? 0)];
  };

  maybe('a scheduled run on a fresh runner reads only the versions it has not seen, and decides the same', async () => {
    const service = await startActionsCache();
    try {
      const p = fresh();
      emu.now = Date.now() - 10 * DAY;
      const old = await p.image('old', ['main'], {attestations: true});
      const kept = await p.image('kept', ['main', 'v1.0.0'], {attestations: true});
      const inputs = {'delete-untagged': 'true', 'dry-run': 'true'};
      // Every job of the schedule sees the same paths on a fresh machine, as hosted runners do.
      const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'cleanup-tools-'));
      const env = {
        ...service.env,
        RUNNER_TOOL_CACHE: tools,
        GITHUB_WORKSPACE: fs.mkdtempSync(path.join(os.tmpdir(), 'ws-'))
      };
      const freshMachine = (): void =>
        fs.rmSync(path.join(tools, 'registry-actions-manifests'), {recursive: true, force: true});
      const first = await cleanup(p, inputs, {...env, GITHUB_RUN_ID: '700'});
      ok(first);
      const versions = all(old, kept).length;
      expect(reads(first, p)).toEqual([versions, 0]);
      expect(service.entries.map(e => [e.finalized, e.key.endsWith('-700-1')])).toEqual([[true, true]]);

      // The next day: one more image; a fresh runner restores the manifests and reads only the new ones.
      const newer = await p.image('newer', ['main'], {attestations: true});
      freshMachine();
      const second = await cleanup(p, inputs, {...env, GITHUB_RUN_ID: '701'});
      ok(second);
      expect(second.stdout).toContain('manifest cache: restored from the Actions cache');
      expect(reads(second, p)).toEqual([all(newer).length, versions]);
      expect(deleted(second)).toEqual(all(old));
      freshMachine();
      const third = await cleanup(p, inputs, {...env, GITHUB_RUN_ID: '702'});
      expect(reads(third, p)).toEqual([0, versions + all(newer).length]);
      // A stored manifest is only used when its bytes hash to its digest: corrupt copies are read again.
      const dir = path.join(tools, 'registry-actions-manifests');
      const [id] = fs.readdirSync(dir);
      for (const f of fs.readdirSync(path.join(dir, id, 'sha256')))
        fs.writeFileSync(path.join(dir, id, 'sha256', f), '{}');
      const fourth = await cleanup(p, inputs, {...env, GITHUB_RUN_ID: '703'});
      ok(fourth);
      expect(reads(fourth, p)).toEqual([versions + all(newer).length, 0]);
      expect(deleted(fourth)).toEqual(deleted(third));
    } finally {
      await service.stop();
    }
  });
});

describe("the GitHub emulator is held to GitHub's API description", () => {
  test('an undocumented route, an undocumented status and a body missing a required field are each caught', () => {
    const api = githubApiDescription();
    expect(api.check('GET', '/orgs/acme/packages/container/app/versions/1/tags', 200, [])).toEqual([
      expect.stringContaining('no such route')
    ]);
    expect(api.check('DELETE', '/orgs/acme/packages/container/app/versions/1', 400, {message: 'x'})).toEqual([
      expect.stringContaining('status 400 is not documented')
    ]);
    expect(
      api.check('GET', '/orgs/acme/packages/container/app/versions', 200, [{id: 1, name: 'sha256:x', url: 'u'}])
    ).toEqual(expect.arrayContaining([expect.stringContaining("required property 'created_at'")]));
    const version = api.example<Array<Record<string, unknown>>>('package-versions-for-org')[0];
    expect(api.check('GET', '/orgs/acme/packages/container/app/versions', 200, [version])).toEqual([]);
    expect(api.check('GET', '/users/acme/packages/container/app/versions', 200, [{...version, id: '7'}])).toEqual([
      expect.stringContaining('/0/id must be integer')
    ]);
  });
});
