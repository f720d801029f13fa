import {describe, expect, test} from '@jest/globals';
import {cleanupSummary} from '../../src/shared/cleanup/summary.js';
import {CleanupResult} from '../../src/shared/cleanup/run.js';
import {pushSummary} from '../../src/shared/push/summary.js';
import {PushResult} from '../../src/shared/push/push.js';
import {scanSummary} from '../../src/shared/scan/summary.js';
import {TargetResult} from '../../src/shared/scan/scan.js';
import {Finding} from '../../src/shared/scan/report.js';
import {GateResult} from '../../src/shared/scan/gate.js';
import {signSummary, verifySummary} from '../../src/shared/sign/summary.js';
import {tagSummary} from '../../src/shared/tag/summary.js';
import {Metadata} from '../../src/shared/tag/meta.js';
import {SUMMARY_LIMIT, fit, refShortener, shortDigest, shortRef} from '../../src/shared/summary.js';
import {chromium, renderSummary} from '../helpers/render.js';
import {auditSummary} from '../../src/shared/audit/summary.js';
import {AuditResult} from '../../src/shared/audit/run.js';

/**
 * Every action's job summary, rendered by headless Chromium as GitHub shows it at 1280 px, on data as
 * long as real runs give: registry hosts, nested repositories, 64-hex digests, many findings, text with
 * markup in it. (scan.test.ts renders a real scan's summary the same way.)
 */
const maybe = chromium() ? test : test.skip;

const hex = (seed: number): string => seed.toString(16).padStart(2, '0').repeat(32);
const digest = (seed: number): string => `sha256:${hex(seed)}`;
const REPO = '123456789012.dkr.ecr.eu-central-1.amazonaws.com/platform/payments/checkout-api';

function finding(i: number, severity: Finding['severity']): Finding {
  return {
    kind: 'vulnerability',
    id: i % 3 === 0 ? `GHSA-xw${(i % 10).toString()}q-6p8f-9v7m`.replace(/[0-9]/g, 'c') : `CVE-2026-${1000 + i}`,
    severity,
    title: `openssl: a long advisory title that explains <script>alert(1)</script> in detail, number ${i}`,
    location: 'alpine 3.19',
    pkg: `libcrypto3-${i}`,
    installed: '3.1.4-r0',
    fixed: i % 2 ? '3.1.5-r0' : undefined
  };
}

function target(platform: string, findings: Finding[], seed: number): TargetResult {
  const counts = {CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0};
  for (const f of findings) counts[f.severity]++;
  const gate: GateResult = {
    reported: findings,
    atThreshold: findings.filter(f => f.severity === 'CRITICAL' || f.severity === 'HIGH'),
    failing: findings.filter(f => f.severity === 'CRITICAL'),
    ignored: [
      {
        finding: finding(900 + seed, 'HIGH'),
        rule: {
          id: `CVE-2026-${1900 + seed}`,
          source: '.trivyignore:4',
          expires: Date.UTC(2027, 2, 31),
          reason: 'base image'
        }
      }
    ],
    unfixedSkipped: 0,
    counts,
    secrets: 2,
    misconfigurations: 12,
    expired: [],
    passed: counts.CRITICAL === 0
  };
  return {
    input: `${REPO}:1.42.0-rc.3`,
    name: `${REPO}@${digest(seed)}`,
    platform,
    digest: digest(seed),
    registry: REPO.split('/')[0],
    report: `/tmp/reports/${seed}.json`,
    gate,
    findings
  };
}

const severities: Array<Finding['severity']> = ['LOW', 'CRITICAL', 'MEDIUM', 'HIGH', 'UNKNOWN'];

async function rendered(summary: string): Promise<Awaited<ReturnType<typeof renderSummary>>> {
  const page = await renderSummary(summary);
  expect({overflow: page.pageOverflow, disallowed: page.disallowed}).toEqual({overflow: false, disallowed: []});
  expect(page.bytes).toBeLessThan(SUMMARY_LIMIT);
  // Nothing from outside is taken as markup.
  expect(page.visibleText).not.toMatch(/[a-f0-9]{64}/);
  return page;
}

