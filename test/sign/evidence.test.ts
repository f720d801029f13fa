import {describe, expect, test} from '@jest/globals';
import crypto from 'node:crypto';
import {planEvidence} from '../../src/shared/evidence/plan.js';
import {provenancePredicate} from '../../src/shared/evidence/provenance.js';
import {vulnPredicate} from '../../src/shared/evidence/vuln.js';
import {attestationsByDigest} from '../../src/shared/evidence/write.js';
import {checkAttestation, statementsOf} from '../../src/shared/policy/check.js';
import {parsePolicy} from '../../src/shared/policy/policy.js';
import {buildParameters} from '../../src/shared/push/push.js';
import {Target} from '../../src/shared/sign/targets.js';
import {issuedCertificate, signingCertRequest, tokenSubject} from '../../src/shared/sigstore/fulcio.js';
import {fulcioUrl, parseSigningConfig, withoutTlog} from '../../src/shared/sigstore/signing-config.js';
import {MEDIA} from '../../src/shared/registry/media.js';

const ENV = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/app',
  GITHUB_REF: 'refs/tags/v1.2.3',
  GITHUB_SHA: 'abc123',
  GITHUB_WORKFLOW_REF: 'acme/app/.github/workflows/release.yml@refs/tags/v1.2.3',
  GITHUB_RUN_ID: '99',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_EVENT_NAME: 'push',
  RUNNER_ENVIRONMENT: 'github-hosted'
};

const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const index: Target = {
  registry: 'r',
  repository: 'app',
  digest: d(1),
  mediaType: MEDIA.ociIndex,
  tags: ['v1'],
  inputs: []
};
const amd64: Target = {
  ...index,
  digest: d(2),
  mediaType: MEDIA.ociManifest,
  tags: [],
  parent: d(1),
  platform: 'linux/amd64'
};
const arm64: Target = {...amd64, digest: d(3), platform: 'linux/arm64'};
const statement = (digest: string, predicate: unknown): {subject: unknown[]; predicate: unknown} => ({
  subject: [{digest: {sha256: digest.slice(7)}}],
  predicate
});

describe('provenance (SLSA v1) from the workflow context', () => {
  test('the fields GitHub records: builder from the workflow ref, source at its commit, run and attempt', () => {
    expect(provenancePredicate(ENV, {context: '.'})).toEqual({
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: {
            ref: 'refs/tags/v1.2.3',
            repository: 'https://github.com/acme/app',
            path: '.github/workflows/release.yml'
          },
          build: {context: '.'}
        },
        internalParameters: {github: {event_name: 'push', runner_environment: 'github-hosted'}},
        resolvedDependencies: [{uri: 'git+https://github.com/acme/app@refs/tags/v1.2.3', digest: {gitCommit: 'abc123'}}]
      },
      runDetails: {
        builder: {id: 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3'},
        metadata: {invocationId: 'https://github.com/acme/app/actions/runs/99/attempts/2'}
      }
    });
  });
  test('outside a workflow it names the missing variable', () => {
    expect(() => provenancePredicate({...ENV, GITHUB_SHA: ''})).toThrow('$GITHUB_SHA is not set');
  });
  test("push-multi's build parameters: context, file, platforms, build arguments, target", () => {
    expect(
      buildParameters({
        context: '.',
        file: 'Dockerfile',
        platforms: ['linux/amd64'],
        buildArgs: ['VERSION=1.2.3', 'X=a=b'],
        labels: [],
        annotations: [],
        cacheFrom: [],
        cacheTo: [],
        secretEnvs: ['id=npm,env=NPM_TOKEN']
      })
    ).toEqual({context: '.', file: 'Dockerfile', platforms: ['linux/amd64'], buildArgs: {VERSION: '1.2.3', X: 'a=b'}});
  });
});

