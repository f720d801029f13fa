import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {dockerConfigJson} from '../../src/shared/registry/docker-config.js';
import {parseAnnotations, workflowAnnotations} from '../../src/shared/sign/annotations.js';
import {KEY_ENV, keyRef} from '../../src/shared/sign/keys.js';
import {PERMISSIONS_HINT, keylessPrecheck} from '../../src/shared/sign/sign.js';
import {cosignError} from '../../src/shared/sign/cosign-run.js';
import {newSignatureRefs} from '../../src/shared/sign/signatures.js';
import {Resolved, isPlatformImage, parseImages, planTargets} from '../../src/shared/sign/targets.js';
import {imageTree} from '../../src/shared/registry/graph.js';
import {SignerSeen, attestationFailure} from '../../src/shared/sign/presence.js';
import {verifiedPayloads} from '../../src/shared/sign/verify.js';
import {SignerRule} from '../../src/shared/policy/signer.js';
import {StoredManifest} from '../../src/shared/registry/store.js';
import {planEvidence, platformTargets} from '../../src/shared/evidence/plan.js';
import {
  COSIGN,
  classifyCosignFailure,
  cosignEnv,
  signArgs,
  verifyArgs,
  verifyFailure
} from '../../src/shared/tools/cosign.js';
import {ToolSpec, checksumFor, compareVersions, resolveTool} from '../../src/shared/tools/install.js';
import {Logger} from '../../src/shared/log.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const sigstore = {newBundleFormat: true, tlogUpload: true, useSigningConfig: true};

