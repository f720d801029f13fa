import {describe, expect, test} from '@jest/globals';
import {ManifestFacts, ManifestState, PackageVersion} from '../../src/shared/cleanup/model.js';
import {packageGraph, planCleanup} from '../../src/shared/cleanup/plan.js';
import {compilePolicy} from '../../src/shared/cleanup/policy.js';
import {inventory} from '../../src/shared/audit/inventory.js';
import {
  SIGN_PREDICATE,
  VULN_PREDICATE,
  presenceCompliance,
  failuresByRequirement
} from '../../src/shared/audit/compliance.js';
import {auditMetrics} from '../../src/shared/audit/metrics.js';
import {auditSummary, storageChart} from '../../src/shared/audit/summary.js';
import {AuditResult, RepositoryAudit} from '../../src/shared/audit/run.js';
import {scanFacts} from '../../src/shared/audit/scans.js';
import {parsePolicy} from '../../src/shared/policy/policy.js';
import {SUMMARY_LIMIT} from '../../src/shared/summary.js';

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const NOW = Date.parse('2026-12-07T00:00:00Z');
const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A small package: versions and the facts behind them, built from a description. */
class Pkg {
  versions: PackageVersion[] = [];
  manifests = new Map<string, ManifestState>();
  private id = 1;
  add(
    digest: string,
    tags: string[],
    facts: Partial<ManifestFacts>,
    createdAt = '2026-11-01T00:00:00Z',
    listed = true
  ): string {
    if (listed) this.versions.push({id: this.id++, digest, tags, createdAt});
    this.manifests.set(digest, {digest, mediaType: MANIFEST, children: [], blobs: [], ...facts});
    return digest;
  }
  platform(n: number, blobs: Array<[number, number]>, tags: string[] = []): string {
    return this.add(d(n), tags, {blobs: blobs.map(([b, size]) => ({digest: d(b), size}))});
  }
  index(n: number, kids: Array<[string, string]>, tags: string[], createdAt?: string): string {
    return this.add(
      d(n),
      tags,
      {mediaType: INDEX, children: kids.map(([digest, platform]) => ({digest, platform, attestation: false}))},
      createdAt
    );
  }
  /** A referrer of `subject` holding these predicate types (a cosign bundle, say). */
  referrer(n: number, subject: string, predicateTypes: string[], created?: string): string {
    return this.add(d(n), [], {
      subject,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      predicateTypes,
      blobs: [{digest: d(n + 0x10000), size: 100}],
      ...(created ? {created} : {})
    });
  }
}

const noRules = compilePolicy(
  {
    deleteTags: [],
    excludeTags: [],
    useRegex: false,
    deleteUntagged: false,
    deleteOrphans: false,
    deleteGhosts: false,
    deletePartial: false,
    ephemeral: [],
    branchTags: []
  },
  true
);

describe('inventory', () => {
  test('distinct blobs counted once per repository; images, tags, platforms, push range; reclaimable from the plan', () => {
    const p = new Pkg();
    // Two images share their platform manifests (and so their blobs); a third has its own.
    const a1 = p.platform(1, [
      [100, 1000],
      [101, 10]
    ]);
    const a2 = p.platform(2, [
      [102, 2000],
      [101, 10]
    ]);
    p.index(
      3,
      [
        [a1, 'linux/amd64'],
        [a2, 'linux/arm64']
      ],
      ['v1'],
      '2026-01-01T00:00:00Z'
    );
    p.index(
      4,
      [
        [a1, 'linux/amd64'],
        [a2, 'linux/arm64']
      ],
      ['v2'],
      '2026-02-01T00:00:00Z'
    );
    const c1 = p.platform(5, [
      [103, 3000],
      [101, 10]
    ]);
    p.index(6, [[c1, 'linux/amd64']], ['v3', 'latest'], '2026-03-01T00:00:00Z');
    // An untagged image that no index lists.
    p.add(d(7), [], {blobs: [{digest: d(104), size: 500}]}, '2025-06-01T00:00:00Z');
    p.referrer(8, d(6), [SIGN_PREDICATE]);
    const graph = packageGraph(p);
    const rules = {...noRules, keepNTagged: 1, deleteUntagged: true};
    const plan = planCleanup({versions: p.versions, manifests: p.manifests, policy: rules, now: NOW, complete: true});
    const inv = inventory('team/app', p.versions, p.manifests, graph, plan);
    expect(inv).toEqual({
      repository: 'team/app',
      images: {tagged: 3, untagged: 1},
      tags: 4,
      manifests: 8,
      accessories: 1,
      platforms: ['linux/amd64', 'linux/arm64'],
      storedBytes: 1000 + 2000 + 10 + 3000 + 500 + 100,
      // v1, v2 (and the platforms only they list) and the untagged image go; the shared config stays.
      reclaimableBytes: 1000 + 2000 + 500,
      reclaimableManifests: 5,
      oldestPush: '2025-06-01T00:00:00Z',
      newestPush: '2026-03-01T00:00:00Z'
    });
    // Without retention rules nothing is reclaimable.
    const none = planCleanup({versions: p.versions, manifests: p.manifests, policy: noRules, now: NOW, complete: true});
    expect(inventory('team/app', p.versions, p.manifests, graph, none).reclaimableBytes).toBe(0);
  });
});