describe('which evidence goes on which digest', () => {
  test('provenance on every digest, SBOM and scan on each platform manifest', () => {
    const scan = {
      targets: [amd64, arm64].map(t => ({
        target: `r/app@${t.digest}`,
        digest: t.digest,
        trivyReport: 'x',
        passed: true
      }))
    };
    const plan = planEvidence([index, amd64, arm64], {sbom: ['cyclonedx', 'spdx'], provenance: true}, scan);
    expect(plan.map(p => `${p.kind} ${p.targets.map(t => t.digest.slice(7, 8)).join('')}`)).toEqual([
      'provenance 123',
      'cyclonedx 2',
      'cyclonedx 3',
      'spdx 2',
      'spdx 3',
      'vuln 2',
      'vuln 3'
    ]);
    // One digest's attestations together, in plan order (they run one after another).
    const byDigest = attestationsByDigest(
      plan.map(p => ({label: p.label, type: p.kind, file: p.kind, targets: p.targets}))
    );
    expect(byDigest.map(([t, l]) => `${t.digest.slice(7, 8)}: ${l.map(p => p.type).join(',')}`)).toEqual([
      '1: provenance',
      '2: provenance,cyclonedx,spdx,vuln',
      '3: provenance,cyclonedx,spdx,vuln'
    ]);
  });
  test('one image in two registries (push-multi refs): each SBOM made once, attested in both', () => {
    const mirror = (t: Target): Target => ({...t, registry: 'mirror'});
    const plan = planEvidence([index, amd64, arm64, mirror(index), mirror(amd64), mirror(arm64)], {
      sbom: ['spdx'],
      provenance: false
    });
    expect(plan.map(p => p.targets.map(t => `${t.registry}@${t.digest.slice(7, 8)}`))).toEqual([
      ['r@2', 'mirror@2'],
      ['r@3', 'mirror@3']
    ]);
  });
  test('a single-manifest image is its own platform; an index without recursive has none; an unscanned platform is named', () => {
    expect(
      planEvidence([{...amd64, parent: undefined}], {sbom: ['cyclonedx'], provenance: false}).map(p => p.kind)
    ).toEqual(['cyclonedx']);
    expect(() => planEvidence([index], {sbom: ['spdx'], provenance: false})).toThrow('recursive: true');
    const scan = {targets: [{target: 'r/app', digest: amd64.digest, trivyReport: 'x', passed: true}]};
    expect(() => planEvidence([index, amd64, arm64], {sbom: [], provenance: false}, scan)).toThrow(
      `the scan has no result for r/app@${arm64.digest} (linux/arm64)`
    );
  });
  test("vuln predicate: trivy's result without the scan's ignored findings, which are listed with their reason", () => {
    const p = vulnPredicate(
      {
        scanner: {name: 'trivy', version: '0.76.0', db: {repository: 'mirror/db:2', updatedAt: '2026-11-30'}},
        targets: []
      },
      {
        target: 'r/app@x',
        digest: 'x',
        trivyReport: 'f',
        passed: true,
        ignored: [{id: 'CVE-1', pkg: 'a', reason: 'not reachable'}]
      },
      {
        Results: [
          {
            Vulnerabilities: [
              {VulnerabilityID: 'CVE-1', PkgName: 'a'},
              {VulnerabilityID: 'CVE-2', PkgName: 'b'}
            ]
          }
        ]
      },
      'https://github.com/acme/app/actions/runs/1'
    );
    expect(p.scanner.result.Results?.[0].Vulnerabilities?.map(v => v.VulnerabilityID)).toEqual(['CVE-2']);
    expect(p.scanner).toMatchObject({
      uri: 'pkg:github/aquasecurity/trivy@0.76.0',
      db: {uri: 'mirror/db:2', version: '2026-11-30'}
    });
    expect(p.invocation.parameters).toMatchObject({ignored: [{id: 'CVE-1', reason: 'not reachable'}]});
  });
});

