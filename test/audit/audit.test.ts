import {execFile, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, afterEach, beforeAll, describe, expect, test} from '@jest/globals';
import {GH_TOKEN, GhcrEmulator, startGhcr} from '../helpers/ghcr.js';
import {GhcrImages, Pushed, blobSizes, childrenOf, distinctBytes} from '../helpers/ghcr-images.js';
import {Proxy, startProxy} from '../helpers/proxy.js';
import {Registry, startRegistry} from '../helpers/registry.js';
import {ActionRun, errorLines, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';

const cosign = requireTool('cosign');
const promtool = requireTool('promtool');
const ready = !!requireTool('docker-registry');
const maybe = ready ? test : test.skip;
/** Compliance needs cosign (to sign the images and verify them) and promtool (to check the metrics). */
const maybeSigned = ready && !!cosign && !!promtool ? test : test.skip;
const run = promisify(execFile);

let reg: Registry;
let proxy: Proxy;
let emu: GhcrEmulator;
beforeAll(async () => {
  if (!ready) return;
  reg = (await startRegistry('none')) as Registry;
  proxy = await startProxy(reg.host);
  emu = (await startGhcr()) as GhcrEmulator;
}, 30000);
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  await emu?.stop();
});
afterEach(() => {
  if (emu) expect(emu.violations.splice(0)).toEqual([]);
});

interface Report {
  outcome: string;
  repositories: Array<{
    repository: string;
    images: {tagged: number; untagged: number};
    tags: number;
    manifests: number;
    platforms: string[];
    storedBytes: number;
    reclaimableBytes: number;
    reclaimableManifests: number;
    oldestPush?: string;
    newestPush?: string;
    served: Array<{
      tags: string[];
      digest: string;
      checked: string;
      compliant: boolean;
      failures: Array<{requirement: string; platform?: string; reason: string}>;
    }>;
  }>;
  verifications: {done: number; notVerified: number};
  requests: {manifestReads: number; manifestsStored: number};
}

const report = (r: ActionRun): Report =>
  JSON.parse(fs.readFileSync(path.join(r.dir, 'registry-audit.json'), 'utf8')) as Report;
const metrics = (r: ActionRun): string => fs.readFileSync(path.join(r.dir, 'registry-audit.prom'), 'utf8');
const ok = (r: ActionRun): void => expect({code: r.code, errors: errorLines(r)}).toEqual({code: 0, errors: []});

/** Seeds three images: v1 and v2 share their platform manifests, v3 (also latest) has its own. */
async function seedInventory(
  p: GhcrImages
): Promise<{reclaimable: number; stored: number; blobs: Map<string, number>}> {
  const a = await p.image('inv-a', ['v1'], {created: '2026-01-01T00:00:00Z'});
  const aKids = await childrenOf(p, a);
  await p.image('inv-a', ['v2'], {created: '2026-02-01T00:00:00Z', reuse: aKids});
  const c = await p.image('inv-c', ['v3', 'latest'], {created: '2026-03-01T00:00:00Z'});
  const aBlobs = blobSizes(aKids);
  const cBlobs = blobSizes(await childrenOf(p, c));
  return {
    reclaimable: distinctBytes(aBlobs),
    stored: distinctBytes(aBlobs, cBlobs),
    blobs: new Map([...aBlobs, ...cBlobs])
  };
}