const POLICY = parsePolicy(
  `signer: {key: cosign.pub}
attestations:
  provenance: {}
  sbom: {format: cyclonedx}
  vuln: {max-severity: high, max-age: 7d}`,
  'compliance-policy'
);
const PROV = 'https://slsa.dev/provenance/v1';
const CDX = 'https://cyclonedx.org/bom';

describe('compliance by presence', () => {
  /** An index with two platforms and the evidence each digest carries, as a table row says. */
  function image(row: {
    signed: Array<'index' | 'amd64' | 'arm64'>;
    provenance: Array<'index' | 'amd64' | 'arm64'>;
    sbom: Array<'amd64' | 'arm64'>;
    scans: Array<{on: 'amd64' | 'arm64'; finished: string; worst?: 'HIGH' | 'CRITICAL'}>;
    legacySig?: boolean;
  }): ReturnType<typeof presenceCompliance> {
    const p = new Pkg();
    const at = {amd64: p.platform(1, [[100, 1]]), arm64: p.platform(2, [[101, 1]]), index: d(3)};
    p.index(
      3,
      [
        [at.amd64, 'linux/amd64'],
        [at.arm64, 'linux/arm64']
      ],
      ['v1']
    );
    let n = 10;
    for (const w of row.signed) {
      if (row.legacySig && w === 'index') p.add(d(n++), [`${at.index.replace(':', '-')}.sig`], {});
      else p.referrer(n++, at[w], [SIGN_PREDICATE]);
    }
    for (const w of row.provenance) p.referrer(n++, at[w], [PROV]);
    for (const w of row.sbom) p.referrer(n++, at[w], [CDX]);
    const scans = new Map<string, {finished?: string; worst?: 'HIGH' | 'CRITICAL'}>();
    for (const s of row.scans) {
      const r = p.referrer(n++, at[s.on], [VULN_PREDICATE]);
      scans.set(r, {finished: s.finished, ...(s.worst ? {worst: s.worst} : {})});
    }
    return presenceCompliance(
      {repository: 'team/app', digest: at.index, tags: ['v1'], createdAt: '2026-11-01T00:00:00Z'},
      packageGraph(p),
      p.manifests,
      POLICY,
      scans,
      NOW
    );
  }
  const all = ['index', 'amd64', 'arm64'] as Array<'index' | 'amd64' | 'arm64'>;
  const fresh = [
    {on: 'amd64' as const, finished: '2026-12-05T00:00:00Z'},
    {on: 'arm64' as const, finished: '2026-12-06T00:00:00Z', worst: 'HIGH' as const}
  ];
  test.each([
    ['everything present', {signed: all, provenance: all, sbom: ['amd64', 'arm64'], scans: fresh}, []],
    [
      'legacy .sig tag counts as a signature',
      {signed: all, provenance: all, sbom: ['amd64', 'arm64'], scans: fresh, legacySig: true},
      []
    ],
    [
      'unsigned platform',
      {signed: ['index', 'amd64'], provenance: all, sbom: ['amd64', 'arm64'], scans: fresh},
      ['signature linux/arm64: not signed']
    ],
    [
      'SBOM on one platform only',
      {signed: all, provenance: all, sbom: ['amd64'], scans: fresh},
      ['sbom linux/arm64: no sbom attestation']
    ],
    [
      'provenance missing on the index',
      {signed: all, provenance: ['amd64', 'arm64'], sbom: ['amd64', 'arm64'], scans: fresh},
      ['provenance index: no provenance attestation']
    ],
    [
      'a stale scan, and a newer one elsewhere',
      {
        signed: all,
        provenance: all,
        sbom: ['amd64', 'arm64'],
        scans: [fresh[1], {on: 'amd64', finished: '2026-10-01T00:00:00Z'}]
      },
      ['vuln linux/amd64: the newest scan is 67 days old, older than 7d']
    ],
    [
      'the newest scan decides: an old critical finding superseded by a clean scan passes',
      {
        signed: all,
        provenance: all,
        sbom: ['amd64', 'arm64'],
        scans: [...fresh, {on: 'amd64', finished: '2026-11-01T00:00:00Z', worst: 'CRITICAL'}]
      },
      []
    ],
    [
      'a critical finding in the newest scan',
      {
        signed: all,
        provenance: all,
        sbom: ['amd64', 'arm64'],
        scans: [fresh[0], {on: 'arm64', finished: '2026-12-06T00:00:00Z', worst: 'CRITICAL'}]
      },
      ['vuln linux/arm64: the newest scan found critical vulnerabilities, above high']
    ],
    [
      'nothing at all',
      {signed: [], provenance: [], sbom: [], scans: []},
      [
        'signature index: not signed',
        'signature linux/amd64: not signed',
        'signature linux/arm64: not signed',
        'provenance index: no provenance attestation',
        'provenance linux/amd64: no provenance attestation',
        'provenance linux/arm64: no provenance attestation',
        'sbom linux/amd64: no sbom attestation',
        'sbom linux/arm64: no sbom attestation',
        'vuln linux/amd64: no vuln attestation',
        'vuln linux/arm64: no vuln attestation'
      ]
    ]
  ] as const)('%s', (_name, row, expected) => {
    const c = image(row as unknown as Parameters<typeof image>[0]);
    expect(c.failures.map(f => `${f.requirement} ${f.platform ?? 'index'}: ${f.reason}`)).toEqual(expected);
    expect(c.compliant).toBe(expected.length === 0);
    expect(c.checked).toBe('presence');
  });
  test("the image's scan: the stalest platform's newest scan, and the worst severity any found", () => {
    const c = image({
      signed: all,
      provenance: all,
      sbom: ['amd64', 'arm64'],
      scans: [
        {on: 'amd64', finished: '2026-12-01T00:00:00Z'},
        {on: 'arm64', finished: '2026-12-06T00:00:00Z', worst: 'HIGH'}
      ]
    });
    expect(c.scan).toEqual({finished: '2026-12-01T00:00:00Z', ageDays: 6, worst: 'HIGH'});
    expect(failuresByRequirement([c, {...c, failures: [{requirement: 'sbom', digest: d(1), reason: 'x'}]}])).toEqual(
      new Map([['sbom', 1]])
    );
  });
  test("a scan statement's finish time and worst severity", () => {
    expect(
      scanFacts({
        predicateType: VULN_PREDICATE,
        predicate: {
          metadata: {scanFinishedOn: '2026-12-01T00:00:00Z'},
          scanner: {
            result: {
              Results: [
                {Target: 'x', Vulnerabilities: [{VulnerabilityID: 'a', Severity: 'MEDIUM'}]},
                {Target: 'y', Vulnerabilities: [{VulnerabilityID: 'b', Severity: 'CRITICAL'}]}
              ]
            }
          }
        }
      })
    ).toEqual({finished: '2026-12-01T00:00:00Z', worst: 'CRITICAL'});
    expect(scanFacts({predicate: {metadata: {}}})).toEqual({});
  });
});