describe('cosign arguments state every default that changed between releases', () => {
  test.each([
    [
      'key, new format, tlog on',
      {signer: {mode: 'key' as const, keyRef: 'env://K'}, ...sigstore},
      [
        'sign',
        '--yes',
        '--new-bundle-format=true',
        '--use-signing-config=true',
        '--tlog-upload=true',
        '--key',
        'env://K',
        '--recursive=false'
      ]
    ],
    [
      'key, legacy, tlog off',
      {
        signer: {mode: 'key' as const, keyRef: '/k'},
        newBundleFormat: false,
        tlogUpload: false,
        useSigningConfig: false
      },
      [
        'sign',
        '--yes',
        '--new-bundle-format=false',
        '--use-signing-config=false',
        '--tlog-upload=false',
        '--key',
        '/k',
        '--recursive=false'
      ]
    ],
    [
      "keyless: the run's key with its one Fulcio certificate (no token on argv)",
      {signer: {mode: 'certificate' as const, keyRef: '/tmp/e.key', certificate: '/tmp/c.pem'}, ...sigstore},
      [
        'sign',
        '--yes',
        '--new-bundle-format=true',
        '--use-signing-config=true',
        '--tlog-upload=true',
        '--key',
        '/tmp/e.key',
        '--certificate',
        '/tmp/c.pem',
        '--recursive=false'
      ]
    ],
    [
      'a signing config is passed alone (cosign 3 refuses --use-signing-config and --tlog-upload next to it)',
      {
        signer: {mode: 'key' as const, keyRef: '/k'},
        ...sigstore,
        tlogUpload: false,
        signingConfig: '/sc.json',
        trustedRoot: '/tr.json'
      },
      [
        'sign',
        '--yes',
        '--new-bundle-format=true',
        '--signing-config',
        '/sc.json',
        '--trusted-root',
        '/tr.json',
        '--key',
        '/k',
        '--recursive=false'
      ]
    ],
    [
      'kms',
      {signer: {mode: 'kms' as const, keyRef: 'awskms:///alias/release'}, ...sigstore},
      [
        'sign',
        '--yes',
        '--new-bundle-format=true',
        '--use-signing-config=true',
        '--tlog-upload=true',
        '--key',
        'awskms:///alias/release',
        '--recursive=false'
      ]
    ]
  ])('%s', (_name, o, head) => {
    const args = signArgs({
      ...o,
      references: ['r/a@x', 'r/b@y'],
      annotations: {sha: 'abc', 'run-url': 'u'},
      allowHttp: true
    });
    expect(args).toEqual([...head, '--allow-http-registry', '-a', 'sha=abc', '-a', 'run-url=u', 'r/a@x', 'r/b@y']);
  });

  test('verify: key or keyless identity, transparency log skipped only when asked', () => {
    expect(
      verifyArgs({
        verifier: {mode: 'key', keyRef: '/p'},
        reference: 'r@d',
        newBundleFormat: false,
        ignoreTlog: true,
        allowHttp: false
      })
    ).toEqual([
      'verify',
      '--new-bundle-format=false',
      '--output',
      'json',
      '--key',
      '/p',
      '--insecure-ignore-tlog=true',
      'r@d'
    ]);
    expect(
      verifyArgs({
        verifier: {
          mode: 'keyless',
          identityRegexp: '^https://github.com/acme/',
          issuer: 'https://token.actions.githubusercontent.com'
        },
        reference: 'r@d',
        newBundleFormat: true,
        ignoreTlog: false,
        allowHttp: true
      })
    ).toEqual([
      'verify',
      '--new-bundle-format=true',
      '--output',
      'json',
      '--certificate-identity-regexp',
      '^https://github.com/acme/',
      '--certificate-oidc-issuer',
      'https://token.actions.githubusercontent.com',
      '--allow-http-registry',
      'r@d'
    ]);
  });

  test.each([
    [10, 'Error: no signatures found', 'no signature found for this digest'],
    [11, '', 'not found'],
    [
      12,
      'Error: no matching signatures: invalid signature',
      'no signature matches the given key or identity (no matching signatures: invalid signature)'
    ],
    [1, 'Error: something else\nerror during command execution: something else', 'something else']
  ])('verify exit code %d explains itself', (code, stderr, expected) => {
    expect(verifyFailure(code, stderr)).toContain(expected);
  });

  // Classification on structure: exit codes per format, OCI error codes and HTTP statuses as cosign
  // prints them; words that merely contain 401 or "denied" elsewhere are no registry refusal.
  test.each([
    [10, 'Error: no signatures found', 'no-signature'],
    [11, 'Error: image not found', 'not-found'],
    [12, 'Error: no matching signatures: invalid signature', 'no-match'],
    [13, 'Error: no certificate', 'no-certificate'],
    [1, 'Error: no matching signatures: error verifying bundle: invalid signature', 'no-match'],
    [1, 'Error: no matching attestations: invalid signature when validating ASN.1 encoded signature', 'no-match'],
    [
      1,
      'Error: GET https://r.io/v2/a/manifests/x: UNAUTHORIZED: authentication required; [map[Action:pull]]',
      'registry-auth'
    ],
    [
      1,
      'Error: PUT https://r.io/v2/a/manifests/sha256-1.sig: DENIED: requested access to the resource is denied',
      'registry-auth'
    ],
    [1, 'Error: GET https://r.io/token: unexpected status code 401 Unauthorized', 'registry-auth'],
    [1, 'Error: reading key: decrypt: encrypted: decryption failed', 'key-password'],
    [1, 'Error: open /home/runner/.sigstore/root.json: permission denied', 'other'],
    [1, 'Error: Get "http://127.0.0.1:4010/v2/": dial tcp 127.0.0.1:4010: connect: connection refused', 'other'],
    [1, 'Error: signing r.io/a@sha256:4013401401: entity 403 is unknown', 'other']
  ])('cosign failure class: exit %d, %s', (code, stderr, cls) => {
    expect(classifyCosignFailure(code, stderr)).toBe(cls);
  });

  test('cosign errors: a decryption failure points at key-password; auth failures at logins', () => {
    expect(cosignError('key', 'Error: reading key: decrypt: encrypted: decryption failed\n', 1).message).toContain(
      'key-password is wrong or missing'
    );
    expect(
      cosignError('signing x', 'Error: PUT https://r/v2/: UNAUTHORIZED: authentication required', 1).message
    ).toContain('Give the registry a login');
  });
});

