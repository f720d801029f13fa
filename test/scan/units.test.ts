import {describe, expect, test} from '@jest/globals';
import {cacheKey, isFresh, isTransient} from '../../src/shared/scan/db.js';
import {applyGate, gatesThatCannotFire, worstFirst} from '../../src/shared/scan/gate.js';
import {ignoredBy, parseIgnoreYaml, parseTrivyIgnore} from '../../src/shared/scan/ignore.js';
import {Finding, TrivyReport, findingsOf} from '../../src/shared/scan/report.js';
import {MAX_RESULTS_PER_RUN, toSarif, uriPath} from '../../src/shared/scan/sarif.js';
import {trivyEnv, trivyInsecure} from '../../src/shared/scan/scan.js';
import {TRIVY, trivyDownloadArgs, trivyScanArgs} from '../../src/shared/tools/trivy.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const silentLog = {
  info: () => undefined,
  warning: () => undefined,
  debug: () => undefined,
  group: <T>(_n: string, fn: () => Promise<T>) => fn()
};

/** A report shaped as trivy 0.76 writes it (fields trimmed), every kind of finding, some fields missing. */
const REPORT: TrivyReport = {
  SchemaVersion: 2,
  ArtifactName: 'r.io/app@sha256:aa',
  Results: [
    {
      Target: 'r.io/app@sha256:aa (alpine 3.19.1)',
      Class: 'os-pkgs',
      Type: 'alpine',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-1',
          PkgName: 'libcrypto3',
          InstalledVersion: '3.1.4-r0',
          FixedVersion: '3.1.5-r0',
          Status: 'fixed',
          Severity: 'HIGH',
          Title: 'overflow',
          CVSS: {nvd: {V3Score: 8.1}}
        },
        {
          VulnerabilityID: 'CVE-2',
          PkgName: 'zlib',
          InstalledVersion: '1.3.1-r0',
          Status: 'affected',
          Severity: 'MEDIUM'
        },
        {VulnerabilityID: 'CVE-3', PkgName: 'busybox', InstalledVersion: '1', FixedVersion: '2', Severity: 'CRITICAL'},
        {}
      ]
    },
    {
      Target: 'app/.env',
      Class: 'secret',
      Secrets: [{RuleID: 'aws-access-key-id', Severity: 'CRITICAL', Title: 'AWS Access Key ID', StartLine: 3}]
    },
    {
      Target: 'Dockerfile',
      Class: 'config',
      Misconfigurations: [
        {AVDID: 'AVD-DS-0002', Severity: 'HIGH', Status: 'FAIL', Title: 'root user'},
        {AVDID: 'AVD-DS-0001', Severity: 'LOW', Status: 'PASS'}
      ]
    }
  ]
};

describe('trivy JSON to findings', () => {
  test('every kind, missing fields tolerated, passed checks left out', () => {
    const f = findingsOf(REPORT);
    expect(f.map(x => [x.kind, x.id, x.severity])).toEqual([
      ['vulnerability', 'CVE-1', 'HIGH'],
      ['vulnerability', 'CVE-2', 'MEDIUM'],
      ['vulnerability', 'CVE-3', 'CRITICAL'],
      ['vulnerability', 'UNKNOWN-ID', 'UNKNOWN'],
      ['secret', 'aws-access-key-id', 'CRITICAL'],
      ['misconfiguration', 'AVD-DS-0002', 'HIGH']
    ]);
    expect(f[0]).toEqual(
      expect.objectContaining({pkg: 'libcrypto3', installed: '3.1.4-r0', fixed: '3.1.5-r0', score: 8.1})
    );
    expect(f[1].fixed).toBeUndefined();
    expect(f[4]).toEqual(expect.objectContaining({location: 'app/.env', line: 3}));
    expect(findingsOf({})).toEqual([]);
  });
});