describe('audit: inventory', () => {
  maybe(
    'exact counts and bytes on distribution 2.8 (backend oci): shared blobs once, reclaimable under keep-n-tagged',
    async () => {
      const p = new GhcrImages({host: reg.host}, 'team', 'inv');
      const expected = await seedInventory(p);
      const r = await runBundledAction(
        'audit',
        {backend: 'oci', 'registry-url': reg.host, packages: 'team/inv', 'keep-n-tagged': '1'},
        {RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'audit-tools-'))}
      );
      ok(r);
      const [inv] = report(r).repositories;
      expect(inv).toMatchObject({
        repository: 'team/inv',
        images: {tagged: 3, untagged: 0},
        tags: 4,
        // three indexes, four platform manifests
        manifests: 7,
        platforms: ['linux/amd64', 'linux/arm64'],
        storedBytes: expected.stored,
        reclaimableBytes: expected.reclaimable,
        reclaimableManifests: 4,
        oldestPush: '2026-01-01T00:00:00Z',
        newestPush: '2026-03-01T00:00:00Z',
        served: []
      });
      expect(r.outputs).toMatchObject({
        outcome: 'complete',
        'stored-bytes': String(expected.stored),
        'reclaimable-bytes': String(expected.reclaimable),
        noncompliant: '0'
      });
      // Nothing was deleted.
      expect((await p.client.listTags(p.repo)).sort()).toEqual(['latest', 'v1', 'v2', 'v3']);
    }
  );

  maybe(
    'GHCR (backend ghcr, through the Packages API): untagged images counted, links to the package pages',
    async () => {
      const p = new GhcrImages(emu, 'acme', 'inv');
      const expected = await seedInventory(p);
      const loose = await p.platform('loose', 'linux/amd64', 700);
      const r = await runBundledAction(
        'audit',
        {
          owner: 'acme',
          packages: 'inv',
          'github-token': GH_TOKEN,
          'github-api-url': emu.apiUrl,
          'registry-url': emu.host
        },
        {GITHUB_REPOSITORY: 'acme/inv', RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'audit-tools-'))}
      );
      ok(r);
      const [inv] = report(r).repositories;
      expect(inv).toMatchObject({
        repository: 'inv',
        images: {tagged: 3, untagged: 1},
        tags: 4,
        manifests: 8,
        storedBytes: distinctBytes(expected.blobs, blobSizes([loose])),
        // no retention rule given: nothing reclaimable
        reclaimableBytes: 0
      });
      expect(r.summary).toContain('https://github.com/users/acme/packages/container/package/inv');
      expect(r.summary).toContain('```mermaid\nxychart-beta');
    }
  );
});