describe('cosign runs in a clean environment', () => {
  test('no stray COSIGN_* variable reaches it; COSIGN_PASSWORD is always set; KMS settings pass', () => {
    const env = cosignEnv(
      {
        PATH: '/bin',
        HOME: '/h',
        COSIGN_EXPERIMENTAL: '1',
        COSIGN_YES: 'false',
        COSIGN_KEY: '/evil',
        AWS_REGION: 'eu-west-1',
        GITHUB_TOKEN: 't',
        SIGSTORE_ID_TOKEN: 'x'
      },
      {dockerConfig: '/tmp/d'}
    );
    expect(env).toEqual({
      PATH: '/bin',
      HOME: '/h',
      AWS_REGION: 'eu-west-1',
      SIGSTORE_ID_TOKEN: 'x',
      DOCKER_CONFIG: '/tmp/d',
      COSIGN_PASSWORD: ''
    });
    expect(cosignEnv({}, {dockerConfig: '/d', password: 'p', extra: {[KEY_ENV]: 'pem'}})).toEqual({
      DOCKER_CONFIG: '/d',
      COSIGN_PASSWORD: 'p',
      [KEY_ENV]: 'pem'
    });
  });

  test('keyless precheck: both OIDC variables or a message with the permissions block', () => {
    expect(() => keylessPrecheck({})).toThrow(PERMISSIONS_HINT);
    expect(() => keylessPrecheck({ACTIONS_ID_TOKEN_REQUEST_URL: 'u'})).toThrow('id-token: write');
    expect(() =>
      keylessPrecheck({ACTIONS_ID_TOKEN_REQUEST_URL: 'u', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't'})
    ).not.toThrow();
  });

  test('keys: PEM text through env (masked line by line), env:// and KMS passed through, a missing file named', () => {
    const masked: string[] = [];
    const pem =
      '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\nBBBB\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----';
    expect(keyRef(pem, 'key', {}, s => masked.push(s))).toEqual({
      kind: 'text',
      ref: `env://${KEY_ENV}`,
      env: {[KEY_ENV]: `${pem}\n`}
    });
    expect(masked).toEqual(['AAAA', 'BBBB']);
    expect(keyRef('env://MY_KEY', 'key', {MY_KEY: 'k'}, () => undefined)).toEqual({
      kind: 'env',
      ref: 'env://MY_KEY',
      env: {MY_KEY: 'k'}
    });
    expect(() => keyRef('env://MY_KEY', 'key', {}, () => undefined)).toThrow('$MY_KEY, which is empty or unset');
    expect(keyRef('gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k', 'key', {}, () => undefined).kind).toBe(
      'kms'
    );
    expect(() => keyRef('missing.key', 'key', {}, () => undefined, '/nowhere')).toThrow(
      'key: missing.key is not a file'
    );
  });

  test('the docker config cosign reads holds each credential kind; anonymous registries are left out', () => {
    const json = JSON.parse(
      dockerConfigJson(
        new Map([
          ['ghcr.io', {kind: 'basic' as const, username: 'u', password: 'p'}],
          ['docker.io', {kind: 'identity' as const, token: 'it'}],
          ['r.example', {kind: 'bearer' as const, token: 'rt'}],
          ['anon.example', {kind: 'anonymous' as const}]
        ])
      )
    ) as unknown;
    expect(json).toEqual({
      auths: {
        'ghcr.io': {auth: Buffer.from('u:p').toString('base64')},
        'https://index.docker.io/v1/': {username: '<token>', identitytoken: 'it'},
        'r.example': {registrytoken: 'rt'}
      }
    });
  });
});

