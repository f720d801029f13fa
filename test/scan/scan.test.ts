import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Ajv2020} from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {LayoutBuilder} from '../helpers/images.js';
import {alpineFiles, dbWriter, pushDb} from '../helpers/trivy-db.js';
import {Proxy, startProxy} from '../helpers/proxy.js';
import {IMPLEMENTATIONS, Registry, allImplementations, skopeo, startRegistry} from '../helpers/registry.js';
import {ActionRun, ROOT, errorLines, runBundledAction} from '../helpers/run-action.js';
import {startActionsCache} from '../helpers/actions-cache.js';
import {nodeRuntimes, requireTool} from '../helpers/tools.js';
import {renderSummary} from '../helpers/render.js';

const trivy = requireTool('trivy');
const dbFixture = dbWriter();
const ready = !!trivy && !!dbFixture && allImplementations() && !!requireTool('skopeo') && !!requireTool('chromium');
const maybe = ready ? test : test.skip;

let reg: Registry;
let mirror: Registry;
let limited: Proxy;
let layout: string;
let amd64: string;
let arm64: string;
let work: string;

const scan = (
  inputs: Record<string, string>,
  cacheDir = fs.mkdtempSync(path.join(work, 'cache-')),
  env: Record<string, string> = {},
  cwd?: string
): Promise<ActionRun> =>
  runBundledAction(
    'scan',
    {
      'db-repository': `${reg.host}/trivy-db:2`,
      'cache-dir': cacheDir,
      cache: 'false',
      'trivy-path': trivy as string,
      ...inputs
    },
    env,
    {cwd}
  );

