import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, test} from '@jest/globals';
import {Credential} from '../../src/shared/registry/auth.js';
import {GhcrImages, blobSizes, childrenOf, distinctBytes} from '../helpers/ghcr-images.js';
import {ActionRun, errorLines, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';
import {VendorRegistry} from '../helpers/vendor-registry.js';
import {VENDORS, VendorCase} from '../helpers/vendors/index.js';

/**
 * The audit's inventory on every cleanup backend, each against the emulator of the vendor's API held to
 * its published description (as the cleanup tests): exact counts and bytes from the seeded blobs, and a
 * second run that reads no manifest.
 */
const ready = !!requireTool('docker-registry');

describe.each(VENDORS.map(v => [v.name, v] as const))('audit on backend %s', (_name, vendor: VendorCase) => {
  const maybe = ready ? test : test.skip;
  let emu: VendorRegistry;
  beforeAll(async () => {
    if (ready) emu = (await vendor.start()) as VendorRegistry;
  }, 30000);
  afterAll(async () => emu?.stop());
  afterEach(() => {
    if (emu) expect(emu.violations.splice(0)).toEqual([]);
  });

  maybe(
    'exact inventory: shared blobs once, untagged images where the API lists them, reclaimable, signatures',
    async () => {
      const p = new GhcrImages(emu, vendor.namespace, 'audited', vendor.credential as Credential);
      const a = await p.image('a', ['v1']);
      const aKids = await childrenOf(p, a);
      await p.image('a', ['v2'], {reuse: aKids, created: '2026-02-01T00:00:00Z'});
      const c = await p.image('c', ['v3', 'latest']);
      const sig = await p.legacySignature(c.digest);
      const lone = vendor.untagged ? [await p.platform('lone', 'linux/amd64', 300)] : [];
      const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-tools-'));
      const audit = (): Promise<ActionRun> =>
        runBundledAction(
          'audit',
          {
            packages: p.repo,
            ...vendor.inputs(emu),
            'keep-n-tagged': '1',
            ...(vendor.untagged ? {'delete-untagged': 'true'} : {})
          },
          {RUNNER_TOOL_CACHE: tools, ...vendor.env(emu)}
        );
      const first = await audit();
      expect({code: first.code, errors: errorLines(first)}).toEqual({code: 0, errors: []});
      const report = (
        r: ActionRun
      ): {
        repositories: Array<Record<string, unknown>>;
        requests: {manifestReads: number};
      } => JSON.parse(fs.readFileSync(path.join(r.dir, 'registry-audit.json'), 'utf8'));
      const [inv] = report(first).repositories;
      const cKids = await childrenOf(p, c);
      expect(inv).toMatchObject({
        images: {tagged: 3, untagged: lone.length},
        tags: 4,
        // three indexes, four platform manifests, the signature, the untagged image
        manifests: 8 + lone.length,
        accessories: 1,
        platforms: ['linux/amd64', 'linux/arm64'],
        storedBytes: distinctBytes(blobSizes(aKids), blobSizes(cKids), blobSizes([sig]), blobSizes(lone)),
        reclaimableBytes: distinctBytes(blobSizes(aKids), blobSizes(lone)),
        reclaimableManifests: 4 + lone.length
      });
      expect(first.outputs['stored-bytes']).toBe(String(inv.storedBytes));
      // Nothing was deleted.
      expect(
        emu
          .active(p.repo)
          .map(m => m.digest)
          .sort()
      ).toHaveLength(8 + lone.length);
      // Unchanged: the second run reads no manifest from the registry.
      const second = await audit();
      expect(second.code).toBe(0);
      expect(report(first).requests.manifestReads).toBeGreaterThan(0);
      expect(report(second).requests.manifestReads).toBe(0);
      expect(report(second).repositories[0]).toEqual({...inv});
    }
  );
});