function repo(
  name: string,
  stored: number,
  reclaimable: number,
  served: RepositoryAudit['served'] = []
): RepositoryAudit {
  return {
    repository: name,
    path: `team/${name}`,
    pages: 1,
    images: {tagged: 2, untagged: 1},
    tags: 3,
    manifests: 7,
    accessories: 1,
    platforms: ['linux/amd64'],
    storedBytes: stored,
    reclaimableBytes: reclaimable,
    reclaimableManifests: 1,
    oldestPush: '2026-01-01T00:00:00Z',
    newestPush: '2026-03-01T00:00:00Z',
    served,
    warnings: []
  };
}

const result = (repositories: RepositoryAudit[]): AuditResult => ({
  registry: 'ghcr.io',
  backend: 'ghcr',
  generatedAt: '2026-12-07T00:00:00.000Z',
  outcome: 'complete',
  repositories,
  left: [],
  verifications: {done: 1, notVerified: 0},
  requests: {api: 3, registry: 10, manifestReads: 4, manifestsStored: 0}
});

const bad = {
  repository: 'app',
  digest: d(1),
  tags: ['v1'],
  createdAt: '2026-11-01T00:00:00Z',
  checked: 'verified' as const,
  compliant: false,
  failures: [{requirement: 'signature', digest: d(1), reason: 'no matching signatures'}],
  signatures: 1
};
const good = {...bad, digest: d(2), tags: ['v2'], compliant: true, failures: []};