beforeAll(async () => {
  if (!ready) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'scan-test-'));
  [reg, mirror] = (await Promise.all([startRegistry('none'), startRegistry('none')])) as Registry[];
  limited = await startProxy(mirror.url);
  await pushDb(reg.host, 'trivy-db');
  await pushDb(mirror.host, 'trivy-db');
  const b = new LayoutBuilder();
  const a = b.imageWithFiles({os: 'linux', architecture: 'amd64'}, alpineFiles('3.1.4-r0'));
  const r = b.imageWithFiles({os: 'linux', architecture: 'arm64'}, alpineFiles('3.1.5-r0'));
  const index = b.index([a, r]);
  b.tag(index, 'v1');
  layout = b.dir;
  [amd64, arm64] = [a.digest, r.digest];
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg.host}/app:v1`]);
}, 120000);

afterAll(async () => {
  await limited?.stop();
  await Promise.all([reg, mirror].filter(Boolean).map(x => x.stop()));
});

interface TargetOut {
  target: string;
  platform: string;
  passed: boolean;
  counts: Record<string, number>;
}

describe('scan with real trivy, offline, on loopback', () => {
  maybe(
    'each platform is scanned by digest and reported; HIGH fails the gate naming the finding; SARIF validates',
    async () => {
      const run = await scan({images: `${reg.host}/app:v1`, 'severity-threshold': 'HIGH'});
      expect(run.code).toBe(1);
      expect(run.outputs.db).toBe('download');
      const targets = JSON.parse(run.outputs.targets) as TargetOut[];
      expect(targets.map(t => [t.target, t.platform, t.passed])).toEqual([
        [`${reg.host}/app@${amd64}`, 'linux/amd64', false],
        [`${reg.host}/app@${arm64}`, 'linux/arm64', true]
      ]);
      expect(targets[0].counts).toEqual(expect.objectContaining({HIGH: 1, MEDIUM: 1, CRITICAL: 0}));
      expect(targets[1].counts).toEqual(expect.objectContaining({HIGH: 0, MEDIUM: 1}));
      expect(run.outputs.result).toBe('fail');
      expect(run.outputs.high).toBe('1');
      const errors = errorLines(run);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('CVE-2026-1111 HIGH libcrypto3 3.1.4-r0 (fixed in 3.1.5-r0)');
      expect(errors[0]).not.toContain('scanner error');
      expect(run.summary).toContain('libcrypto3');

      // SARIF 2.1.0: valid against the schema, the gate's set (HIGH and above) and nothing else.
      const sarif = JSON.parse(fs.readFileSync(run.outputs.sarif, 'utf8')) as {
        runs: Array<{results: Array<{ruleId: string}>}>;
      };
      const schemaFile = path.join(ROOT, 'node_modules', '@microsoft', 'sarif-multitool-linux', 'sarif-2.1.0.json');
      const ajv = new Ajv2020({strict: false, allErrors: true});
      addFormats.default(ajv);
      const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object);
      expect(validate(sarif) ? [] : validate.errors).toEqual([]);
      expect(sarif.runs.map(r => r.results.map(x => x.ruleId))).toEqual([['CVE-2026-1111'], []]);
      const combined = JSON.parse(fs.readFileSync(run.outputs.report, 'utf8')) as {
        targets: Array<{findings: unknown[]}>;
      };
      expect(combined.targets[0].findings).toHaveLength(2);
    }
  );

  maybe('CRITICAL passes; the second run uses the cached DB and downloads nothing', async () => {
    const cacheDir = fs.mkdtempSync(path.join(work, 'cache-'));
    const first = await scan({images: `${reg.host}/app:v1`, 'severity-threshold': 'CRITICAL'}, cacheDir);
    expect({code: first.code, errors: errorLines(first), result: first.outputs.result, db: first.outputs.db}).toEqual({
      code: 0,
      errors: [],
      result: 'pass',
      db: 'download'
    });
    // No repository can answer now: a download attempt would fail the step.
    const second = await scan(
      {images: `${reg.host}/app:v1`, 'severity-threshold': 'CRITICAL', 'db-repository': '127.0.0.1:9/none:2'},
      cacheDir
    );
    expect({code: second.code, db: second.outputs.db, result: second.outputs.result}).toEqual({
      code: 0,
      db: 'local',
      result: 'pass'
    });
  });

  maybe(
    'a downloaded DB is saved to the Actions cache; a job on a fresh machine restores it and downloads nothing',
    async () => {
      const service = await startActionsCache();
      try {
        const cacheDir = path.join(work, 'actions-cache-db');
        const run = (repository: string): Promise<ActionRun> =>
          runBundledAction(
            'scan',
            {
              images: `${reg.host}/app:v1`,
              'severity-threshold': 'CRITICAL',
              'db-repository': repository,
              'cache-dir': cacheDir,
              'trivy-path': trivy as string
            },
            service.env
          );
        const first = await run(`${reg.host}/trivy-db:2`);
        expect({code: first.code, db: first.outputs.db, errors: errorLines(first)}).toEqual({
          code: 0,
          db: 'download',
          errors: []
        });
        expect(
          service.entries.map(e => [
            e.finalized,
            /^registry-actions-trivy-db-v2-\d{4}-\d\d-\d\d-[0-9a-f]{12}$/.test(e.key)
          ])
        ).toEqual([[true, true]]);
        expect(service.entries[0].size).toBeGreaterThan(0);
        // The next job starts on a fresh machine with no DB, and no repository can answer.
        fs.rmSync(cacheDir, {recursive: true, force: true});
        const second = await run('127.0.0.1:9/none:2');
        expect({code: second.code, db: second.outputs.db, result: second.outputs.result}).toEqual({
          code: 0,
          db: 'actions-cache',
          result: 'pass'
        });
        expect(second.stdout).toContain(`restored from the Actions cache (${service.entries[0].key})`);
        expect(service.log).toEqual([
          'GetCacheEntryDownloadURL',
          'CreateCacheEntry',
          `PUT blob ${service.entries[0].size}`,
          'FinalizeCacheEntryUpload',
          'GetCacheEntryDownloadURL',
          `GET blob ${service.entries[0].size}`
        ]);
      } finally {
        await service.stop();
      }
    }
  );

  // The same image on each registry implementation (the DB stays where it is): trivy pulls each
  // platform by digest from all of them and the findings are the same.
  (ready ? test : test.skip).each(IMPLEMENTATIONS.filter(i => i !== 'distribution-2.8'))(
    'scanning from %s gives the same findings per platform',
    async impl => {
      const other = (await startRegistry('none', impl)) as Registry;
      try {
        await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${other.host}/app:v1`]);
        const run = await scan({images: `${other.host}/app:v1`, 'severity-threshold': 'HIGH'});
        expect(run.code).toBe(1);
        const targets = JSON.parse(run.outputs.targets) as TargetOut[];
        expect(targets.map(t => [t.target, t.platform, t.passed, t.counts.HIGH, t.counts.MEDIUM])).toEqual([
          [`${other.host}/app@${amd64}`, 'linux/amd64', false, 1, 1],
          [`${other.host}/app@${arm64}`, 'linux/arm64', true, 0, 1]
        ]);
      } finally {
        await other.stop();
      }
    },
    120000
  );

  maybe(
    'workspace config decides nothing: a .trivyignore and trivy.yaml in the workspace, and SOURCE_DATE_EPOCH, are ignored',
    async () => {
      const workspace = fs.mkdtempSync(path.join(work, 'workspace-'));
      // What a repository might hold: an ignore file trivy reads from its working directory by default,
      // and a config that would raise the severity floor above the gate's threshold.
      fs.writeFileSync(path.join(workspace, '.trivyignore'), 'CVE-2026-1111\n');
      fs.writeFileSync(path.join(workspace, 'trivy.yaml'), 'severity:\n  - CRITICAL\n');
      const ignores = path.join(workspace, 'expired.yaml');
      fs.writeFileSync(ignores, 'vulnerabilities:\n  - id: CVE-2026-3333\n    reason: old\n    expires: 2020-01-01\n');
      // A reproducible build pins SOURCE_DATE_EPOCH to an old commit (2017): expiry still uses the clock.
      const run = await scan(
        {
          images: `${reg.host}/app:v1`,
          platforms: 'linux/amd64',
          'severity-threshold': 'MEDIUM',
          'ignore-files': ignores
        },
        undefined,
        {SOURCE_DATE_EPOCH: '1500000000'},
        workspace
      );
      expect(run.code).toBe(1);
      const [target] = JSON.parse(run.outputs.targets) as TargetOut[];
      expect(target.counts).toEqual(expect.objectContaining({HIGH: 1, MEDIUM: 1}));
      expect(errorLines(run)[0]).toContain('CVE-2026-1111 HIGH');
      expect(errorLines(run)[0]).toContain('CVE-2026-3333 MEDIUM');
      expect(JSON.parse(run.outputs['expired-ignores'])).toEqual([expect.objectContaining({id: 'CVE-2026-3333'})]);
    }
  );

  maybe(
    'ignore files: a .trivyignore entry ignores; an expired YAML entry stops ignoring and is reported',
    async () => {
      const dir = fs.mkdtempSync(path.join(work, 'ignores-'));
      fs.writeFileSync(
        path.join(dir, '.trivyignore'),
        '# accepted until the base image moves\nCVE-2026-1111 exp:2999-01-01 # waiting for 3.19.2\n'
      );
      fs.writeFileSync(
        path.join(dir, 'ignore.yaml'),
        'vulnerabilities:\n  - id: CVE-2026-3333\n    reason: no fix upstream\n    expires: 2020-01-01\n'
      );
      const run = await scan({
        images: `${reg.host}/app:v1`,
        platforms: 'linux/amd64',
        'severity-threshold': 'MEDIUM',
        'ignore-files': `${path.join(dir, '.trivyignore')}\n${path.join(dir, 'ignore.yaml')}`
      });
      expect(run.code).toBe(1);
      expect(JSON.parse(run.outputs.targets)).toHaveLength(1);
      expect(errorLines(run)[0]).toContain('CVE-2026-3333 MEDIUM zlib');
      expect(errorLines(run)[0]).not.toContain('CVE-2026-1111');
      expect(JSON.parse(run.outputs['expired-ignores'])).toEqual([
        expect.objectContaining({id: 'CVE-2026-3333', expires: '2020-01-01', reason: 'no fix upstream'})
      ]);
      expect(run.stdout).toContain('::warning::');
      expect(run.stdout).toMatch(/ignore entry for CVE-2026-3333 expired on 2020-01-01/);

      // The job summary as GitHub shows it at 1280 px (headless Chromium).
      const page = await renderSummary(run.summary);
      expect({overflow: page.pageOverflow, disallowed: page.disallowed}).toEqual({overflow: false, disallowed: []});
      expect(page.bytes).toBeLessThan(1024 * 1024);
      const [counts, findings, ignored, expired] = page.tables;
      expect(counts.head).toEqual([
        'image',
        'gate',
        'critical',
        'high',
        'medium',
        'low',
        'unknown',
        'secrets / misconfig',
        'ignored'
      ]);
      expect({hidden: counts.hidden, scrolls: counts.scrolls}).toEqual({hidden: [], scrolls: false});
      // Short references: repository:tag and a 12-digit digest, never a 64-hex digest.
      expect(page.visibleText).toContain(`app:v1 ${amd64.slice(0, 19)} linux/amd64 fail (1) 0 0 1 0 0 0 / 0 1`);
      expect(page.visibleText).not.toMatch(/[a-f0-9]{64}/);
      // The failing platform's findings are open; ignored findings are folded, with entry, file and expiry.
      expect(findings).toEqual(expect.objectContaining({folded: false, rows: 1}));
      // Each id links to its advisory (trivy's primary URL for it).
      expect(page.links).toEqual([
        {text: 'CVE-2026-3333', href: 'https://avd.aquasec.com/nvd/cve-2026-3333'},
        {text: 'CVE-2026-1111', href: 'https://avd.aquasec.com/nvd/cve-2026-1111'}
      ]);
      expect(ignored).toEqual(expect.objectContaining({folded: true, rows: 1, hidden: []}));
      expect(page.details.map(d => [d.summary, d.open])).toEqual([
        [expect.stringMatching(/^app@sha256:[a-f0-9]{12} linux\/amd64: 1 medium/), true],
        ['1 finding(s) ignored', false],
        ['1 ignore entry has expired and no longer hides anything', true]
      ]);
      expect(expired.rows).toBe(1);
      expect(page.visibleText).not.toContain('2999-01-01');
      const opened = await renderSummary(run.summary.replace(/<details>/g, '<details open>'));
      expect(opened.visibleText).toMatch(
        /CVE-2026-1111 HIGH libcrypto3 app@sha256:[a-f0-9]{12} linux\/amd64 2999-01-01 .*\.trivyignore:2/
      );
      // ignore-unfixed leaves zlib out too: the gate passes.
      const unfixed = await scan({
        images: `${reg.host}/app:v1`,
        'severity-threshold': 'MEDIUM',
        'ignore-unfixed': 'true',
        'ignore-files': path.join(dir, '.trivyignore')
      });
      expect({code: unfixed.code, result: unfixed.outputs.result}).toEqual({code: 0, result: 'pass'});
    }
  );

  maybe('an OCI layout is scanned before anything is pushed, one platform at a time', async () => {
    const run = await scan({images: `oci:${layout}:v1`, platforms: 'linux/arm64', 'severity-threshold': 'HIGH'});
    expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
    expect(JSON.parse(run.outputs.targets)).toEqual([
      expect.objectContaining({digest: arm64, platform: 'linux/arm64', passed: true})
    ]);
  });
});

