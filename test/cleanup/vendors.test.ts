import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, test} from '@jest/globals';
import {Credential} from '../../src/shared/registry/auth.js';
import {GhcrImages, Pushed} from '../helpers/ghcr-images.js';
import {ActionRun, errorLines, runBundledAction} from '../helpers/run-action.js';
import {ChildProcess} from 'node:child_process';
import {requireTool} from '../helpers/tools.js';
import {ApiRequest, VendorRegistry} from '../helpers/vendor-registry.js';
import {ProtoDescription} from '../helpers/proto-spec.js';
import {SmithyModel} from '../helpers/smithy.js';
import {VendorApiDescription} from '../helpers/vendor-spec.js';
import {VENDORS, VendorCase} from '../helpers/vendors/index.js';
import {ecrOperation} from '../helpers/vendors/ecr.js';

/**
 * The same scenarios on every registry backend of ghcr-cleanup, each against an emulator of the
 * vendor's API held to its published description (test/fixtures/vendor-specs), with the real registry API behind
 * it: exact surviving digests after each run, every answer within the description.
 */
const ready = !!requireTool('docker-registry');
const DAY = 86_400_000;

describe.each(VENDORS.map(v => [v.name, v] as const))('ghcr-cleanup backend %s', (_name, vendor: VendorCase) => {
  const maybe = ready ? test : test.skip;
  // A scenario that does not apply to a backend is not defined for it (not reported as skipped).
  const only = (cond: boolean): typeof test.skip => (cond ? maybe : ((() => undefined) as unknown as typeof test.skip));
  let emu: VendorRegistry;
  let seq = 0;

  beforeAll(async () => {
    if (!ready) return;
    emu = (await vendor.start()) as VendorRegistry;
  }, 30000);
  afterAll(async () => emu?.stop());
  afterEach(() => {
    if (!emu) return;
    expect(emu.violations.splice(0)).toEqual([]);
  });

  const fresh = (): GhcrImages => new GhcrImages(emu, vendor.namespace, `app${++seq}`, vendor.credential as Credential);
  const survivors = (p: GhcrImages): string[] =>
    emu
      .active(p.repo)
      .map(m => m.digest)
      .sort();
  const tagsOf = (p: GhcrImages, digest: string): string[] => [...(emu.find(p.repo, digest)?.tags ?? [])].sort();
  const all = (...ps: Pushed[]): string[] => [...new Set(ps.flatMap(p => [p.digest, ...p.children]))].sort();
  const deleted = (run: ActionRun): string[] =>
    (JSON.parse(run.outputs.deleted || '[]') as Array<{digest: string}>).map(d => d.digest).sort();
  const ok = (run: ActionRun): void => expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
  const cleanup = (p: GhcrImages, inputs: Record<string, string>): Promise<ActionRun> =>
    runBundledAction(
      'ghcr-cleanup',
      {packages: p.repo, 'deletes-per-minute': '6000', ...vendor.inputs(emu), ...inputs},
      {RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'cleanup-tools-')), ...vendor.env(emu)}
    );

  maybe('keep-n-tagged counts images: older multi-arch images go whole, with their attestation manifests', async () => {
    const p = fresh();
    const a = await p.image('a', ['v1'], {attestations: true});
    const b = await p.image('b', ['v2'], {attestations: true});
    const c = await p.image('c', ['v3', 'latest'], {attestations: true});
    const run = await cleanup(p, {'keep-n-tagged': '1'});
    ok(run);
    expect(deleted(run)).toEqual(all(a, b));
    expect(survivors(p)).toEqual(all(c));
    expect(tagsOf(p, c.digest)).toEqual(['latest', 'v3']);
  });

  maybe('signatures and referrers follow their image: a deleted image’s go, a kept image’s stay', async () => {
    const p = fresh();
    const doomed = await p.image('doomed', ['old']);
    const legacyDoomed = await p.legacySignature(doomed.digest);
    const bundleDoomed = await p.bundleSignature(doomed);
    const kept = await p.image('kept', ['new']);
    const legacyKept = await p.legacySignature(kept.digest);
    const bundleKept = await p.bundleSignature(kept);
    const run = await cleanup(p, {'keep-n-tagged': '1'});
    ok(run);
    expect(deleted(run)).toEqual(all(doomed, legacyDoomed, bundleDoomed.bundle, bundleDoomed.fallback));
    expect(survivors(p)).toEqual(all(kept, legacyKept, bundleKept.bundle, bundleKept.fallback));
  });

  only(vendor.untagged)(
    'delete-untagged reaches a manifest pushed by digest with no tag, never a kept image’s platforms',
    async () => {
      const p = fresh();
      const kept = await p.image('kept', ['v1']);
      const lone = await p.platform('lone', 'linux/amd64', 256);
      const run = await cleanup(p, {'delete-untagged': 'true'});
      ok(run);
      expect(deleted(run)).toEqual([lone.digest]);
      expect(survivors(p)).toEqual(all(kept));
    }
  );

  only(!vendor.untagged)('a rule about untagged manifests is refused before anything is deleted', async () => {
    const p = fresh();
    const kept = await p.image('kept', ['v1']);
    const run = await cleanup(p, {'delete-untagged': 'true', 'keep-n-tagged': '0'});
    expect(run.code).toBe(1);
    expect(errorLines(run).join('\n')).toContain('cannot be honoured');
    expect(survivors(p)).toEqual(all(kept));
  });

  maybe('delete-orphans: a signature whose image is gone is deleted (on Docker Hub too: it is a tag)', async () => {
    const p = fresh();
    const kept = await p.image('kept', ['v1']);
    const keptSig = await p.legacySignature(kept.digest);
    // A signature left behind by an image deleted by hand: its subject is nowhere in the repository.
    const orphan = await p.legacySignature(`sha256:${'ab'.repeat(32)}`);
    const run = await cleanup(p, {'delete-orphans': 'true', 'keep-n-tagged': '5'});
    ok(run);
    expect(deleted(run)).toEqual([orphan.digest]);
    expect(survivors(p)).toEqual(all(kept, keptSig));
  });

  maybe('a partial index (a platform gone) is deleted with delete-partial, and only then', async () => {
    const p = fresh();
    const partial = await p.image('partial', ['partial']);
    const good = await p.image('good', ['good']);
    await emu.deleteManifest(p.repo, partial.children[0]);
    const kept = await cleanup(p, {'delete-tags': 'nothing-matches'});
    ok(kept);
    expect(deleted(kept)).toEqual([]);
    const run = await cleanup(p, {'delete-partial': 'true'});
    ok(run);
    expect(deleted(run)).toEqual([partial.digest, partial.children[1]].sort());
    expect(survivors(p)).toEqual(all(good));
  });

  maybe('removing one tag of a multi-tagged image keeps the image and its other tags', async () => {
    const p = fresh();
    const img = await p.image('img', ['v1.0.0', 'pr-7']);
    const run = await cleanup(p, {'delete-tags': 'pr-*'});
    ok(run);
    expect(deleted(run)).toEqual([]);
    expect(survivors(p)).toEqual(all(img));
    expect(tagsOf(p, img.digest)).toEqual(['v1.0.0']);
    expect(await p.client.headManifest(p.repo, 'pr-7')).toBeUndefined();
  });

  maybe('older-than uses the push time the registry’s API reports', async () => {
    const p = fresh();
    emu.now = Date.now() - 40 * DAY;
    const old = await p.image('old', ['v1']);
    emu.now = Date.now() - DAY;
    const recent = await p.image('recent', ['v2']);
    const run = await cleanup(p, {'delete-tags': 'v*', 'older-than': '30d'});
    ok(run);
    expect(deleted(run)).toEqual(all(old));
    expect(survivors(p)).toEqual(all(recent));
  });

  maybe('a dry run reports exactly what the real run then deletes, and changes nothing', async () => {
    const p = fresh();
    const imgs = [];
    for (const s of ['a', 'b', 'c', 'd']) imgs.push(await p.image(s, [`v-${s}`], {attestations: s === 'b'}));
    await p.legacySignature(imgs[1].digest);
    const before = survivors(p);
    const dry = await cleanup(p, {'keep-n-tagged': '2', 'dry-run': 'true'});
    ok(dry);
    expect(survivors(p)).toEqual(before);
    const real = await cleanup(p, {'keep-n-tagged': '2'});
    ok(real);
    expect(deleted(real)).toEqual(deleted(dry));
    expect(deleted(real).length).toBeGreaterThan(0);
    expect(survivors(p)).toEqual(before.filter(d => !deleted(dry).includes(d)));
  });

  maybe('a push during the run: an image tagged since planning is not deleted', async () => {
    const p = fresh();
    const a = await p.image('a', ['v1']);
    const b = await p.image('b', ['v2']);
    const c = await p.image('c', ['v3']);
    let pushed = false;
    emu.onApiCall = async r => {
      if (pushed || !vendor.isDelete(r)) return;
      pushed = true;
      // A release tags the second image about to be deleted while the first is being deleted.
      await p.tag(b, 'hotfix');
    };
    try {
      const run = await cleanup(p, {'keep-n-tagged': '1'});
      ok(run);
      expect(deleted(run)).toEqual(all(a));
      expect(survivors(p)).toEqual(all(b, c));
      // Where the deletion goes by tag (ECR, Artifact Registry, Hub), the planned tag goes and the
      // image stays with the new one; elsewhere the fresh read before the delete skips it whole.
      expect(tagsOf(p, b.digest)).toEqual(vendor.conditionalDelete ? ['hotfix'] : ['hotfix', 'v2']);
      const skipped = JSON.parse(run.outputs.skipped || '[]') as Array<{digest: string; reason: string}>;
      expect(skipped).toEqual(
        expect.arrayContaining([expect.objectContaining({digest: b.digest, reason: expect.stringContaining('hotfix')})])
      );
    } finally {
      emu.onApiCall = undefined;
    }
  });

  /** Runs a cleanup with `inject` called once, before the first request `when` selects. */
  const during = async (
    p: GhcrImages,
    inputs: Record<string, string>,
    when: (r: ApiRequest) => boolean,
    inject: () => Promise<void>
  ): Promise<ActionRun> => {
    let done = false;
    emu.onApiCall = async r => {
      if (done || !when(r)) return;
      done = true;
      await inject();
    };
    try {
      return await cleanup(p, inputs);
    } finally {
      emu.onApiCall = undefined;
    }
  };
  const mentions = (r: ApiRequest, ...what: string[]): boolean =>
    what.some(w => decodeURIComponent(`${r.url.pathname}${r.url.search}`).includes(w) || r.body.includes(w));

  maybe('a tag moved during the run from a planned image onto a kept one stays on the kept one', async () => {
    const p = fresh();
    const old = await p.image('old', ['v1', 'stable']);
    const current = await p.image('current', ['v2']);
    const run = await during(
      p,
      {'keep-n-tagged': '1'},
      r => mentions(r, old.digest, '/tags/stable', '/tags/v1'),
      // A release moves stable onto the current image while the old one is being deleted.
      () => p.tag(current, 'stable')
    );
    ok(run);
    expect(survivors(p)).toEqual(all(current));
    expect(tagsOf(p, current.digest)).toEqual(['stable', 'v2']);
  });

  maybe('untag: a tag moved to another image meanwhile is left alone there', async () => {
    const p = fresh();
    const img = await p.image('img', ['v1.0.0', 'pr-7']);
    const other = await p.image('other', ['v2.0.0']);
    const run = await during(
      p,
      {'delete-tags': 'pr-*', 'keep-n-tagged': '5'},
      r => mentions(r, 'pr-7'),
      () => p.tag(other, 'pr-7')
    );
    ok(run);
    expect(survivors(p)).toEqual(all(img, other));
    expect(tagsOf(p, img.digest)).toEqual(['v1.0.0']);
    expect(tagsOf(p, other.digest)).toEqual(['pr-7', 'v2.0.0']);
  });

  only(vendor.conditionalDelete)(
    'a tag written on an image as its deletion is sent keeps it: the registry makes the deletion conditional',
    async () => {
      const p = fresh();
      const a = await p.image('a', ['v1']);
      const b = await p.image('b', ['v2']);
      const run = await during(
        p,
        {'keep-n-tagged': '1'},
        r => vendor.isDelete(r) && mentions(r, a.digest, '/tags/v1/'),
        () => p.tag(a, 'hotfix')
      );
      ok(run);
      expect(survivors(p)).toEqual(all(a, b));
      expect(tagsOf(p, a.digest)).toEqual(['hotfix']);
      expect(deleted(run)).toEqual([]);
      const skipped = JSON.parse(run.outputs.skipped || '[]') as Array<{digest: string; reason: string}>;
      expect(skipped).toEqual(
        expect.arrayContaining([expect.objectContaining({digest: a.digest, reason: expect.stringContaining('hotfix')})])
      );
      expect(skipped.map(x => x.digest).sort()).toEqual(all(a));
    }
  );

  only(vendor.name === 'ecr')(
    'ECR: a cleanup goes in waves: 12 images of 2 platforms each in 2 BatchDeleteImage calls, not one per manifest',
    async () => {
      const p = fresh();
      const imgs = [];
      for (let i = 0; i < 12; i++) imgs.push(await p.image(`w${i}`, [`v${i}`, `r${i}`]));
      const ops: string[] = [];
      emu.onApiCall = r => void (r.url.pathname === '/' && ops.push(ecrOperation(r) ?? ''));
      let run: ActionRun;
      try {
        run = await cleanup(p, {'keep-n-tagged': '0', 'verify-after': 'false'});
      } finally {
        emu.onApiCall = undefined;
      }
      ok(run);
      expect(deleted(run)).toEqual(all(...imgs));
      expect(survivors(p)).toEqual([]);
      expect(ops.filter(o => o === 'BatchDeleteImage')).toHaveLength(2);
      // The listing, the two deletions and the reads that say what happened: a handful, not 60.
      expect(ops.filter(o => o !== 'GetAuthorizationToken').length).toBeLessThanOrEqual(7);
    }
  );

  only(vendor.name === 'harbor')(
    'Harbor: accessories carry only the tags Harbor reports; a kept image’s untagged signatures pass verify-after',
    async () => {
      const p = fresh();
      const old = await p.image('old', ['v1']);
      const oldSig = await p.referrer(old, 'cosign-oci11');
      const kept = await p.image('kept', ['v2']);
      const keptSigs = [
        await p.referrer(kept, 'cosign-oci11'),
        await p.referrer(kept, 'notation'),
        await p.referrer(kept, 'spdx')
      ];
      const legacy = await p.legacySignature(kept.digest);
      const run = await cleanup(p, {'keep-n-tagged': '1'});
      ok(run);
      expect(deleted(run)).toEqual(all(old, oldSig));
      expect(survivors(p)).toEqual(all(kept, legacy, ...keptSigs));
      expect(tagsOf(p, legacy.digest)).toEqual([`${kept.digest.replace(':', '-')}.sig`]);
    }
  );

  maybe(
    'a cancelled run (SIGTERM) finishes the image being deleted, starts no other, and says what is left',
    async () => {
      const p = fresh();
      const a = await p.image('a', ['v1'], {attestations: true});
      const b = await p.image('b', ['v2'], {attestations: true});
      const c = await p.image('c', ['v3']);
      let child: ChildProcess | undefined;
      let sent = false;
      emu.onApiCall = async r => {
        if (sent || !vendor.isDelete(r)) return;
        sent = true;
        // The job is cancelled as the first deletion goes out (the runner sends SIGINT, then SIGTERM).
        child?.kill('SIGTERM');
        await new Promise(res => setTimeout(res, 300));
      };
      let run: ActionRun;
      try {
        run = await runBundledAction(
          'ghcr-cleanup',
          {packages: p.repo, 'deletes-per-minute': '6000', 'keep-n-tagged': '1', ...vendor.inputs(emu)},
          {RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'cleanup-tools-')), ...vendor.env(emu)},
          {onSpawn: x => (child = x)}
        );
      } finally {
        emu.onApiCall = undefined;
      }
      expect(sent).toBe(true);
      expect(run.code).toBe(1);
      expect(run.outputs.outcome).toBe('incomplete');
      expect(errorLines(run).join('\n')).toContain('stopped by SIGTERM');
      // Each planned image went whole or was not started (ECR deletes a wave of images at once, the
      // others one at a time): nothing is half deleted, and left names exactly what was not started.
      const gone = deleted(run);
      const now = survivors(p);
      for (const x of [a, b])
        expect(all(x).every(d => gone.includes(d)) || all(x).every(d => now.includes(d))).toBe(true);
      expect(now).toEqual(expect.arrayContaining(all(c)));
      const left = JSON.parse(run.outputs.left) as Array<{digest: string}>;
      expect(left.map(l => l.digest).sort()).toEqual(all(a, b).filter(d => !gone.includes(d)));
      if (vendor.name !== 'ecr') expect(left.length).toBeGreaterThan(0);
    }
  );

  maybe('a throttling answer mid-run is waited out; the run completes', async () => {
    const p = fresh();
    const a = await p.image('a', ['v1']);
    const b = await p.image('b', ['v2']);
    emu.faults.push({...vendor.throttle, times: 1});
    const run = await cleanup(p, {'keep-n-tagged': '1'});
    ok(run);
    expect(emu.faults.every(f => f.times === 0)).toBe(true);
    expect(deleted(run)).toEqual(all(a));
    expect(survivors(p)).toEqual(all(b));
  });

  only(vendor.name === 'ecr')(
    "ECR's own lifecycle preview is compared with the plan: the platforms of a kept image it would expire are named",
    async () => {
      const p = fresh();
      emu.now = Date.now() - 40 * DAY;
      const old = await p.image('old', ['v1']);
      emu.now = Date.now() - 3 * DAY;
      const kept = await p.image('kept', ['v2']);
      const policy = JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: {tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1},
            action: {type: 'expire'}
          },
          {
            rulePriority: 2,
            selection: {tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1},
            action: {type: 'expire'}
          }
        ]
      });
      const run = await cleanup(p, {policy, 'ecr-lifecycle-preview': 'true', 'dry-run': 'true'});
      ok(run);
      expect(deleted(run)).toEqual(all(old));
      const [preview] = JSON.parse(run.outputs['ecr-preview']) as Array<{
        source: string;
        agreed: number;
        breaks: number;
        onlyEcr: Array<{digest: string; kept: string}>;
        onlyPlan: unknown[];
      }>;
      expect(preview.source).toBe('input');
      expect(preview.agreed).toBe(3);
      expect(preview.onlyPlan).toEqual([]);
      expect(preview.onlyEcr.map(e => e.digest).sort()).toEqual([...kept.children].sort());
      expect(preview.breaks).toBe(2);
      expect(run.stdout).toContain(
        "ECR's lifecycle policy (input) would expire 2 manifest(s) that images this plan keeps need"
      );
      expect(survivors(p)).toEqual(all(old, kept));
    }
  );

  maybe('a listing that fails on its second page deletes nothing in that repository', async () => {
    const p = fresh();
    for (const s of ['a', 'b', 'c']) await p.image(s, [`v-${s}`]);
    const before = survivors(p);
    emu.maxPage = 2;
    const fault = {...vendor.secondPage, times: 20};
    emu.faults.push(fault);
    try {
      const run = await cleanup(p, {'keep-n-tagged': '1'});
      expect(survivors(p)).toEqual(before);
      expect(run.stdout).toContain('nothing changed: the version list could not be read completely');
      expect(fault.times).toBeLessThan(20);
    } finally {
      emu.maxPage = 10_000;
      fault.times = 0;
    }
  });
});