describe('promotion policy', () => {
  const signer =
    'signer: {issuer: https://token.actions.githubusercontent.com, identity-regexp: ^https://github.com/acme/}';
  test.each([
    ['attestations:\n  provenanc: {}', 'attestations.provenanc: unknown attestation "provenanc"'],
    ['attestations:\n  vuln: {max-severity: severe}', 'attestations.vuln.max-severity: "severe" is not a severity'],
    ['attestations:\n  vuln: {max-age: 7}', 'attestations.vuln.max-age: "7" is not a number of days'],
    ['attestations:\n  sbom: {format: swid}', 'attestations.sbom.format: "swid" is neither cyclonedx nor spdx'],
    ['attestations:\n  sbom: {on: index}', 'attestations.sbom.on: "index" is neither every-digest nor platforms'],
    ['attestations:\n  provenance: {repo: acme/app}', 'attestations.provenance: unknown key "repo"'],
    [
      'attestations:\n  custom-approval: {}',
      'attestations.custom-approval.type: a custom attestation needs its predicate type'
    ],
    ['attestations:\n  provenance: {builder-id-regexp: "("}', 'builder-id-regexp: not a regular expression'],
    ['signers: {}', '(top): unknown key "signers"']
  ])('%s fails naming the problem', (body, message) => {
    expect(() => parsePolicy(`${signer}\n${body}`, 'policy')).toThrow(message);
  });
  test('a policy without a signer takes the inputs; without either it fails', () => {
    expect(() => parsePolicy('attestations: {sbom: {}}', 'policy')).toThrow('policy: signer: missing');
    const inputs = {key: 'cosign.pub', ignoreTlog: false, bundleFormat: 'new' as const};
    expect(parsePolicy('attestations: {sbom: {}}', 'policy', inputs).signer).toBe(inputs);
  });

  const policy = parsePolicy(
    `${signer}\nattestations:\n  provenance: {repository: acme/app, ref: "refs/tags/v*"}\n  vuln: {max-severity: high, max-age: 7d}\n  sbom: {}`,
    'policy'
  );
  const [prov, vuln, sbom] = policy.attestations;
  const now = new Date('2026-12-01T00:00:00Z');
  const scan = (finished: string, severities: string[]): unknown => ({
    metadata: {scanFinishedOn: finished},
    scanner: {
      result: {Results: [{Vulnerabilities: severities.map((s, i) => ({VulnerabilityID: `CVE-${i}`, Severity: s}))}]}
    }
  });
  test.each([
    ['provenance from the repository at a matching ref', prov, [statement(d(1), provenancePredicate(ENV))], 'ok'],
    [
      'provenance from another ref',
      prov,
      [statement(d(1), provenancePredicate({...ENV, GITHUB_REF: 'refs/heads/dev'}))],
      'ref refs/heads/dev does not match refs/tags/v*'
    ],
    [
      'provenance from another repository',
      prov,
      [
        statement(
          d(1),
          provenancePredicate({
            ...ENV,
            GITHUB_REPOSITORY: 'evil/app',
            GITHUB_WORKFLOW_REF: 'evil/app/w.yml@refs/tags/v1'
          })
        )
      ],
      'built from evil/app, not acme/app'
    ],
    ['an attestation about another digest does not count', sbom, [statement(d(9), {})], 'no verified sbom attestation'],
    ['a recent clean scan', vuln, [statement(d(1), scan('2026-11-30T00:00:00Z', ['HIGH', 'MEDIUM']))], 'ok'],
    [
      'the newest scan decides: an older clean one does not outvote it',
      vuln,
      [
        statement(d(1), scan('2026-11-20T00:00:00Z', [])),
        statement(d(1), scan('2026-11-30T00:00:00Z', ['CRITICAL', 'LOW']))
      ],
      '1 critical above high (CVE-0)'
    ],
    [
      'a scan older than max-age',
      vuln,
      [statement(d(1), scan('2026-11-01T00:00:00Z', []))],
      'the newest scan is 30 days old, older than 7d'
    ]
  ])('%s', (_name, rule, statements, expected) => {
    const check = checkAttestation(rule, statements as never, d(1), now);
    expect(check.ok ? 'ok' : check.reason).toContain(expected);
  });
  test("statements are read from verify-attestation's envelopes, cosign's own lines skipped", () => {
    const payload = Buffer.from(JSON.stringify(statement(d(1), {a: 1}))).toString('base64');
    expect(
      statementsOf(`Verification for x --\n{"payloadType":"application/vnd.in-toto+json","payload":"${payload}"}\n`)
    ).toEqual([statement(d(1), {a: 1})]);
  });
});

describe('Sigstore settings and Fulcio', () => {
  const config = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [
      {
        url: 'https://old-ca.example',
        majorApiVersion: 1,
        validFor: {start: '2020-01-01T00:00:00Z', end: '2025-01-01T00:00:00Z'}
      },
      {url: 'https://ca.example/', majorApiVersion: 1, validFor: {start: '2024-06-01T00:00:00Z'}}
    ],
    rekorTlogUrls: [{url: 'https://rekor.example', majorApiVersion: 2}],
    rekorTlogConfig: {selector: 'ANY'},
    tsaUrls: [{url: 'https://tsa.example', majorApiVersion: 1}]
  };
  test('the Fulcio valid now; without the log the config keeps everything but Rekor', () => {
    const parsed = parseSigningConfig(JSON.stringify(config), 'signing-config');
    expect(fulcioUrl(parsed, 'signing-config', new Date('2026-12-01'))).toBe('https://ca.example');
    expect(withoutTlog(parsed)).toEqual({mediaType: config.mediaType, caUrls: config.caUrls, tsaUrls: config.tsaUrls});
    expect(() => parseSigningConfig('{"mediaType": "x"}', 'signing-config')).toThrow(
      'is not a Sigstore signing config'
    );
    expect(() => fulcioUrl({caUrls: []}, 'signing-config')).toThrow('names no certificate authority');
  });
  test("the proof of possession signs the token's subject with the run's key", () => {
    const {privateKey, publicKey} = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'});
    const token = `h.${Buffer.from(JSON.stringify({sub: 'repo:acme/app:ref:refs/heads/main'})).toString('base64url')}.s`;
    expect(tokenSubject(token)).toBe('repo:acme/app:ref:refs/heads/main');
    const body = signingCertRequest(token, privateKey) as {
      credentials: {oidcIdentityToken: string};
      publicKeyRequest: {publicKey: {content: string}; proofOfPossession: string};
    };
    expect(body.credentials.oidcIdentityToken).toBe(token);
    expect(
      crypto.verify(
        'sha256',
        Buffer.from('repo:acme/app:ref:refs/heads/main'),
        crypto.createPublicKey(body.publicKeyRequest.publicKey.content),
        Buffer.from(body.publicKeyRequest.proofOfPossession, 'base64')
      )
    ).toBe(true);
    expect(publicKey.export({format: 'pem', type: 'spki'})).toBe(body.publicKeyRequest.publicKey.content);
    expect(issuedCertificate({signedCertificateDetachedSct: {chain: {certificates: ['leaf', 'ca']}}})).toEqual({
      certificate: 'leaf',
      chain: ['ca']
    });
  });
});