describe('job summaries as GitHub shows them (headless Chromium, 1280 px)', () => {
  maybe(
    'scan: 4 platforms of a long-named image, 300 findings: counts visible, worst first, folded, linked',
    async () => {
      const results = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'].map((p, t) =>
        target(
          p,
          Array.from({length: 75}, (_, i) => finding(t * 100 + i, severities[i % 5])),
          t + 1
        )
      );
      const summary = scanSummary({
        results,
        threshold: 'HIGH',
        top: 20,
        passed: false,
        expired: [{id: 'CVE-2020-0001', source: 'ignore.yaml: vulnerabilities[3]', expires: Date.UTC(2026, 0, 1)}]
      });
      const page = await rendered(summary);
      const [counts, ...rest] = page.tables;
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
      expect(counts.rows).toBe(4);
      // repository:tag without the registry host, the digest cut to 12 digits.
      expect(page.visibleText).toContain('platform/payments/checkout-api:1.42.0-rc.3 sha256:010101010101 linux/amd64');
      // Every failing platform open with its 10 worst, critical first; the ignored list folded.
      expect(page.details.map(d => d.open)).toEqual([true, true, true, true, false, true]);
      expect(page.details[0].summary).toMatch(/15 critical, 15 high, 15 medium, 15 low, 15 unknown.*worst 20 of 75/);
      expect(rest.slice(0, 4).map(t => t.rows)).toEqual([20, 20, 20, 20]);
      const first = page.visibleText.slice(page.visibleText.indexOf('worst 20 of 75'));
      const order = [
        ...first.slice(0, first.indexOf('linux/arm64')).matchAll(/\b(CRITICAL|HIGH|MEDIUM|LOW|UNKNOWN)\b/g)
      ];
      expect(order.map(m => m[1])).toEqual([...Array(15).fill('CRITICAL'), ...Array(5).fill('HIGH')]);
      const links = page.links.filter(l => l.text.startsWith('GHSA-'));
      expect(links.length).toBeGreaterThan(0);
      for (const l of links) expect(l.href).toBe(`https://github.com/advisories/${l.text}`);
      expect(page.links.find(l => l.text === 'CVE-2026-1001')?.href).toBe(
        'https://nvd.nist.gov/vuln/detail/CVE-2026-1001'
      );
      expect(page.visibleText).toContain('<script>alert(1)</script>');
      // Ignored findings: with their entry's file and line and the date they stop being ignored.
      const ignored = page.tables[5];
      expect(ignored).toEqual(expect.objectContaining({folded: true, rows: 4}));
      expect(page.details[4].summary).toBe('4 finding(s) ignored');
      expect(page.visibleText).toContain('CVE-2020-0001 2026-01-01 ignore.yaml: vulnerabilities[3]');
    }
  );

  maybe('scan: a summary that would pass 1 MiB is cut at a section, saying where the rest is', async () => {
    const results = Array.from({length: 400}, (_, t) =>
      target(
        `linux/amd64`,
        Array.from({length: 60}, (_, i) => finding(i, 'CRITICAL')),
        t
      )
    );
    const summary = scanSummary({results, threshold: 'LOW', top: 60, passed: false, expired: []});
    const page = await rendered(summary);
    expect(page.visibleText).toMatch(
      /\d+ more section\(s\) left out to stay under GitHub's 1 MiB summary limit; the JSON report/
    );
  });

  maybe('push-multi: six destinations, one failed with a long message; every column visible', async () => {
    const dests = [
      `${REPO}`,
      'ghcr.io/acme-corporation/checkout-api',
      // The same path on two registries: the rows must tell them apart.
      'docker.io/acme-corporation/checkout-api',
      'acmecorp.azurecr.io/payments/checkout-api',
      'europe-west4-docker.pkg.dev/acme-prod-123456/containers/checkout-api',
      'harbor.internal.acme.example:8443/payments/checkout-api'
    ];
    const res: PushResult = {
      digest: digest(7),
      platforms: ['linux/amd64', 'linux/arm64'],
      refs: [],
      results: dests.map((d, i) => ({
        destination: d,
        status: i === 5 ? 'failed' : i === 0 ? 'up-to-date' : 'copied',
        digest: digest(7),
        tags: ['1.42.0', '1.42', '1', 'latest'],
        refs: [],
        counters: {
          blobsSkipped: 3,
          blobsMounted: 2,
          blobsUploaded: 11,
          bytesSent: 187_654_321,
          manifestsSkipped: 0,
          manifestsWritten: 3,
          tagsSkipped: 0,
          tagsWritten: 4
        },
        requests: 40,
        retries: 0,
        durationMs: 12_345,
        error:
          i === 5
            ? 'PUT https://harbor.internal.acme.example:8443/v2/payments/checkout-api/manifests/1.42.0 answered 403 DENIED: <html>quota exceeded</html> for project payments; raise the quota or clean up'
            : undefined
      })),
      failed: []
    };
    const page = await rendered(pushSummary(res));
    expect(page.tables[0]).toEqual(expect.objectContaining({hidden: [], scrolls: false}));
    // Hosts differ between rows, so each row keeps its registry.
    expect(page.visibleText).toContain(
      'ghcr.io/acme-corporation/checkout-api 1.42.0 1.42 1 latest sha256:070707070707 179.0 MiB'
    );
    expect(page.visibleText).toContain('docker.io/acme-corporation/checkout-api 1.42.0');
    expect(page.details).toEqual([
      {summary: 'harbor.internal.acme.example:8443/payments/checkout-api failed', open: true}
    ]);
    expect(page.visibleText).toContain('<html>quota exceeded</html>');
  });

  maybe('sign and verify: a 4-platform index by digest and its platforms', async () => {
    const images = ['(index)', 'linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'].map((p, i) => ({
      reference: `${REPO}@${digest(i + 1)}`,
      digest: digest(i + 1),
      tags: i === 0 ? ['1.42.0', 'latest'] : [],
      platform: i === 0 ? undefined : p,
      signaturesBefore: 1,
      signaturesAfter: 2,
      signatures: [`${REPO}:sha256-${hex(i + 1)}.sig`]
    }));
    const attestations = images.flatMap((i, n) =>
      (n === 0 ? ['slsaprovenance1'] : ['slsaprovenance1', 'cyclonedx', 'spdxjson', 'vuln']).map(type => ({
        reference: i.reference,
        type
      }))
    );
    const sign = await rendered(signSummary({images, command: 'cosign sign', attestations}));
    expect(sign.tables[0]).toEqual(expect.objectContaining({hidden: [], scrolls: false}));
    // One registry for every row: its host is left out.
    expect(sign.visibleText).toContain('platform/payments/checkout-api');
    expect(sign.visibleText).not.toContain('amazonaws.com');
    expect(sign.headings).toEqual(['sign: 5 digest(s), 17 attestation(s)']);
    const verify = await rendered(
      verifySummary(
        images.map((i, n) => ({
          ...i,
          verified: n !== 2,
          signatures: 2,
          error:
            n === 2
              ? 'no signature matched identity https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.42.0'
              : undefined
        }))
      )
    );
    expect(verify.tables[0]).toEqual(expect.objectContaining({hidden: [], scrolls: false}));
    expect(verify.headings).toEqual(['verify: 4 of 5 digest(s) verified']);
    // A promotion policy: every requirement per digest, the failed ones with their reason.
    const gated = await rendered(
      verifySummary(
        images.map((i, n) => ({
          ...i,
          signatures: 1,
          verified: n !== 1,
          requirements: [
            {requirement: 'signature', ok: true, detail: '1 signature(s)'},
            {
              requirement: 'provenance',
              ok: n !== 1,
              detail: 'no provenance matches: ref refs/heads/feature/very-long-branch-name does not match refs/tags/v*'
            },
            ...(n
              ? [
                  {
                    requirement: 'vuln',
                    ok: n !== 1,
                    detail: '2 critical, 14 high above medium (CVE-2026-1111, CVE-2026-2222, …)'
                  }
                ]
              : [])
          ]
        }))
      )
    );
    expect(gated.tables[0]).toEqual(expect.objectContaining({hidden: [], scrolls: false}));
    expect(gated.visibleText).toContain('does not match refs/tags/v*');
  });

  maybe('tag and ghcr-cleanup: long references; 600 decisions folded and cut at 500', async () => {
    const meta = {
      classified: ['1.42.0-rc.3', '1.42', 'sha-0a1b2c3', 'pr-1234', 'latest'].flatMap(t =>
        [REPO, 'ghcr.io/acme-corporation/checkout-api'].map(image => ({
          ref: `${image}:${t}`,
          image,
          tag: t,
          kind: 'mutable',
          type: 'semver'
        }))
      )
    } as unknown as Metadata;
    const tag = await rendered(tagSummary(meta));
    expect(tag.tables[0]).toEqual(expect.objectContaining({rows: 10, hidden: []}));
    const versions = Array.from({length: 600}, (_, i) => ({
      id: 1_000_000 + i,
      digest: digest(i % 256),
      tags: i % 2 ? [] : [`pr-${i}`],
      reason: 'ephemeral: pull request #12 closed 2026-10-01 and its branch deleted; older than 30 days'
    }));
    const res: CleanupResult = {
      outcome: 'complete',
      packages: [
        {
          package: 'checkout-api',
          deleted: versions,
          untagged: [],
          kept: [],
          alreadyGone: 0,
          skipped: [],
          failed: [],
          bytesReclaimed: 9_876_543_210,
          broken: [],
          left: [],
          warnings: [],
          pages: 7,
          manifestRequests: 0,
          manifestsStored: 0
        }
      ],
      api: {calls: 10, throttled: 0},
      registryRequests: 0,
      failed: []
    };
    const cleanup = await rendered(cleanupSummary(res, true));
    expect(cleanup.details).toEqual([
      {summary: '600 decision(s) (first 500 listed; the report output has all)', open: false}
    ]);
    expect(cleanup.tables[0]).toEqual(expect.objectContaining({rows: 500, folded: true, hidden: []}));
    expect(cleanup.visibleText).toContain('would delete 600');
  });

  maybe(
    'audit: the storage chart renders in Mermaid; non-compliant served tags first, linked; every column visible',
    async () => {
      const served = (repo: string, n: number, compliant: boolean): AuditResult['repositories'][number]['served'] =>
        Array.from({length: n}, (_, i) => ({
          repository: repo,
          digest: digest(i + 1),
          tags: [`v1.${i}.0`, `1.${i}`],
          createdAt: '2026-11-01T00:00:00Z',
          url: `https://github.com/orgs/acme-corporation/packages/container/${encodeURIComponent(repo)}/${1000 + i}`,
          checked: i % 2 ? 'verified' : 'presence',
          compliant,
          signatures: compliant ? 1 : 0,
          failures: compliant
            ? []
            : [
                {
                  requirement: 'signature',
                  digest: digest(i + 1),
                  reason: 'no signature matches the given key or identity'
                },
                {
                  requirement: 'sbom',
                  digest: digest(i + 50),
                  platform: 'linux/arm64',
                  reason:
                    'sbom present, signed by https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main, not by the required signer'
                }
              ],
          scan: {finished: '2026-12-01T00:00:00Z', ageDays: 6, worst: 'HIGH'}
        }));
      const repos = Array.from({length: 14}, (_, r) => ({
        repository: r === 0 ? 'platform/payments/checkout-api-with-a-long-name' : `service-${r}`,
        path: `acme-corporation/service-${r}`,
        pages: 3,
        url: `https://github.com/orgs/acme-corporation/packages/container/package/service-${r}`,
        images: {tagged: 40 - r, untagged: r * 3},
        tags: 80 - r,
        manifests: 300 - r,
        accessories: 90,
        platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
        storedBytes: (14 - r) * 512 * 1048576,
        reclaimableBytes: (14 - r) * 100 * 1048576,
        reclaimableManifests: 12,
        oldestPush: '2025-01-01T00:00:00Z',
        newestPush: '2026-12-01T00:00:00Z',
        served: r < 2 ? [...served(`service-${r}`, 6, false), ...served(`service-${r}`, 4, true)] : [],
        warnings: []
      }));
      const summary = auditSummary({
        registry: 'ghcr.io',
        backend: 'ghcr',
        generatedAt: '2026-12-07T00:00:00.000Z',
        outcome: 'complete',
        repositories: repos,
        left: [],
        verifications: {done: 10, notVerified: 3},
        requests: {api: 40, registry: 500, manifestReads: 12, manifestsStored: 4000}
      });
      const page = await rendered(summary);
      // GitHub's Mermaid renders the chart: the ten largest repositories, two bars each.
      expect(page.charts).toEqual([
        expect.objectContaining({ok: true, bars: 20, labels: expect.arrayContaining(['service-1', 'service-9'])})
      ]);
      expect(page.headings).toEqual([
        'audit of ghcr.io: 14 repositories',
        'Non-compliant served tags (12)',
        'Repositories'
      ]);
      const [bad, all, good] = page.tables;
      expect(bad.head).toEqual(['repository', 'tags', 'digest', 'checked', 'fails']);
      expect(bad.rows).toBe(12);
      expect(all.rows).toBe(14);
      expect(good.folded).toBe(true);
      for (const t of page.tables) expect({head: t.head, hidden: t.hidden}).toEqual({head: t.head, hidden: []});
      expect(page.links).toContainEqual({
        text: shortDigest(digest(1)),
        href: 'https://github.com/orgs/acme-corporation/packages/container/service-0/1000'
      });
    }
  );
});