describe('audit: compliance', () => {
  maybeSigned(
    'signed, partly attested, stale, unsigned and foreign-signed images; verified against presence; metrics pass promtool; a second run reads no manifest',
    async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-keys-'));
      const env = {PATH: process.env.PATH ?? '', HOME: work, COSIGN_PASSWORD: ''};
      for (const who of ['ours', 'theirs']) {
        fs.mkdirSync(path.join(work, who));
        await run(cosign as string, ['generate-key-pair'], {cwd: path.join(work, who), env});
      }
      const predicate = (name: string, body: unknown): string => {
        const file = path.join(work, name);
        fs.writeFileSync(file, JSON.stringify(body));
        return file;
      };
      const provenance = predicate('provenance.json', {
        buildDefinition: {
          buildType: 'https://actions.github.io/buildtypes/workflow/v1',
          externalParameters: {workflow: {ref: 'refs/tags/v1', repository: 'https://github.com/acme/svc', path: 'x'}}
        },
        runDetails: {builder: {id: 'https://github.com/acme/svc/.github/workflows/release.yml@refs/tags/v1'}}
      });
      const sbom = predicate('sbom.json', {bomFormat: 'CycloneDX', specVersion: '1.5', components: []});
      const scan = (name: string, finished: string): string =>
        predicate(name, {
          invocation: {uri: 'x'},
          scanner: {uri: 'pkg:github/aquasecurity/trivy', version: '0', result: {Results: []}},
          metadata: {scanStartedOn: finished, scanFinishedOn: finished}
        });
      const freshScan = scan('fresh.json', new Date(Date.now() - 86_400_000).toISOString());
      const staleScan = scan('stale.json', new Date(Date.now() - 30 * 86_400_000).toISOString());
      const cosignDo = (args: string[]): Promise<unknown> =>
        run(
          cosign as string,
          [...args, '--yes', '--tlog-upload=false', '--use-signing-config=false', '--allow-http-registry'],
          {env}
        );
      const p = new GhcrImages({host: reg.host}, 'team', 'svc');
      const ref = (d: string): string => `${reg.host}/${p.repo}@${d}`;
      const attest = async (who: string, type: string, file: string, digests: string[]): Promise<void> => {
        for (const d of digests)
          await cosignDo([
            'attest',
            '--key',
            path.join(work, who, 'cosign.key'),
            '--type',
            type,
            '--predicate',
            file,
            ref(d)
          ]);
      };
      /** Signs (recursively) and attests an image as the policy asks, SBOMs only on `sbomOn` platforms. */
      const release = async (
        who: string,
        image: Pushed,
        opts: {sbomOn?: string[]; scan?: string} = {}
      ): Promise<void> => {
        const platforms = image.children.length ? image.children : [image.digest];
        await cosignDo(['sign', '--key', path.join(work, who, 'cosign.key'), '--recursive', ref(image.digest)]);
        await attest(who, 'slsaprovenance1', provenance, [...new Set([image.digest, ...platforms])]);
        await attest(who, 'cyclonedx', sbom, opts.sbomOn ?? platforms);
        await attest(who, 'vuln', opts.scan ?? freshScan, platforms);
      };
      const good = await p.image('good', ['v1.0.0'], {created: '2026-11-01T00:00:00Z'});
      await release('ours', good);
      const partial = await p.image('partial', ['v1.1.0'], {created: '2026-11-02T00:00:00Z'});
      await release('ours', partial, {sbomOn: [partial.children[0]]});
      const stale = await p.platform('stale', 'linux/amd64', 512, 'v0.9.0');
      await release('ours', stale, {scan: staleScan});
      const foreign = await p.platform('foreign', 'linux/amd64', 512, 'v0.8.0');
      await release('theirs', foreign);
      await p.platform('unsigned', 'linux/amd64', 512, 'dev');
      const policy = path.join(work, 'policy.yml');
      fs.writeFileSync(
        policy,
        `signer: {key: ${path.join(work, 'ours', 'cosign.pub')}, ignore-tlog: true}
attestations:
  provenance: {repository: acme/svc, signer: {key: ${path.join(work, 'ours', 'cosign.pub')}, ignore-tlog: true}}
  sbom: {format: cyclonedx}
  vuln: {max-severity: high, max-age: 7d}
`
      );
      const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-tools-'));
      const audit = (inputs: Record<string, string>): Promise<ActionRun> =>
        runBundledAction(
          'audit',
          {
            backend: 'oci',
            'registry-url': proxy.host,
            packages: 'team/svc',
            'compliance-policy': policy,
            'cosign-path': cosign as string,
            'verify-tags': 'v*',
            ...inputs
          },
          {RUNNER_TOOL_CACHE: tools}
        );
      // Presence only: the foreign-signed image looks compliant (who signed is not checked without verification).
      const presence = await audit({'max-verifications': '0'});
      ok(presence);
      const verdicts = (r: ActionRun): Record<string, string> =>
        Object.fromEntries(
          report(r).repositories[0].served.map(i => [
            i.tags.join(','),
            `${i.checked} ${i.compliant ? 'ok' : [...new Set(i.failures.map(f => `${f.requirement}${f.platform ? `(${f.platform})` : ''}`))].join(' ')}`
          ])
        );
      expect(verdicts(presence)).toEqual({
        'v1.0.0': 'presence ok',
        'v1.1.0': 'presence sbom(linux/arm64)',
        'v0.9.0': 'presence vuln',
        'v0.8.0': 'presence ok',
        dev: 'presence signature provenance sbom vuln'
      });
      expect(report(presence).repositories[0].served.find(i => i.tags[0] === 'v0.9.0')?.failures[0].reason).toMatch(
        /^the newest scan is (29|30) days old, older than 7d$/
      );
      // A second run over an unchanged registry reads no manifest (HEADs of tags and referrers listings only).
      const requestsBefore = proxy.log.length;
      const again = await audit({'max-verifications': '0'});
      ok(again);
      expect(verdicts(again)).toEqual(verdicts(presence));
      const gets = proxy.log.slice(requestsBefore).filter(l => l.method === 'GET' && /\/manifests\//.test(l.path));
      expect(gets).toEqual([]);
      expect(report(again).requests.manifestReads).toBe(0);
      expect(report(presence).requests.manifestReads).toBeGreaterThan(0);
      // Verified (tags v*): cosign finds the foreign signer; the others keep their verdicts.
      const verified = await audit({'max-verifications': '10'});
      ok(verified);
      expect(verdicts(verified)).toEqual({
        'v1.0.0': 'verified ok',
        'v1.1.0': 'verified sbom(linux/arm64)',
        'v0.9.0': 'verified vuln',
        'v0.8.0': 'verified signature provenance sbom vuln',
        dev: 'presence signature provenance sbom vuln'
      });
      expect(report(verified).verifications).toEqual({done: 4, notVerified: 0});
      expect(verified.outputs.noncompliant).toBe('4');
      expect(verified.summary.indexOf('v0.8.0')).toBeLessThan(verified.summary.indexOf('Repositories'));
      // The cap: newest first, the rest by presence.
      const capped = await audit({'max-verifications': '1'});
      expect(report(capped).verifications).toEqual({done: 1, notVerified: 3});
      expect(verdicts(capped)['v1.1.0']).toBe('verified sbom(linux/arm64)');
      // Prometheus's own linter passes the metrics file, and it reads back to the report's numbers.
      const text = metrics(verified);
      const lint = spawnSync(promtool as string, ['check', 'metrics'], {input: text, encoding: 'utf8'});
      expect({status: lint.status, out: `${lint.stdout}${lint.stderr}`}).toEqual({status: 0, out: ''});
      const sample = (name: string, labels: string): number =>
        Number(
          text
            .split('\n')
            .find(l => l.startsWith(`${name}{${labels}} `))
            ?.split(' ')[1]
        );
      const labels = `registry="${proxy.host}",repository="team/svc"`;
      const [repo] = report(verified).repositories;
      expect(sample('registry_audit_stored_bytes', labels)).toBe(repo.storedBytes);
      expect(sample('registry_audit_served_images', `${labels},verdict="noncompliant"`)).toBe(4);
      expect(sample('registry_audit_noncompliant_images', `${labels},requirement="sbom"`)).toBe(3);
      // cosign that cannot run: the presence verdicts stand, each image said to be unverified.
      const noCosign = await audit({'max-verifications': '10', 'cosign-path': path.join(work, 'no-cosign')});
      ok(noCosign);
      expect(verdicts(noCosign)).toEqual(verdicts(presence));
      expect(report(noCosign).verifications).toEqual({done: 0, notVerified: 4});
      expect(noCosign.stdout).toMatch(/::warning::team\/svc: v1\.0\.0: not verified \(.*\); checked by presence only/);
      // fail-on-noncompliant fails the step after writing everything.
      const gate = await audit({'max-verifications': '0', 'fail-on-noncompliant': 'true'});
      expect(gate.code).toBe(1);
      expect(errorLines(gate).join('\n')).toContain('do not meet compliance-policy');
      expect(report(gate).repositories[0].served).toHaveLength(5);
    },
    240000
  );
});