describe('what gets signed', () => {
  const INDEX = 'application/vnd.oci.image.index.v1+json';
  const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
  const stored = (digest: string, manifests: unknown[]): StoredManifest => ({
    digest,
    mediaType: INDEX,
    body: Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: INDEX, manifests}))
  });
  const platformOf = (c: string, i: number, n: number): Record<string, string> =>
    i === n - 1 && c === D('f') ? {os: 'unknown', architecture: 'unknown'} : {os: 'linux', architecture: `arch${i}`};
  /** An index as the registry resolves it: the real walk over manifests held in memory. */
  const resolved = async (
    input: string,
    tag: string | undefined,
    root: StoredManifest,
    held: StoredManifest[] = []
  ): Promise<Resolved> => ({
    input,
    ref: {registry: 'r.io', repository: 'app', tag},
    digest: root.digest,
    mediaType: INDEX,
    tree: await imageTree(root, async d => held.find(m => m.digest === d), {leaves: false})
  });
  const index = (input: string, tag: string | undefined, digest: string, children: string[]): Promise<Resolved> =>
    resolved(
      input,
      tag,
      stored(
        digest,
        children.map((c, i) => ({mediaType: MANIFEST, digest: c, size: 1, platform: platformOf(c, i, children.length)}))
      )
    );

  test('three tags of one digest: one target with the three tags; children once; attestation manifests skipped', async () => {
    const r = [
      await index('r.io/app:a', 'a', D('1'), [D('2'), D('3'), D('f')]),
      await index('r.io/app:b', 'b', D('1'), [D('2'), D('3'), D('f')]),
      await index('r.io/app:c', 'c', D('1'), [D('2'), D('3'), D('f')])
    ];
    const t = planTargets(r, true);
    expect(t.map(x => [x.digest, x.tags, x.platform])).toEqual([
      [D('1'), ['a', 'b', 'c'], undefined],
      [D('2'), [], 'linux/arch0'],
      [D('3'), [], 'linux/arch1']
    ]);
    expect(planTargets(r, false).map(x => x.digest)).toEqual([D('1')]);
  });

  test('an index of indexes: every level is signed, every platform manifest at any depth is a platform', async () => {
    // D1 lists two indexes: D4 (amd64 and arm64, with an attestation manifest) and D5 (s390x, named by
    // its platform in D1 only); a platform manifest shared by both is one target.
    const d4 = stored(D('4'), [
      {mediaType: MANIFEST, digest: D('2'), size: 1, platform: {os: 'linux', architecture: 'amd64'}},
      {mediaType: MANIFEST, digest: D('3'), size: 1, platform: {os: 'linux', architecture: 'arm64'}},
      {mediaType: MANIFEST, digest: D('f'), size: 1, platform: {os: 'unknown', architecture: 'unknown'}}
    ]);
    const d5 = stored(D('5'), [
      {mediaType: MANIFEST, digest: D('6'), size: 1},
      {mediaType: MANIFEST, digest: D('2'), size: 1, platform: {os: 'linux', architecture: 'amd64'}}
    ]);
    const root = stored(D('1'), [
      {mediaType: INDEX, digest: D('4'), size: 1},
      {mediaType: INDEX, digest: D('5'), size: 1, platform: {os: 'linux', architecture: 's390x'}}
    ]);
    const t = planTargets([await resolved('r.io/app:v1', 'v1', root, [d4, d5])], true);
    expect(t.map(x => [x.digest, x.parent, x.platform])).toEqual([
      [D('1'), undefined, undefined],
      [D('4'), D('1'), undefined],
      [D('5'), D('1'), 'linux/s390x'],
      [D('2'), D('4'), 'linux/amd64'],
      [D('3'), D('4'), 'linux/arm64'],
      [D('6'), D('5'), 'linux/s390x']
    ]);
    expect(platformTargets(t).map(x => x.digest)).toEqual([D('2'), D('3'), D('6')]);
    // One SBOM per platform manifest, nested ones included (none was made before).
    const plan = planEvidence(t, {sbom: ['spdx'], provenance: true});
    expect(plan.filter(p => p.kind === 'spdx').map(p => p.targets[0].digest)).toEqual([D('2'), D('3'), D('6')]);
    expect(plan.find(p => p.kind === 'provenance')?.targets.map(x => x.digest)).toEqual(t.map(x => x.digest));
  });

  test('a platform manifest named directly as well stays a top-level target', async () => {
    const direct: Resolved = {
      input: `r.io/app@${D('2')}`,
      ref: {registry: 'r.io', repository: 'app', digest: D('2')},
      digest: D('2'),
      mediaType: MANIFEST,
      tree: []
    };
    const t = planTargets([await index('r.io/app:a', 'a', D('1'), [D('2')]), direct], true);
    expect(t).toHaveLength(2);
    expect(t[1]).toEqual(expect.objectContaining({digest: D('2'), inputs: ['r.io/app:a', `r.io/app@${D('2')}`]}));
    expect(t[1].parent).toBeUndefined();
  });

  test('attestation manifests are recognised by annotation or unknown platform', () => {
    expect(
      isPlatformImage({
        mediaType: 'm',
        digest: D('1'),
        size: 1,
        annotations: {'vnd.docker.reference.type': 'attestation-manifest'}
      })
    ).toBe(false);
    expect(
      isPlatformImage({mediaType: 'm', digest: D('1'), size: 1, platform: {os: 'linux', architecture: 'amd64'}})
    ).toBe(true);
  });

  test('images input: lines and commas (push-multi refs), de-duplicated', () => {
    expect(parseImages(['a/b:1, a/b:2', ' a/b:1', ''])).toEqual(['a/b:1', 'a/b:2']);
  });

  test('annotations: workflow defaults and user lines', () => {
    expect(
      workflowAnnotations({
        GITHUB_REPOSITORY: 'acme/app',
        GITHUB_SHA: 'abc',
        GITHUB_REF: 'refs/tags/v1',
        GITHUB_WORKFLOW_REF: 'acme/app/.github/workflows/r.yml@refs/tags/v1',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_ATTEMPT: '2'
      })
    ).toEqual({
      repository: 'acme/app',
      'git-sha': 'abc',
      ref: 'refs/tags/v1',
      workflow: 'acme/app/.github/workflows/r.yml@refs/tags/v1',
      'run-url': 'https://github.com/acme/app/actions/runs/42/attempts/2'
    });
    expect(parseAnnotations(['team=payments', 'a=b=c'])).toEqual({team: 'payments', a: 'b=c'});
    expect(() => parseAnnotations(['oops'])).toThrow('annotations: an annotation is written key=value in "oops"');
  });

  test('new signature references: the legacy tag when it grew, each new bundle', () => {
    expect(
      newSignatureRefs(
        'r/app',
        {legacy: {tag: 't.sig', digest: D('1'), count: 1}, bundles: [D('a')], attestations: []},
        {legacy: {tag: 't.sig', digest: D('2'), count: 2}, bundles: [D('a'), D('b')], attestations: []}
      )
    ).toEqual([`r/app:t.sig@${D('2')}`, `r/app@${D('b')}`]);
  });
});

