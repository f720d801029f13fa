import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {GhcrEmulator} from '../helpers/ghcr.js';
import {GhcrImages} from '../helpers/ghcr-images.js';
import {Registry, manifestDigest, startRegistry} from '../helpers/registry.js';
import {ActionRun, errorLines, runBundledAction} from '../helpers/run-action.js';
import {nodeRuntimes, requireTool} from '../helpers/tools.js';

const ready = !!requireTool('docker-registry') && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;
let reg: Registry;

beforeAll(async () => {
  if (ready) reg = (await startRegistry('none')) as Registry;
});
afterAll(async () => reg?.stop());

/** The image helper speaks plain registry API, so it can fill any registry. */
const images = (repo: string): GhcrImages => new GhcrImages({host: reg.host} as GhcrEmulator, 'team', repo);

/** A run with a tool cache of its own unless given one (where manifests are kept between runs). */
const cleanup = (
  repo: string,
  inputs: Record<string, string>,
  tools = fs.mkdtempSync(path.join(os.tmpdir(), 'cleanup-tools-'))
): Promise<ActionRun> =>
  runBundledAction(
    'ghcr-cleanup',
    {backend: 'oci', 'registry-url': reg.host, packages: `team/${repo}`, token: '', ...inputs},
    {RUNNER_TOOL_CACHE: tools}
  );

async function present(p: GhcrImages, digest: string): Promise<boolean> {
  return (await p.client.headManifest(p.repo, digest)) !== undefined;
}