describe('the vendor descriptions hold the emulators to what they document', () => {
  (ready ? test : test.skip)(
    'an undocumented route or status, an unknown field and a wrong type are each caught',
    () => {
      const acr = new VendorApiDescription('azure-acr/containerregistry.json', {multiSegment: ['name']});
      expect(acr.check('POST', '/acr/v1/team/app/_manifests', 200, {})).toEqual([
        expect.stringContaining('no such route')
      ]);
      expect(acr.check('GET', '/acr/v1/team/app/_manifests', 200, {manifests: 'x'})).toEqual([
        expect.stringContaining('/manifests must be array')
      ]);
      const harbor = new VendorApiDescription('harbor/swagger.yaml');
      expect(
        harbor.check('DELETE', '/api/v2.0/projects/p/repositories/r/artifacts/sha256:x', 412, {errors: []})
      ).toEqual([expect.stringContaining('status 412 is not documented')]);
      const hub = new VendorApiDescription('docker-hub/latest.yaml', {
        exceptions: ['DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/']
      });
      // The description declares one image per tag; the service sends a list (the backend reads both).
      expect(
        hub.check('GET', '/v2/namespaces/acme/repositories/app/tags', 200, {
          count: 1,
          results: [{name: 'v1', images: []}]
        })
      ).toEqual(expect.arrayContaining([expect.stringContaining('/results/0/images must be object')]));
      expect(hub.check('DELETE', '/v2/repositories/acme/app/tags/v1/', 204, undefined)).toEqual([]);
      expect(hub.check('DELETE', '/v2/namespaces/acme/repositories/app', 204, undefined)).toEqual([
        expect.stringContaining('no such route')
      ]);
      const ecr = new SmithyModel('aws-ecr/ecr-2015-09-21.json', 'com.amazonaws.ecr');
      expect(
        ecr.checkResponse('DescribeImages', 200, {imageDetails: [{imageDigest: 'sha256:x', pushedAt: 1}]})
      ).toEqual([expect.stringContaining('pushedAt: not a member')]);
      expect(ecr.checkRequest('BatchDeleteImage', {imageIds: []})).toEqual(
        expect.arrayContaining([
          expect.stringContaining('repositoryName: required'),
          expect.stringContaining('fewer than 1')
        ])
      );
      expect(ecr.checkResponse('ListImages', 400, {__type: 'ImageNotFoundException'})).toEqual([
        expect.stringContaining('error ImageNotFoundException is not declared')
      ]);
      const gar = new ProtoDescription('google-artifact-registry', [
        'service.proto',
        'artifact.proto',
        'version.proto',
        'tag.proto'
      ]);
      expect(gar.route('DELETE', '/v1/projects/p/locations/l/repositories/r/dockerImages/x')).toBeUndefined();
      expect(gar.check('ListDockerImagesResponse', {dockerImages: [{uri: 'x', uploadTime: 7, size: 1}]})).toEqual([
        expect.stringContaining('uploadTime: not a google.protobuf.Timestamp'),
        expect.stringContaining('size: not a field of DockerImage')
      ]);
    }
  );
});