describe('tool installation: pinned release, checksum verified, cached', () => {
  const silent: Logger = {
    info: () => undefined,
    warning: () => undefined,
    debug: () => undefined,
    group: (_n, fn) => fn()
  };
  let server: http.Server;
  let base: string;
  let requests: string[];
  let binary: Buffer;
  let checksums: string;
  const asset = COSIGN.asset('v9.9.9', process.platform, os.arch()).file;
  const spec: ToolSpec = {...COSIGN, version: async () => 'v9.9.9'};

  beforeAll(async () => {
    binary = Buffer.from('#!/bin/sh\necho \'{"gitVersion":"v9.9.9"}\'\n');
    checksums = `${'0'.repeat(64)}  cosign-other\n${crypto.createHash('sha256').update(binary).digest('hex')}  ${asset}\n`;
    requests = [];
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/v9.9.9/cosign_checksums.txt') res.end(checksums);
      else if (req.url === `/v9.9.9/${asset}`) res.end(binary);
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(r => server.close(() => r())));

  test('downloads once, verifies the checksum, then uses the cache; a bad checksum installs nothing', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'toolcache-'));
    const env = {PATH: '', RUNNER_TOOL_CACHE: cache, REGISTRY_ACTIONS_COSIGN_RELEASES_URL: base};
    const first = await resolveTool(spec, 'v9.9.9', {version: '', env, log: silent});
    expect(first).toEqual(expect.objectContaining({version: 'v9.9.9', source: 'download'}));
    expect(fs.readFileSync(first.path)).toEqual(binary);
    const second = await resolveTool(spec, 'v9.9.9', {version: 'v9.9.9', env, log: silent});
    expect(second).toEqual(expect.objectContaining({path: first.path, source: 'cache'}));
    expect(requests).toEqual(['/v9.9.9/cosign_checksums.txt', `/v9.9.9/${asset}`]);

    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'toolcache-'));
    binary = Buffer.from('tampered');
    await expect(
      resolveTool(spec, 'v9.9.9', {version: '', env: {...env, RUNNER_TOOL_CACHE: other}, log: silent})
    ).rejects.toThrow(/has sha256 [a-f0-9]{64}, but cosign_checksums.txt says/);
    expect(fs.readdirSync(path.join(other, 'cosign', '9.9.9'))).toEqual([]);
    await expect(
      resolveTool(spec, 'v9.9.9', {version: 'v1.0.0', env: {...env, RUNNER_TOOL_CACHE: other}, log: silent})
    ).rejects.toThrow('cosign-version: cosign v1.0.0 has no checksums');
  });

  test('an explicit path older than the minimum is refused with the fix', async () => {
    const old: ToolSpec = {...COSIGN, version: async () => 'v2.2.0'};
    await expect(
      resolveTool(old, 'v3.1.3', {version: '', path: process.execPath, env: {}, log: silent})
    ).rejects.toThrow('older than 2.6.0');
    await expect(resolveTool(old, 'v3.1.3', {version: 'latest', env: {}, log: silent})).rejects.toThrow(
      'cosign-version: "latest" is not a release version'
    );
  });

  test('checksum files and versions', () => {
    expect(checksumFor('abc  x\n' + `${'a'.repeat(64)} *dist/cosign-linux-amd64\n`, 'cosign-linux-amd64')).toBe(
      'a'.repeat(64)
    );
    expect(compareVersions('v3.1.3', '2.6.0')).toBeGreaterThan(0);
    expect(compareVersions('2.5.9', 'v2.6.0')).toBeLessThan(0);
  });
});