describe('metrics (Prometheus text format)', () => {
  test('one HELP and TYPE per family, labels escaped, values per repository and requirement', () => {
    const text = auditMetrics(result([repo('app', 2048, 1024, [bad, good]), repo('we"ird\\name', 10, 0)]));
    const lines = text.trimEnd().split('\n');
    for (const l of lines.filter(x => x.startsWith('# HELP '))) {
      const name = l.split(' ')[2];
      expect(lines.filter(x => x === `# TYPE ${name} gauge`)).toHaveLength(1);
    }
    expect(lines).toEqual(
      expect.arrayContaining([
        'registry_audit_stored_bytes{registry="ghcr.io",repository="app"} 2048',
        'registry_audit_reclaimable_bytes{registry="ghcr.io",repository="app"} 1024',
        'registry_audit_images{registry="ghcr.io",repository="app",state="untagged"} 1',
        'registry_audit_served_images{registry="ghcr.io",repository="app",verdict="noncompliant"} 1',
        'registry_audit_noncompliant_images{registry="ghcr.io",repository="app",requirement="signature"} 1',
        'registry_audit_stored_bytes{registry="ghcr.io",repository="we\\"ird\\\\name"} 10',
        'registry_audit_oldest_push_timestamp_seconds{registry="ghcr.io",repository="app"} 1767225600',
        'registry_audit_complete{registry="ghcr.io"} 1'
      ])
    );
  });
});

describe('summary', () => {
  test('totals, a Mermaid chart of the largest repositories, non-compliant served tags before the repositories', () => {
    const s = auditSummary(result([repo('small', 1048576, 0), repo('big', 10 * 1048576, 5 * 1048576, [bad, good])]));
    expect(s).toContain('6 images (4 tagged), 6 tags, 14 manifests; 11.0 MiB stored, 5.0 MiB reclaimable');
    expect(s).toContain('1 of 2 served images non-compliant');
    expect(s.indexOf('Non-compliant served tags')).toBeLessThan(s.indexOf('Repositories'));
    expect(storageChart([repo('small', 1048576, 0), repo('big', 10 * 1048576, 5 * 1048576)])).toContain(
      'x-axis ["big", "small"]\n  y-axis "MiB" 0 --> 10\n  bar [10.0, 1.0]\n  bar [5.0, 0.0]'
    );
  });
  test("stays under GitHub's 1 MiB summary limit with thousands of non-compliant images", () => {
    const many = Array.from({length: 5000}, (_, i) => ({...bad, digest: d(i + 1), tags: [`v${i}`.repeat(20)]}));
    const repos = Array.from({length: 400}, (_, i) => repo(`r${i}`.repeat(30), i, 0, i === 0 ? many : []));
    expect(Buffer.byteLength(auditSummary(result(repos)))).toBeLessThan(SUMMARY_LIMIT);
  });
});