describe('cleanup on any OCI registry (backend: oci) with the same planner', () => {
  maybe(
    'keep-n-tagged removes old images with their platforms and signatures; dry run agrees; kept tags pull',
    async () => {
      const p = images('app');
      const a = await p.image('a', ['v1'], {created: '2026-01-01T00:00:00Z', attestations: true});
      const b = await p.image('b', ['v2'], {created: '2026-02-01T00:00:00Z'});
      const sigB = await p.legacySignature(b.digest);
      const c = await p.image('c', ['v3', 'latest'], {created: '2026-03-01T00:00:00Z'});
      const sigC = await p.legacySignature(c.digest);
      const dry = await cleanup('app', {'keep-n-tagged': '1', 'dry-run': 'true'});
      expect({code: dry.code, errors: errorLines(dry)}).toEqual({code: 0, errors: []});
      const planned = (JSON.parse(dry.outputs.deleted) as Array<{digest: string}>).map(d => d.digest).sort();
      expect(planned).toEqual([a.digest, ...a.children, b.digest, ...b.children, sigB.digest].sort());
      const run = await cleanup('app', {'keep-n-tagged': '1'});
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      expect((JSON.parse(run.outputs.deleted) as Array<{digest: string}>).map(d => d.digest).sort()).toEqual(planned);
      for (const d of planned) expect(await present(p, d)).toBe(false);
      for (const d of [c.digest, ...c.children, sigC.digest]) expect(await present(p, d)).toBe(true);
      expect(await manifestDigest(`${reg.host}/team/app:v3`)).toBe(c.digest);
    }
  );

  maybe('the next run reads tags afresh but takes manifests and configs from the kept store', async () => {
    const p = images('kept');
    const a = await p.image('a', ['v1'], {created: '2026-01-01T00:00:00Z', attestations: true});
    const b = await p.image('b', ['v2'], {created: '2026-02-01T00:00:00Z'});
    const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'cleanup-tools-'));
    const inputs = {'keep-n-tagged': '1', 'dry-run': 'true'};
    const first = await cleanup('kept', inputs, tools);
    const second = await cleanup('kept', inputs, tools);
    const requests = (r: ActionRun): number =>
      (JSON.parse(r.outputs.counts) as {registryRequests: number}).registryRequests;
    const versions = [a.digest, ...a.children, b.digest, ...b.children].length;
    // An empty store: what the listing read counts as read, not as cache hits.
    expect(first.stdout).toContain(`, ${versions} manifest read(s)`);
    expect(first.stdout).not.toContain('from the manifest cache');
    expect(second.stdout).toContain(`0 manifest read(s), ${versions} from the manifest cache`);
    // Saved: each child manifest and its config; read again: the tag list and each tag (a tag may have
    // moved). The referrers API is asked once: distribution answers 404 (no API), so new signatures
    // are found through their tags in the tag list.
    const children = a.children.length + b.children.length;
    expect(requests(first) - requests(second)).toBe(2 * children);
    expect(requests(second)).toBe(1 + 2 + 1);
    expect(JSON.parse(second.outputs.deleted)).toEqual(JSON.parse(first.outputs.deleted));
  });

  maybe('removing one tag keeps the image and its other tags', async () => {
    const p = images('untag');
    const img = await p.image('x', ['v1.0.0', 'latest', 'pr-9']);
    const run = await cleanup('untag', {'delete-tags': 'pr-*'});
    expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
    expect((await p.client.listTags(p.repo)).sort()).toEqual(['latest', 'v1.0.0']);
    expect(await manifestDigest(`${reg.host}/team/untag:latest`)).toBe(img.digest);
    for (const d of img.children) expect(await present(p, d)).toBe(true);
  });

  // The OCI API cannot say which tags point at a digest: the check before a delete reads the tag list and
  // resolves every tag. recheck wave does that once a wave instead of once a deletion.
  maybe('recheck wave reads the tags once a wave, and deletes what recheck true deletes', async () => {
    const T = 12;
    const setUp = async (repo: string): Promise<string[]> => {
      const p = images(repo);
      const pushed = [];
      for (let i = 0; i < T; i++)
        pushed.push(
          await p.image(`w${i}`, [`t${i}`], {created: `2026-01-${String(i + 1).padStart(2, '0')}T00:00:00Z`})
        );
      return pushed
        .slice(0, T - 2)
        .flatMap(x => [x.digest, ...x.children])
        .sort();
    };
    const run = async (repo: string, recheck: string): Promise<{deleted: string[]; requests: number}> => {
      const r = await cleanup(repo, {'keep-n-tagged': '2', recheck});
      expect({code: r.code, errors: errorLines(r)}).toEqual({code: 0, errors: []});
      return {
        deleted: (JSON.parse(r.outputs.deleted) as Array<{digest: string}>).map(d => d.digest).sort(),
        requests: (JSON.parse(r.outputs.counts) as {registryRequests: number}).registryRequests
      };
    };
    const plannedEach = await setUp('each');
    const plannedWave = await setUp('wave');
    const each = await run('each', 'true');
    const wave = await run('wave', 'wave');
    expect(each.deleted).toEqual(plannedEach);
    expect(wave.deleted).toEqual(plannedWave);
    // N images go, K stay, each with C platform manifests. Deleting an image deletes its tag, so the
    // tags left shrink as the run goes. recheck true, before each delete: the tag list, a HEAD of each tag
    // left and of the version. recheck wave: two waves (the images, then their platforms), each a tag list,
    // a HEAD of each tag left and a HEAD of each version in it.
    const [N, K, C] = [T - 2, 2, 2];
    let checksEach = 0;
    for (let k = 0; k < N; k++) checksEach += 1 + (T - k) + 1;
    checksEach += N * C * (1 + K + 1);
    const checksWave = 1 + T + N + (1 + K + N * C);
    expect(each.requests - wave.requests).toBe(checksEach - checksWave);
  });

  maybe('a run says beforehand what reading every tag before each delete will cost, a dry run too', async () => {
    const p = images('many-tags');
    await Promise.all(Array.from({length: 150}, (_, i) => p.platform(`m${i}`, 'linux/amd64', 64, `t${i}`)));
    const said = (r: ActionRun): string | undefined =>
      r.stdout.split('\n').find(l => l.includes('recheck: true reads the tag list'));
    const dry = await cleanup('many-tags', {'keep-n-tagged': '1', 'dry-run': 'true'});
    expect({code: dry.code, errors: errorLines(dry)}).toEqual({code: 0, errors: []});
    // 149 deletions of one tag each: 152 + 151 + … + 4 requests; wave: 150 + 1 and 50 + 1 tags, a HEAD each.
    expect(said(dry)).toContain('before each of 149 deletions: about 11622 requests');
    expect(said(dry)).toContain('(about 351)');
    const wave = await cleanup('many-tags', {'keep-n-tagged': '1', 'dry-run': 'true', recheck: 'wave'});
    expect(said(wave)).toBeUndefined();
  });

  describe.each(nodeRuntimes())('on %s (action.yml declares node24)', (_label, node) => {
    (ready && node ? test : test.skip)('a dry run plans without changing anything', async () => {
      const p = images('runtime');
      const old = await p.image('o', ['old'], {created: '2026-01-01T00:00:00Z'});
      await p.image('n', ['new'], {created: '2026-02-01T00:00:00Z'});
      const run = await runBundledAction(
        'ghcr-cleanup',
        {backend: 'oci', 'registry-url': reg.host, packages: 'team/runtime', 'keep-n-tagged': '1', 'dry-run': 'true'},
        {},
        {node}
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      expect((JSON.parse(run.outputs.deleted) as Array<{digest: string}>).map(d => d.digest)).toContain(old.digest);
      expect(await present(p, old.digest)).toBe(true);
    });
  });
});