describe('summary helpers', () => {
  test.each([
    ['ghcr.io/org/app:1.2@sha256:' + hex(1), 'org/app:1.2@sha256:010101010101'],
    ['localhost:5000/app:v1', 'app:v1'],
    ['localhost/app', 'app'],
    ['library/nginx:1.27', 'library/nginx:1.27'],
    ['nginx', 'nginx'],
    ['oci:/tmp/layout:v1', 'oci:/tmp/layout:v1']
  ])('shortRef(%s) is %s', (ref, short) => {
    expect(shortRef(ref)).toBe(short);
  });

  test.each([
    [
      ['ghcr.io/acme/app:1', 'docker.io/acme/app:1'],
      ['ghcr.io/acme/app:1', 'docker.io/acme/app:1']
    ],
    [
      ['ghcr.io/acme/app:1', 'ghcr.io/acme/web:1'],
      ['acme/app:1', 'acme/web:1']
    ],
    [
      ['localhost:5000/app', 'localhost:5001/app'],
      ['localhost:5000/app', 'localhost:5001/app']
    ],
    [
      ['ghcr.io/acme/app', 'oci:/tmp/layout'],
      ['acme/app', 'oci:/tmp/layout']
    ]
  ])('refShortener keeps the host only where rows differ in it: %j', (refs, shown) => {
    const short = refShortener(refs);
    expect(refs.map(short)).toEqual(shown);
  });

  test('fit keeps whole sections under the limit and says how many it left out', () => {
    expect(fit(['<p>a</p>', '<p>b</p>', '<p>c</p>'], 'see the report', 17)).toBe(
      "<p>a</p><p>b</p><p>1 more section(s) left out to stay under GitHub's 1 MiB summary limit; see the report.</p>\n"
    );
  });
});