describe('audit: at scale (GHCR)', () => {
  const audit = (names: string[], inputs: Record<string, string> = {}): Promise<ActionRun> =>
    runBundledAction(
      'audit',
      {
        owner: 'scale-org',
        packages: names.join(', '),
        'github-token': GH_TOKEN,
        'github-api-url': emu.apiUrl,
        'registry-url': emu.host,
        ...inputs
      },
      {GITHUB_REPOSITORY: 'scale-org/x', RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'audit-tools-'))}
    );
  const names = Array.from({length: 8}, (_, i) => `svc${i}`);
  beforeAll(async () => {
    if (!ready) return;
    emu.orgs.add('scale-org');
    for (const n of names) await new GhcrImages(emu, 'scale-org', n).image(n, ['v1']);
  });

  maybe(
    'under rate-limit-floor no new repository starts: incomplete, left names the rest, the report covers what was read',
    async () => {
      // The owner lookup and about three listings, then under the floor.
      emu.rateRemaining = 55;
      const r = await audit(names, {'rate-limit-floor': '50'});
      emu.rateRemaining = 5000;
      expect(r.code).toBe(1);
      expect(r.outputs.outcome).toBe('incomplete');
      expect(errorLines(r).join('\n')).toMatch(/stopped by the rate-limit floor of 50 .*repositories not audited/);
      const rep = report(r);
      const left = JSON.parse(r.outputs.left) as string[];
      expect(left.length).toBeGreaterThan(0);
      expect([...rep.repositories.map(x => x.repository), ...left].sort()).toEqual(names);
      for (const x of rep.repositories) expect(x.images).toEqual({tagged: 1, untagged: 0});
      expect(metrics(r)).toContain('registry_audit_complete{registry=');
      expect(metrics(r)).toMatch(/registry_audit_complete\{[^}]*\} 0/);
      // allow-incomplete: the same stop passes with a warning.
      emu.rateRemaining = 55;
      const allowed = await audit(names, {'rate-limit-floor': '50', 'allow-incomplete': 'true'});
      emu.rateRemaining = 5000;
      ok(allowed);
      expect(allowed.outputs.outcome).toBe('incomplete');
    }
  );

  maybe('shard: k/n covers every repository exactly once, each shard saying which part it did', async () => {
    const seen: string[] = [];
    for (let k = 1; k <= 3; k++) {
      const r = await audit(names, {shard: `${k}/3`});
      ok(r);
      expect(report(r).repositories.length).toBeGreaterThan(0);
      expect(r.summary).toContain(`shard ${k}/3`);
      seen.push(...report(r).repositories.map(x => x.repository));
    }
    expect(seen.sort()).toEqual(names);
  });
});