describe('the gate', () => {
  const findings = findingsOf(REPORT);
  const gate = (o: Partial<Parameters<typeof applyGate>[1]>) =>
    applyGate(findings, {
      threshold: 'HIGH',
      ignoreUnfixed: false,
      failOn: ['vulnerability', 'secret'],
      ignores: [],
      now: NOW,
      ...o
    });

  test.each([
    ['HIGH, vulnerabilities and secrets', {}, ['aws-access-key-id', 'CVE-3', 'CVE-1'], false],
    ['CRITICAL', {threshold: 'CRITICAL' as const}, ['aws-access-key-id', 'CVE-3'], false],
    ['vulnerabilities only', {failOn: ['vulnerability' as const]}, ['CVE-3', 'CVE-1'], false],
    ['misconfigurations count when asked', {failOn: ['misconfiguration' as const]}, ['AVD-DS-0002'], false],
    ['report only', {failOn: []}, [], true]
  ])('%s', (_n, o, failing, passed) => {
    const g = gate(o);
    expect(worstFirst(g.failing).map(f => f.id)).toEqual(failing);
    expect(g.passed).toBe(passed);
  });

  test('ignore-unfixed, ignores by id and package, expired entries stop ignoring and are listed', () => {
    const ignores = [
      ...parseTrivyIgnore('CVE-3 exp:2027-01-01 # vendor says not reachable\nCVE-1 exp:2026-05-31\n', '.trivyignore'),
      ...parseIgnoreYaml('secrets:\n  - id: aws-access-key-id\n    reason: test fixture key\n', 'ignore.yaml')
    ];
    const g = gate({ignores, ignoreUnfixed: true});
    expect(g.ignored.map(i => [i.finding.id, i.rule.source, i.rule.reason])).toEqual([
      ['CVE-3', '.trivyignore:1', 'vendor says not reachable'],
      ['aws-access-key-id', 'ignore.yaml: secrets[0]', 'test fixture key']
    ]);
    expect(g.unfixedSkipped).toBe(2);
    expect(g.failing.map(f => f.id)).toEqual(['CVE-1']);
    expect(g.expired.map(e => e.id)).toEqual(['CVE-1']);
    expect(g.counts).toEqual({UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 0});
  });

  test('an expiry date covers its whole day; packages narrow an entry', () => {
    const [rule] = parseIgnoreYaml(
      'vulnerabilities:\n  - id: CVE-1\n    expires: 2026-06-01\n    packages: [libcrypto3]\n',
      'f.yaml'
    );
    const f = findingsOf(REPORT)[0];
    expect(ignoredBy(f, [rule], NOW)).toBe(rule);
    expect(ignoredBy({...f, pkg: 'other'} as Finding, [rule], NOW)).toBeUndefined();
    expect(ignoredBy(f, [rule], Date.parse('2026-06-02T00:00:01Z'))).toBeUndefined();
  });

  test.each([
    ['CVE-1 until:2020', '.trivyignore:1: "until:2020" is not understood'],
    ['CVE-1 exp:someday', '.trivyignore:1: "someday" is not a date']
  ])('bad .trivyignore line %s', (text, msg) => expect(() => parseTrivyIgnore(text, '.trivyignore')).toThrow(msg));
  test.each([
    ['vulns:\n  - id: X\n', 'unknown section "vulns"'],
    ['vulnerabilities:\n  - reason: x\n', 'every entry needs an id'],
    ['vulnerabilities: [{id: X, packages: a}]', 'packages must be a list'],
    ['vulnerabilities: [', 'not valid YAML']
  ])('bad YAML %#', (text, msg) => expect(() => parseIgnoreYaml(text, 'i.yaml')).toThrow(msg));
});

describe('SARIF for code scanning', () => {
  const one: Finding = {
    kind: 'vulnerability',
    id: 'CVE-1',
    severity: 'HIGH',
    title: 't',
    location: 'r.io/app@sha256:aa (alpine 3.19.1)',
    pkg: 'p',
    installed: '1',
    fixed: '2'
  };
  test('20 runs a file at most; 25,000 results a run at most, the rest counted', () => {
    const targets = Array.from({length: 21}, (_v, i) => ({name: `t${i}`, category: `c${i}`, findings: [one]}));
    const {files} = toSarif(targets, 'v0.76.0');
    expect(files.map(f => f.runs.length)).toEqual([20, 1]);
    const big = toSarif(
      [{name: 'big', category: 'c', findings: Array.from({length: MAX_RESULTS_PER_RUN + 5}, () => one)}],
      '0.76.0'
    );
    expect(big.truncated).toBe(5);
    expect(toSarif([], '0.76.0').files).toHaveLength(1);
  });
  test('locations are relative URI paths; rules carry security-severity', () => {
    expect(uriPath('127.0.0.1:5000/app@sha256:ab (alpine 3.19.1)')).toBe('127.0.0.1-5000/app-sha256-ab');
    const run = toSarif([{name: 'x', category: 'c', findings: [one]}], '0.76.0').files[0].runs[0] as {
      tool: {driver: {rules: Array<{properties: Record<string, unknown>}>}};
    };
    expect(run.tool.driver.rules[0].properties['security-severity']).toBe('8.0');
  });
});