describe('why a required attestation did not verify', () => {
  const keyless = {
    identity: 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1',
    issuer: 'https://issuer',
    ignoreTlog: false,
    bundleFormat: 'new' as const
  };
  test.each<[string, SignerRule, SignerSeen[], string]>([
    ['nothing there', keyless, [], 'no provenance attestation on this digest (cosign said no)'],
    [
      'signed by someone else',
      keyless,
      [{identity: 'https://github.com/evil/x/.github/workflows/y.yml@refs/heads/main', issuer: 'https://issuer'}],
      'provenance present, signed by https://github.com/evil/x/.github/workflows/y.yml@refs/heads/main (issuer https://issuer), not by the required signer'
    ],
    [
      'by the required signer, yet not verifying',
      {...keyless, identity: undefined, identityRegexp: '^https://github\\.com/acme/'},
      [{identity: keyless.identity, issuer: 'https://issuer'}],
      'provenance present, signed by the required signer, but it does not verify: cosign said no'
    ],
    [
      'a key rule, another key',
      {key: 'cosign.pub', ignoreTlog: false, bundleFormat: 'new'},
      [{}],
      'provenance present, signed with a key, not with the required key'
    ]
  ])('%s', (_name, rule, seen, message) => {
    expect(attestationFailure('provenance', rule, seen, 'cosign said no')).toBe(message);
  });
});

describe('what cosign verify accepted', () => {
  const D1 = D('1');
  const item = (type: string, digest = D1): unknown => ({
    critical: {identity: {'docker-reference': 'r.io/app'}, image: {'docker-manifest-digest': digest}, type},
    optional: {}
  });
  test.each<[string, unknown[], {signatures: number; attestations: string[]}]>([
    ['a bundle signature', [item('https://sigstore.dev/cosign/sign/v1')], {signatures: 1, attestations: []}],
    ['a legacy signature', [item('cosign container image signature')], {signatures: 1, attestations: []}],
    [
      'an attestation only (cosign v3 accepts it as a signature)',
      [item('https://slsa.dev/provenance/v1')],
      {signatures: 0, attestations: ['https://slsa.dev/provenance/v1']}
    ],
    [
      'a signature of another digest does not count',
      [item('https://sigstore.dev/cosign/sign/v1', D('2')), item('https://cyclonedx.org/bom')],
      {signatures: 0, attestations: ['https://cyclonedx.org/bom']}
    ]
  ])('%s', (_name, items, expected) => {
    expect(verifiedPayloads(JSON.stringify(items), D1)).toEqual(expected);
  });
  test('output that is not JSON is not read', () => {
    expect(verifiedPayloads('Verification for r.io/app --', D1)).toBeUndefined();
  });
});
