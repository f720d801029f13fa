import {execFile} from 'node:child_process';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';
import {Fixture, LayoutBuilder, multiPlatformFixture} from '../helpers/images.js';
import {Registry, skopeo, startRegistry} from '../helpers/registry.js';
import {ActionRun, errorLines, runBundledAction} from '../helpers/run-action.js';
import {Sigstore, sigstoreTools, startSigstore} from '../helpers/sigstore.js';
import {alpineFiles, dbWriter, pushDb} from '../helpers/trivy-db.js';
import {nodeRuntimes, requireTool} from '../helpers/tools.js';
import {makeCa, makeServerCert} from '../helpers/pki.js';
import {startInterceptingProxy} from '../helpers/proxy.js';
import {GH_TOKEN, GhcrEmulator, startGhcr} from '../helpers/ghcr.js';

/**
 * Keyless signing through the bundled action against a real local Sigstore: Fulcio issues the
 * certificate for our OIDC issuer's token (the runner's protocol), Rekor v2 logs, the TSA stamps, and
 * plain cosign verifies every signature and attestation independently of our code.
 */
const cosign = requireTool('cosign');
const trivy = requireTool('trivy');
const ghCli = requireTool('gh');
const ready =
  !!cosign &&
  !!trivy &&
  !!dbWriter() &&
  !!requireTool('docker-registry') &&
  !!requireTool('skopeo') &&
  !!sigstoreTools() &&
  !!ghCli;
const maybe = ready ? test : test.skip;

const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x'];
const IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

let sigstore: Sigstore;
let registry: Registry;
let fixture: Fixture;
/** A two-platform Alpine-like release: amd64 has a HIGH finding (openssl), arm64 only a MEDIUM one. */
let release: {ref: string; index: string; amd64: string; arm64: string};

interface Signed {
  reference: string;
  digest: string;
  platform?: string;
  signaturesBefore: number;
  signaturesAfter: number;
  signatures: string[];
}

/** The workflow environment of a job with id-token: write, as the runner sets it. */
function jobEnv(over: Record<string, string> = {}): Record<string, string> {
  return {
    ...sigstore.env,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_REPOSITORY_ID: '1296269',
    GITHUB_REPOSITORY_OWNER_ID: '9919',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_SHA: '0f3c9a2e5b7d4c1a8e6f0b2d4c6a8e0f1b3d5c7a',
    GITHUB_WORKFLOW_REF: 'acme/app/.github/workflows/release.yml@refs/heads/main',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_EVENT_NAME: 'push',
    RUNNER_ENVIRONMENT: 'github-hosted',
    ...over
  };
}

const keyless = (images: string, extra: Record<string, string> = {}): Record<string, string> => ({
  images,
  'signing-config': sigstore.signingConfig,
  'trusted-root': sigstore.trustedRoot,
  'cosign-path': cosign as string,
  ...extra
});

/** Plain cosign, as a user would check the result: verify or verify-attestation by identity and issuer. */
async function cosignVerify(
  ref: string,
  extra: string[] = [],
  identity = ['--certificate-identity', IDENTITY]
): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const {stdout, stderr} = await promisify(execFile)(
      cosign as string,
      [
        extra[0] === 'verify-attestation' ? 'verify-attestation' : 'verify',
        ...extra.slice(extra[0] === 'verify-attestation' ? 1 : 0),
        '--trusted-root',
        sigstore.trustedRoot,
        ...identity,
        '--certificate-oidc-issuer',
        sigstore.oidc.url,
        '--allow-http-registry',
        ref
      ],
      {env: {PATH: process.env.PATH ?? '', HOME: sigstore.dir}, maxBuffer: 64 << 20}
    );
    return {code: 0, stdout, stderr};
  } catch (err) {
    const e = err as {code: number; stdout: string; stderr: string};
    return {code: e.code, stdout: e.stdout, stderr: e.stderr};
  }
}

async function pushFixture(repo: string, tags: string[]): Promise<void> {
  for (const tag of tags)
    await skopeo([
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${fixture.dir}:v1`,
      `docker://${registry.host}/${repo}:${tag}`
    ]);
}