describe('scan: DB and scanner failures are never mistaken for findings', () => {
  maybe('a rate-limited first mirror: the next repository serves the DB', async () => {
    limited.rules.push({
      path: /.*/,
      fault: {kind: 'status', status: 503, body: '{"errors":[{"code":"UNAVAILABLE"}]}'},
      times: 1000
    });
    try {
      const run = await scan({
        images: `${reg.host}/app:v1`,
        'severity-threshold': 'CRITICAL',
        'db-repository': `${limited.host}/trivy-db:2\n${reg.host}/trivy-db:2`
      });
      expect({code: run.code, db: run.outputs.db, errors: errorLines(run)}).toEqual({
        code: 0,
        db: 'download',
        errors: []
      });
      expect(run.stdout).toContain(`${limited.host}/trivy-db:2 failed`);
      expect(run.stdout).toContain(`from ${reg.host}/trivy-db:2`);
    } finally {
      limited.rules.length = 0;
    }
  });

  maybe('every DB repository failing is a DB error, with no result', async () => {
    limited.rules.push({
      path: /.*/,
      fault: {
        kind: 'status',
        status: 429,
        headers: {'retry-after': '0'},
        body: '{"errors":[{"code":"TOOMANYREQUESTS"}]}'
      },
      times: 1000
    });
    try {
      const run = await scan({images: `${reg.host}/app:v1`, 'db-repository': `${limited.host}/trivy-db:2`});
      expect(run.code).toBe(1);
      expect(errorLines(run)).toEqual([expect.stringContaining('This is a DB problem, not a finding')]);
      expect(run.outputs.result).toBeUndefined();
    } finally {
      limited.rules.length = 0;
    }
  });

  maybe('trivy failing on a target is a scanner error, not a finding', async () => {
    const b = new LayoutBuilder();
    const broken = b.blob(Buffer.from('this is not gzip'), 'application/vnd.oci.image.layer.v1.tar+gzip');
    const config = b.json(
      {architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [broken.digest]}},
      'application/vnd.oci.image.config.v1+json'
    );
    const m = b.json(
      {schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [broken]},
      'application/vnd.oci.image.manifest.v1+json'
    );
    b.tag(m, 'bad');
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${b.dir}:bad`, `docker://${reg.host}/broken:bad`]);
    const run = await scan({images: `${reg.host}/broken:bad`});
    expect(run.code).toBe(1);
    expect(errorLines(run)).toEqual([expect.stringContaining('This is a scanner error, not a finding')]);
    expect(run.outputs.result).toBeUndefined();
  });

  maybe('bad input names the input and the fix', async () => {
    const threshold = await scan({images: `${reg.host}/app:v1`, 'severity-threshold': 'SEVERE'});
    expect(errorLines(threshold)).toEqual([expect.stringContaining('severity-threshold: "SEVERE" is not one of')]);
    const ignore = await scan({images: `${reg.host}/app:v1`, 'ignore-files': '/nonexistent/.trivyignore'});
    expect(errorLines(ignore)).toEqual([
      expect.stringContaining('ignore-files: /nonexistent/.trivyignore cannot be read')
    ]);
    // The old name of images still works, with a warning saying what to write instead.
    const old = await scan({targets: `${reg.host}/app:nope`});
    expect(old.stdout).toContain('::warning::targets: this input is now called images');
    expect(errorLines(old)[0]).toContain('app:nope: the tag nope does not exist');
    const missing = await scan({images: `${reg.host}/app:nope`});
    expect(errorLines(missing)).toEqual([expect.stringContaining(`${reg.host}/app:nope: the tag nope does not exist`)]);
    expect(missing.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

describe.each(nodeRuntimes())('scan on %s (action.yml declares node24)', (_label, node) => {
  (ready && node ? test : test.skip)('scans a layout and gates', async () => {
    const run = await runBundledAction(
      'scan',
      {
        images: `oci:${layout}:v1`,
        'db-repository': `${reg.host}/trivy-db:2`,
        'cache-dir': fs.mkdtempSync(path.join(work, 'cache-')),
        cache: 'false',
        'trivy-path': trivy as string
      },
      {},
      {node}
    );
    expect(run.code).toBe(1);
    expect(run.outputs.result).toBe('fail');
    expect(errorLines(run)[0]).toContain('CVE-2026-1111 HIGH libcrypto3');
  });
});