describe('DB handling and trivy invocation', () => {
  test.each([
    [{Version: 2, NextUpdate: '2026-06-02T00:00:00Z'}, true],
    [{Version: 2, NextUpdate: '2026-06-01T00:00:00Z'}, false],
    [{Version: 1, NextUpdate: '2030-01-01T00:00:00Z'}, false],
    [undefined, false]
  ])('fresh %#', (meta, fresh) => expect(isFresh(meta, NOW)).toBe(fresh));
  test.each([
    ['GET https://r/v2/: TOOMANYREQUESTS: retry later', true],
    ['GET http://127.0.0.1:5598/v2/: UNAVAILABLE:', true],
    ['unexpected status code 502 Bad Gateway', true],
    ['MANIFEST_UNKNOWN: manifest unknown', false],
    ['annotation org.opencontainers.image.title is missing', false]
  ])('transient %s', (stderr, yes) => expect(isTransient(stderr)).toBe(yes));
  test('cache keys by day and DB kind', () => {
    expect(cacheKey('2026-06-01', false)).toBe('registry-actions-trivy-db-v2-2026-06-01');
    expect(cacheKey('', true)).toBe('registry-actions-trivy-java-db-v1-');
  });
  test('scan arguments: JSON, every severity, no network of trivy’s own, layouts through --input', () => {
    const args = trivyScanArgs({
      target: '/tmp/l',
      input: true,
      cacheDir: '/c',
      output: '/o.json',
      scanners: ['vuln', 'secret'],
      insecure: false,
      timeout: '5m',
      isolation: ['--config', '/w/trivy-config.yaml', '--ignorefile', '/w/no-ignores']
    });
    expect(args).toEqual([
      'image',
      '--format',
      'json',
      '--output',
      '/o.json',
      '--cache-dir',
      '/c',
      '--skip-db-update',
      '--skip-java-db-update',
      '--skip-check-update',
      '--skip-version-check',
      '--disable-telemetry',
      '--offline-scan',
      '--scanners',
      'vuln,secret',
      '--timeout',
      '5m',
      '--quiet',
      '--config',
      '/w/trivy-config.yaml',
      '--ignorefile',
      '/w/no-ignores',
      '--input',
      '/tmp/l'
    ]);
    expect(args).not.toContain('--severity');
    expect(
      trivyDownloadArgs({cacheDir: '/c', repository: 'm/db:2', java: true, insecure: true, isolation: []}).slice(0, 4)
    ).toEqual(['image', '--download-java-db-only', '--java-db-repository', 'm/db:2']);
    expect(trivyEnv({PATH: '/bin', TRIVY_SEVERITY: 'LOW', TRIVY_USERNAME: 'u', GITHUB_TOKEN: 't'}, '/d')).toEqual({
      PATH: '/bin',
      DOCKER_CONFIG: '/d'
    });
  });
  test.each([
    ['loopback, marked insecure', '127.0.0.1:5000', true, false, false],
    ['remote https', 'registry.example.com', false, false, false],
    ['remote http without tls-insecure', 'registry.example.com', true, false, 'tls-insecure: true'],
    ['remote http with tls-insecure', 'registry.example.com', true, true, true]
  ] as const)('trivy --insecure: %s', (_n, registry, marked, allowed, expected) => {
    const warnings: string[] = [];
    const log = {...silentLog, warning: (m: string) => warnings.push(m)};
    if (typeof expected === 'string') {
      expect(() => trivyInsecure(registry, marked, allowed, log)).toThrow(expected);
    } else {
      expect(trivyInsecure(registry, marked, allowed, log)).toBe(expected);
      expect(warnings.length).toBe(expected ? 1 : 0);
    }
  });
  test.each([
    [['vulnerability', 'secret'], ['vuln', 'secret'], 0],
    [['misconfiguration'], ['vuln', 'secret'], 1],
    [['misconfiguration'], ['vuln', 'misconfig'], 0],
    [['secret', 'misconfiguration'], ['vuln'], 2]
  ] as const)('a gate that cannot fire: fail-on %j with scanners %j', (failOn, scanners, n) => {
    expect(gatesThatCannotFire([...failOn], [...scanners])).toHaveLength(n);
  });
  test('release assets', () => {
    expect(TRIVY.asset('v0.76.0', 'linux', 'x64')).toEqual({
      file: 'trivy_0.76.0_Linux-64bit.tar.gz',
      checksums: 'trivy_0.76.0_checksums.txt',
      binaryInArchive: 'trivy'
    });
    expect(TRIVY.asset('v0.76.0', 'darwin', 'arm64').file).toBe('trivy_0.76.0_macOS-ARM64.tar.gz');
  });
});