beforeAll(async () => {
  if (!ready) return;
  [sigstore, registry] = await Promise.all([startSigstore(cosign as string), startRegistry() as Promise<Registry>]);
  fixture = multiPlatformFixture({platforms: PLATFORMS, seed: 'keyless'});
  await pushDb(registry.host, 'trivy-db');
  const b = new LayoutBuilder();
  const a = b.imageWithFiles({os: 'linux', architecture: 'amd64'}, alpineFiles('3.1.4-r0'));
  const r = b.imageWithFiles({os: 'linux', architecture: 'arm64'}, alpineFiles('3.1.5-r0'));
  const index = b.index([a, r]);
  b.tag(index, 'v2');
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${b.dir}:v2`, `docker://${registry.host}/rel:v2`]);
  release = {ref: `${registry.host}/rel:v2`, index: index.digest, amd64: a.digest, arm64: r.digest};
}, 120000);

afterAll(async () => {
  await Promise.all([sigstore?.stop(), registry?.stop()]);
});

describe('keyless signing against a real local Sigstore', () => {
  maybe(
    'two tags and the digest of a 4-platform image: one signature per digest, one Fulcio certificate, one Rekor entry per digest; plain cosign verifies each',
    async () => {
      await pushFixture('app', ['v1', 'v1.0']);
      const certs = sigstore.certificates();
      const entries = sigstore.rekorEntries();
      const tokens = sigstore.oidc.issued;
      const run = await runBundledAction(
        'sign',
        keyless(`${registry.host}/app:v1\n${registry.host}/app:v1.0\n${registry.host}/app@${fixture.digest}`),
        jobEnv()
      );
      expect({code: run.code, errors: errorLines(run), log: run.code ? sigstore.logs() : ''}).toEqual({
        code: 0,
        errors: [],
        log: ''
      });
      const signed = JSON.parse(run.outputs.signed) as Signed[];
      expect(signed.map(s => s.digest)).toEqual([fixture.digest, ...fixture.manifests.map(m => m.digest)]);
      for (const s of signed) expect([s.signaturesBefore, s.signaturesAfter, s.signatures.length]).toEqual([0, 1, 1]);
      // Counted at the services: cosign alone would ask Fulcio once per digest (5).
      expect(sigstore.certificates() - certs).toBe(1);
      expect(sigstore.oidc.issued - tokens).toBe(1);
      expect(sigstore.rekorEntries() - entries).toBe(5);
      // The token is masked; the log shows no temporary key path as the command.
      expect(run.stdout).toMatch(/::add-mask::eyJ/);
      for (const s of signed) {
        const v = await cosignVerify(s.reference);
        expect({ref: s.reference, code: v.code, err: v.code ? v.stderr : ''}).toEqual({
          ref: s.reference,
          code: 0,
          err: ''
        });
      }
      // Identity and issuer by regexp also verify; a wrong identity or issuer does not.
      expect(
        (await cosignVerify(signed[0].reference, [], ['--certificate-identity-regexp', '^https://github\\.com/acme/']))
          .code
      ).toBe(0);
      expect(
        (await cosignVerify(signed[0].reference, [], ['--certificate-identity', IDENTITY.replace('main', 'dev')])).code
      ).not.toBe(0);
    }
  );

  maybe(
    'without the transparency log and without a timestamp authority: the run says before signing what verifiers will refuse',
    async () => {
      await pushFixture('untimed', ['v1']);
      const config = JSON.parse(fs.readFileSync(sigstore.signingConfig, 'utf8')) as Record<string, unknown>;
      delete config.tsaUrls;
      delete config.tsaConfig;
      const noTsa = path.join(sigstore.dir, 'signing-config-no-tsa.json');
      fs.writeFileSync(noTsa, JSON.stringify(config));
      const run = await runBundledAction(
        'sign',
        keyless(`${registry.host}/untimed:v1`, {'tlog-upload': 'false', recursive: 'false', 'signing-config': noTsa}),
        jobEnv()
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      const warning = run.stdout
        .split('\n')
        .findIndex(l => l.startsWith('::warning::tlog-upload: false without a timestamp authority'));
      expect(warning).toBeGreaterThanOrEqual(0);
      // Said before cosign signs anything.
      const lines = run.stdout.split('\n');
      const firstSigned = lines.findIndex(l => !l.startsWith('::') && /signed|signing/.test(l));
      expect({warning, firstSigned, before: warning < firstSigned}).toEqual({warning, firstSigned, before: true});
    }
  );

  maybe(
    'without the transparency log: the signing config is used without its Rekor (no entry), timestamps from the TSA; verifying needs insecure-ignore-tlog; attest likewise',
    async () => {
      await pushFixture('notlog', ['v1']);
      const entries = sigstore.rekorEntries();
      const predicate = path.join(sigstore.dir, 'custom-predicate.json');
      fs.writeFileSync(predicate, JSON.stringify({approvedBy: 'release-board', ticket: 'REL-42'}));
      const run = await runBundledAction(
        'sign',
        keyless(`${registry.host}/notlog:v1`, {
          'tlog-upload': 'false',
          recursive: 'false',
          attest: predicate,
          'predicate-type': 'https://example.com/release-approval/v1'
        }),
        jobEnv()
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      // The TSA stamps it: no warning about a missing trusted time.
      expect(run.stdout).not.toContain('without a timestamp authority');
      expect(sigstore.rekorEntries() - entries).toBe(0);
      const ref = `${registry.host}/notlog@${fixture.digest}`;
      expect((await cosignVerify(ref)).code).not.toBe(0);
      const plain = await cosignVerify(ref, ['--insecure-ignore-tlog=true']);
      expect({code: plain.code, err: plain.code ? plain.stderr : ''}).toEqual({code: 0, err: ''});
      const att = await cosignVerify(ref, [
        'verify-attestation',
        '--type',
        'https://example.com/release-approval/v1',
        '--insecure-ignore-tlog=true'
      ]);
      expect({code: att.code, err: att.code ? att.stderr : ''}).toEqual({code: 0, err: ''});
      // The action's verify agrees, by issuer regexp, and only when told to skip the log.
      const verify = (extra: Record<string, string>): Promise<ActionRun> =>
        runBundledAction('sign', {
          images: `${registry.host}/notlog:v1`,
          verify: 'true',
          recursive: 'false',
          'certificate-identity': IDENTITY,
          'certificate-oidc-issuer-regexp': '^http://127\\.0\\.0\\.1:',
          'trusted-root': sigstore.trustedRoot,
          'cosign-path': cosign as string,
          ...extra
        });
      const strict = await verify({});
      expect(strict.code).toBe(1);
      const relaxed = await verify({'insecure-ignore-tlog': 'true'});
      expect({code: relaxed.code, errors: errorLines(relaxed)}).toEqual({code: 0, errors: []});
      expect(relaxed.stdout).toContain('insecure-ignore-tlog: true');
    }
  );

  maybe(
    "github-attestations: each digest's bundles recorded once in GitHub's attestation store (held to its REST description), however many registries hold the image; gh attestation verify finds them there (through HTTPS_PROXY) as well as in the registry; a refusal fails clearly, or warns",
    async () => {
      const emu = (await startGhcr()) as GhcrEmulator;
      try {
        // Its own two repositories (the release pipeline test counts what rel carries).
        for (const repo of ['store-a', 'store-b'])
          await skopeo([
            'copy',
            '--all',
            '--src-tls-verify=false',
            '--dest-tls-verify=false',
            `docker://${release.ref}`,
            `docker://${registry.host}/${repo}:v2`
          ]);
        const images = `${registry.host}/store-a@${release.index}\n${registry.host}/store-b@${release.index}`;
        const env = jobEnv({GITHUB_API_URL: emu.apiUrl, GITHUB_TOKEN: GH_TOKEN});
        const inputs = {
          sbom: 'cyclonedx',
          provenance: 'true',
          'trivy-path': trivy as string,
          'github-attestations': 'true'
        };
        const run = await runBundledAction('sign', keyless(images, inputs), env);
        expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
        // Two registries' copies attested (10), each digest's bundle of each type recorded once (5).
        const records = JSON.parse(run.outputs.attestations) as Array<{
          type: string;
          reference: string;
          githubId?: number;
        }>;
        expect(records).toHaveLength(10);
        const ids = records.filter(r => r.githubId !== undefined);
        expect(ids.map(r => `${r.type} ${r.reference.split('@')[1]}`).sort()).toEqual(
          [
            ...[release.index, release.amd64, release.arm64].map(d => `slsaprovenance1 ${d}`),
            ...[release.amd64, release.arm64].map(d => `cyclonedx ${d}`)
          ].sort()
        );
        expect(emu.attestations.map(a => a.id).sort()).toEqual(ids.map(r => r.githubId).sort());
        // What gh attestation verify asks: the bundles of a digest, by subject, for the repository.
        for (const d of [release.index, release.amd64]) {
          const res = await fetch(`${emu.apiUrl}/repos/acme/app/attestations/${d}`, {
            headers: {authorization: `Bearer ${GH_TOKEN}`}
          });
          const found = ((await res.json()) as {attestations: Array<{bundle: {mediaType: string}}>}).attestations;
          expect(found.length).toBe(d === release.index ? 1 : 2);
          for (const f of found)
            expect(f.bundle.mediaType).toMatch(/^application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json$/);
        }
        expect(emu.violations).toEqual([]);

        // GitHub's own verifier, as GitHub users check: from the registry, with its policy flags.
        const root = path.join(sigstore.dir, 'trusted-root.jsonl');
        fs.writeFileSync(root, `${JSON.stringify(JSON.parse(fs.readFileSync(sigstore.trustedRoot, 'utf8')))}\n`);
        const gh = async (
          ref: string,
          flags: string[],
          store?: {proxy: string; ca: string}
        ): Promise<{code: number; out: string}> => {
          try {
            const {stdout, stderr} = await promisify(execFile)(
              ghCli as string,
              [
                'attestation',
                'verify',
                `oci://${ref}`,
                ...(store ? [] : ['--bundle-from-oci']),
                '--custom-trusted-root',
                root,
                '--cert-oidc-issuer',
                sigstore.oidc.url,
                ...flags
              ],
              {
                env: {
                  PATH: process.env.PATH ?? '',
                  HOME: sigstore.dir,
                  GH_CONFIG_DIR: sigstore.dir,
                  // From the store: GitHub's API through the proxy, with the emulator's token and the test CA.
                  ...(store
                    ? {GH_TOKEN, HTTPS_PROXY: store.proxy, SSL_CERT_FILE: store.ca, NO_PROXY: '127.0.0.1'}
                    : {GH_TOKEN: 'offline'})
                }
              }
            );
            return {code: 0, out: `${stdout}${stderr}`};
          } catch (err) {
            const e = err as {code: number; stdout: string; stderr: string};
            return {code: e.code, out: `${e.stdout}${e.stderr}`};
          }
        };
        const policy = [
          '--repo',
          'acme/app',
          '--signer-workflow',
          'acme/app/.github/workflows/release.yml',
          '--source-ref',
          'refs/heads/main',
          '--deny-self-hosted-runners'
        ];
        for (const d of [release.index, release.amd64]) {
          const ok = await gh(`${registry.host}/store-a@${d}`, policy);
          expect({d, code: ok.code, out: ok.code ? ok.out : ''}).toEqual({d, code: 0, out: ''});
        }
        const sbom = await gh(`${registry.host}/store-b@${release.arm64}`, [
          '--owner',
          'acme',
          '--predicate-type',
          'https://cyclonedx.org/bom'
        ]);
        expect({code: sbom.code, out: sbom.code ? sbom.out : ''}).toEqual({code: 0, out: ''});
        // Refused for the policy's reason (the identity, or the ref), not for want of finding anything.
        for (const [wrong, why] of [
          [['--owner', 'other'], 'verifying with issuer "sigstore"'],
          [['--repo', 'acme/other'], 'verifying with issuer "sigstore"'],
          [
            ['--owner', 'acme', '--signer-workflow', 'acme/app/.github/workflows/other.yml'],
            'verifying with issuer "sigstore"'
          ],
          [
            ['--owner', 'acme', '--source-ref', 'refs/tags/v9.9.9'],
            'expected SourceRepositoryRef to be refs/tags/v9.9.9, got refs/heads/main'
          ]
        ] as const) {
          const r = await gh(`${registry.host}/store-a@${release.index}`, [...wrong]);
          expect({wrong, code: r.code, why: r.out.includes(why) ? why : r.out}).toEqual({wrong, code: 1, why});
        }

        // From GitHub's attestation store, as gh verifies without --bundle-from-oci: api.github.com reached
        // through HTTPS_PROXY (TLS ended by a proxy gh trusts through a test CA), answered by the emulator.
        const tlsCa = makeCa(path.join(sigstore.dir, 'tls'), 'Proxy');
        const proxy = await startInterceptingProxy(
          {'api.github.com': emu.apiUrl},
          makeServerCert(tlsCa, 'api.github.com')
        );
        try {
          const store = {proxy: proxy.url, ca: tlsCa.cert};
          for (const [ref, flags] of [
            [`${registry.host}/store-a@${release.index}`, ['--owner', 'acme']],
            [`${registry.host}/store-b@${release.amd64}`, policy],
            [
              `${registry.host}/store-a@${release.arm64}`,
              ['--repo', 'acme/app', '--predicate-type', 'https://cyclonedx.org/bom']
            ]
          ] as const) {
            const r = await gh(ref, [...flags], store);
            expect({ref, code: r.code, out: r.code ? r.out : ''}).toEqual({ref, code: 0, out: ''});
          }
          // gh asked GitHub's API, not the registry's referrers: the organisation's and the repository's listings.
          expect(proxy.log).toEqual(
            expect.arrayContaining([
              expect.stringMatching(new RegExp(`^GET api\\.github\\.com/orgs/acme/attestations/${release.index}\\?`)),
              expect.stringMatching(
                new RegExp(`^GET api\\.github\\.com/repos/acme/app/attestations/${release.arm64}\\?`)
              )
            ])
          );
          // Another owner's store holds nothing for it; an image never attested is found nowhere.
          for (const [ref, flags] of [
            [`${registry.host}/store-a@${release.index}`, ['--owner', 'other']],
            [
              `${registry.host}/store-a@${release.index}`,
              ['--repo', 'acme/app', '--predicate-type', 'https://cyclonedx.org/bom']
            ]
          ] as const) {
            const r = await gh(ref, [...flags], store);
            const why = 'no attestations found';
            expect({ref, flags, code: r.code, why: r.out.includes(why) ? why : r.out}).toEqual({
              ref,
              flags,
              code: 1,
              why
            });
          }
        } finally {
          await proxy.stop();
        }

        // Without attestations: write: a clear error, or with warn a warning and the run passes.
        emu.attestationsForbidden = true;
        const refused = await runBundledAction('sign', keyless(images, {...inputs, provenance: 'true', sbom: ''}), env);
        expect(refused.code).toBe(1);
        expect(errorLines(refused).join('\n')).toContain('github-attestations: recording SLSA provenance');
        expect(errorLines(refused).join('\n')).toContain('attestations: write');
        const warned = await runBundledAction(
          'sign',
          keyless(images, {...inputs, sbom: '', 'github-attestations': 'warn'}),
          env
        );
        expect({code: warned.code, errors: errorLines(warned)}).toEqual({code: 0, errors: []});
        expect(warned.stdout.split('\n').filter(l => l.startsWith('::warning::github-attestations'))).toHaveLength(1);
      } finally {
        await emu.stop();
      }
    }
  );

  maybe(
    'release pipeline: scan, then sign with SBOMs (CycloneDX, SPDX), provenance and scan results on every digest; plain cosign verifies each attestation',
    async () => {
      const scan = await runBundledAction('scan', {
        images: release.ref,
        'severity-threshold': 'CRITICAL',
        'db-repository': `${registry.host}/trivy-db:2`,
        cache: 'false',
        'trivy-path': trivy as string
      });
      expect({code: scan.code, errors: errorLines(scan)}).toEqual({code: 0, errors: []});
      const certs = sigstore.certificates();
      const run = await runBundledAction(
        'sign',
        keyless(release.ref, {
          sbom: 'cyclonedx, spdx',
          provenance: 'true',
          'vuln-report': scan.outputs.report,
          'build-parameters': JSON.stringify({context: '.', file: 'Dockerfile', platforms: 'linux/amd64,linux/arm64'}),
          'trivy-path': trivy as string
        }),
        jobEnv()
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      // Signing and nine attestations with one certificate.
      expect(sigstore.certificates() - certs).toBe(1);
      const attestations = (JSON.parse(run.outputs.attestations) as Array<{reference: string; type: string}>)
        .map(a => `${a.type} ${a.reference.split('@')[1]}`)
        .sort();
      const on = (type: string, digests: string[]): string[] => digests.map(d => `${type} ${d}`);
      expect(attestations).toEqual(
        [
          ...on('slsaprovenance1', [release.index, release.amd64, release.arm64]),
          ...on('cyclonedx', [release.amd64, release.arm64]),
          ...on('spdxjson', [release.amd64, release.arm64]),
          ...on('vuln', [release.amd64, release.arm64])
        ].sort()
      );

      const statement = async (
        digest: string,
        type: string
      ): Promise<{predicateType: string; predicate: Record<string, unknown>}> => {
        const v = await cosignVerify(`${registry.host}/rel@${digest}`, ['verify-attestation', '--type', type]);
        expect({type, digest, code: v.code, err: v.code ? v.stderr : ''}).toEqual({type, digest, code: 0, err: ''});
        const line = v.stdout.trim().split('\n')[0];
        return JSON.parse(Buffer.from((JSON.parse(line) as {payload: string}).payload, 'base64').toString('utf8')) as {
          predicateType: string;
          predicate: Record<string, unknown>;
        };
      };
      const provenance = await statement(release.index, 'slsaprovenance1');
      expect(provenance.predicateType).toBe('https://slsa.dev/provenance/v1');
      expect(provenance.predicate).toMatchObject({
        buildDefinition: {
          buildType: 'https://actions.github.io/buildtypes/workflow/v1',
          externalParameters: {
            workflow: {
              ref: 'refs/heads/main',
              repository: 'https://github.com/acme/app',
              path: '.github/workflows/release.yml'
            },
            build: {context: '.', file: 'Dockerfile'}
          },
          resolvedDependencies: [
            {uri: 'git+https://github.com/acme/app@refs/heads/main', digest: {gitCommit: jobEnv().GITHUB_SHA}}
          ]
        },
        runDetails: {
          builder: {id: `https://github.com/${jobEnv().GITHUB_WORKFLOW_REF}`},
          metadata: {invocationId: 'https://github.com/acme/app/actions/runs/4242/attempts/1'}
        }
      });
      const cdx = await statement(release.amd64, 'cyclonedx');
      expect(cdx.predicate).toMatchObject({bomFormat: 'CycloneDX'});
      expect(JSON.stringify(cdx.predicate)).toContain('libcrypto3');
      const spdx = await statement(release.arm64, 'spdxjson');
      expect(spdx.predicate).toMatchObject({spdxVersion: expect.stringMatching(/^SPDX-2/)});
      const vuln = await statement(release.amd64, 'vuln');
      expect(vuln.predicateType).toBe('https://cosign.sigstore.dev/attestation/vuln/v1');
      expect(JSON.stringify(vuln.predicate)).toContain('CVE-2026-1111');
      expect(vuln.predicate).toMatchObject({
        scanner: {uri: expect.stringMatching(/^pkg:github\/aquasecurity\/trivy@/)}
      });
    }
  );

  maybe(
    'promotion gate: a policy of signer, provenance, SBOM and scan results passes the release; each failed requirement is reported per digest',
    async () => {
      const gate = (policy: string): Promise<ActionRun> =>
        runBundledAction(
          'sign',
          {
            images: release.ref,
            verify: 'true',
            policy,
            'trusted-root': sigstore.trustedRoot,
            'cosign-path': cosign as string
          },
          {}
        );
      const signer = `signer: {identity: "${IDENTITY}", issuer: "${sigstore.oidc.url}"}`;
      const pass = await gate(
        `${signer}\nattestations:\n  provenance: {repository: acme/app, ref: "refs/heads/*"}\n  sbom: {format: cyclonedx}\n  vuln: {max-severity: high, max-age: 7d}`
      );
      expect({code: pass.code, errors: errorLines(pass), out: pass.code ? pass.stdout.slice(-3000) : ''}).toEqual({
        code: 0,
        errors: [],
        out: ''
      });
      const verified = JSON.parse(pass.outputs.verified) as Array<{
        reference: string;
        verified: boolean;
        requirements: Array<{requirement: string; ok: boolean}>;
      }>;
      expect(
        verified.map(v => [v.reference.split('@')[1], v.requirements.map(r => `${r.requirement}:${r.ok}`)])
      ).toEqual([
        [release.index, ['signature:true', 'provenance:true']],
        [release.amd64, ['signature:true', 'provenance:true', 'sbom:true', 'vuln:true']],
        [release.arm64, ['signature:true', 'provenance:true', 'sbom:true', 'vuln:true']]
      ]);

      const fail = await gate(
        `${signer}\nattestations:\n  provenance: {repository: acme/app, ref: "refs/tags/v*"}\n  sbom: {format: spdx}\n  vuln: {max-severity: medium}`
      );
      expect(fail.code).toBe(1);
      const failed = JSON.parse(fail.outputs.verified) as typeof verified;
      const bad = (v: (typeof verified)[number]): string[] => v.requirements.filter(r => !r.ok).map(r => r.requirement);
      expect(failed.map(bad)).toEqual([['provenance'], ['provenance', 'vuln'], ['provenance']]);
      const message = errorLines(fail).join('\n');
      expect(message).toContain('ref refs/heads/main does not match refs/tags/v*');
      expect(message).toContain('1 high above medium (CVE-2026-1111)');
      expect(fail.summary).toContain('CVE-2026-1111');

      // Another signer: the signature and every attestation fail, each named.
      const other = await gate(
        `signer: {identity-regexp: '^https://github\\.com/evil/', issuer: "${sigstore.oidc.url}"}\nattestations:\n  sbom: {}`
      );
      expect(other.code).toBe(1);
      expect((JSON.parse(other.outputs.verified) as typeof verified).map(bad)).toEqual([
        ['signature'],
        ['signature', 'sbom'],
        ['signature', 'sbom']
      ]);
      // An SBOM signed by someone else is not a missing SBOM: the message says who signed it.
      expect(errorLines(other).join('\n')).toContain(
        `sbom present, signed by ${IDENTITY} (issuer ${sigstore.oidc.url}), not by the required signer`
      );
      // A provenance that is not there at all is said to be missing.
      const none = await gate(`${signer}\nattestations:\n  custom-scan: {type: https://example.com/none/v1}`);
      expect(errorLines(none).join('\n')).toContain('no custom-scan attestation on this digest');
      // A wrong issuer fails as well.
      const issuer = await gate(
        `signer: {identity: "${IDENTITY}", issuer: "https://token.actions.githubusercontent.com"}`
      );
      expect(issuer.code).toBe(1);
    }
  );

  maybe(
    'gated promotion with push-multi: a failing policy copies nothing; a passing one copies the image with its signatures and attestations, which verify in the new registry',
    async () => {
      const prod = (await startRegistry()) as Registry;
      try {
        const promote = (policy: string): Promise<ActionRun> =>
          runBundledAction('push-multi', {
            source: release.ref,
            destinations: `${prod.host}/prod/rel`,
            tags: 'v2',
            policy,
            'trusted-root': sigstore.trustedRoot,
            'cosign-path': cosign as string
          });
        const signer = `signer: {identity: "${IDENTITY}", issuer: "${sigstore.oidc.url}"}`;
        const refused = await promote(`${signer}\nattestations:\n  vuln: {max-severity: medium}`);
        expect(refused.code).toBe(1);
        expect(errorLines(refused).join('\n')).toContain('does not meet the policy, nothing was copied');
        expect(errorLines(refused).join('\n')).toContain(
          `linux/amd64 (${release.amd64.slice(0, 19)}): vuln: 1 high above medium (CVE-2026-1111)`
        );
        const catalog = async (): Promise<string[]> =>
          ((await (await fetch(`${prod.url}/v2/_catalog`)).json()) as {repositories: string[]}).repositories;
        expect(await catalog()).toEqual([]);

        const promoted = await promote(
          `${signer}\nattestations:\n  provenance: {repository: acme/app, ref: "refs/heads/*"}\n  sbom: {}\n  vuln: {max-severity: high}`
        );
        expect({code: promoted.code, errors: errorLines(promoted)}).toEqual({code: 0, errors: []});
        expect((JSON.parse(promoted.outputs.gate) as Array<{verified: boolean}>).map(g => g.verified)).toEqual([
          true,
          true,
          true
        ]);
        expect(promoted.outputs.digest).toBe(release.index);
        // Independently of our code: the copies verify in the new registry.
        const at = (d: string): string => `${prod.host}/prod/rel@${d}`;
        expect((await cosignVerify(at(release.index))).code).toBe(0);
        for (const [d, type] of [
          [release.amd64, 'cyclonedx'],
          [release.arm64, 'vuln'],
          [release.index, 'slsaprovenance1']
        ]) {
          const v = await cosignVerify(at(d), ['verify-attestation', '--type', type]);
          expect({d, type, code: v.code, err: v.code ? v.stderr : ''}).toEqual({d, type, code: 0, err: ''});
        }
      } finally {
        await prod.stop();
      }
    }
  );
});

describe('an attestation is not a signature, keyless', () => {
  maybe(
    'an image only attested by the release workflow passes plain cosign verify; verify mode fails it as attested but not signed',
    async () => {
      const repo = 'attested-only';
      await pushFixture(repo, ['v1']);
      const ref = `${registry.host}/${repo}@${fixture.manifests[0].digest}`;
      // The release workflow's token (the runner's protocol), used by plain cosign to attest only.
      const tokenRes = await fetch(`${sigstore.env.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=sigstore`, {
        headers: {authorization: `bearer ${sigstore.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}`}
      });
      const token = ((await tokenRes.json()) as {value: string}).value;
      const predicate = path.join(sigstore.dir, 'attest-only.json');
      fs.writeFileSync(predicate, JSON.stringify({builder: {id: 'https://example.com/builder'}}));
      await promisify(execFile)(
        cosign as string,
        [
          'attest',
          '--yes',
          '--identity-token',
          token,
          '--signing-config',
          sigstore.signingConfig,
          '--trusted-root',
          sigstore.trustedRoot,
          '--predicate',
          predicate,
          '--type',
          'slsaprovenance1',
          '--allow-http-registry',
          ref
        ],
        {env: {PATH: process.env.PATH ?? '', HOME: sigstore.dir}}
      );
      expect((await cosignVerify(ref)).code).toBe(0);
      const verify = await runBundledAction('sign', {
        images: ref,
        verify: 'true',
        recursive: 'false',
        'certificate-identity': IDENTITY,
        'certificate-oidc-issuer': sigstore.oidc.url,
        'trusted-root': sigstore.trustedRoot,
        'cosign-path': cosign as string
      });
      expect(verify.code).toBe(1);
      expect(errorLines(verify).join('\n')).toContain(
        'attested by the required signer (https://slsa.dev/provenance/v1) but not signed'
      );
    }
  );
});

describe.each(nodeRuntimes())('keyless on %s (action.yml declares node24)', (label, node) => {
  (ready && node ? test : test.skip)('signs a 4-platform image with one certificate; cosign verifies', async () => {
    const repo = `runtime-${label.replace(/\W/g, '')}`;
    await pushFixture(repo, ['v1']);
    const certs = sigstore.certificates();
    const run = await runBundledAction('sign', keyless(`${registry.host}/${repo}:v1`), jobEnv(), {node});
    expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
    expect(sigstore.certificates() - certs).toBe(1);
    expect((await cosignVerify(`${registry.host}/${repo}@${fixture.manifests[0].digest}`)).code).toBe(0);
  });
});
