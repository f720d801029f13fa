import {execFile} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {GhcrImages, Pushed} from '../helpers/ghcr-images.js';
import {Ca, Leaf, makeCa, makeLeaf} from '../helpers/pki.js';
import {BINARY, IMPLEMENTATIONS, Implementation, Registry, startRegistry} from '../helpers/registry.js';
import {ActionRun, ROOT, errorLines, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';
import {sigstoreTools, startTimestampAuthority} from '../helpers/sigstore.js';

/**
 * The sign action with signer: notation, driving the real Notation CLI (v1.3.2) against three registry
 * implementations; every signature it makes is checked by `notation` itself with a trust policy the test
 * writes (not the action's), and counted with `notation ls`.
 */
const notation = requireTool('notation');
const ready = !!notation && IMPLEMENTATIONS.every(i => !!requireTool(BINARY[i]));
const run = promisify(execFile);

let work: string;
let ca: Ca;
let otherCa: Ca;
let release: Leaf;
let intern: Leaf;
let foreign: Leaf;

beforeAll(() => {
  if (!ready) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'notation-test-'));
  ca = makeCa(path.join(work, 'pki'), 'Acme');
  otherCa = makeCa(path.join(work, 'pki-other'), 'Mallory');
  release = makeLeaf(ca, 'Acme', 'release signer');
  intern = makeLeaf(ca, 'Acme', 'intern');
  foreign = makeLeaf(otherCa, 'Acme', 'release signer');
});

/** `notation` with a configuration of the test's own: the CA in a trust store, a strict policy for `identity`. */
async function independentVerify(ref: string, trusted: Ca, identity: string): Promise<{code: number; out: string}> {
  const config = fs.mkdtempSync(path.join(work, 'independent-'));
  const env = {PATH: process.env.PATH ?? '', HOME: config, NOTATION_CONFIG: config};
  await run(notation as string, ['cert', 'add', '--type', 'ca', '--store', 'acme', trusted.cert], {env});
  const policy = path.join(config, 'policy.json');
  fs.writeFileSync(
    policy,
    JSON.stringify({
      version: '1.0',
      trustPolicies: [
        {
          name: 'acme',
          registryScopes: ['*'],
          signatureVerification: {level: 'strict'},
          trustStores: ['ca:acme'],
          trustedIdentities: [`x509.subject: ${identity}`]
        }
      ]
    })
  );
  await run(notation as string, ['policy', 'import', '--force', policy], {env});
  try {
    const {stdout, stderr} = await run(notation as string, ['verify', '--insecure-registry', ref], {env});
    return {code: 0, out: `${stdout}${stderr}`};
  } catch (err) {
    const e = err as {code?: number; stdout?: string; stderr?: string};
    return {code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`};
  }
}

/** Notation signatures on a reference, as `notation ls` lists them. */
async function listed(ref: string): Promise<number> {
  const {stdout} = await run(notation as string, ['ls', '--insecure-registry', ref], {
    env: {PATH: process.env.PATH ?? '', HOME: work, NOTATION_CONFIG: path.join(work, 'ls-config')}
  });
  return (stdout.match(/sha256:[a-f0-9]{64}/g) ?? []).filter(d => !ref.endsWith(d)).length;
}

const sign = (images: string, inputs: Record<string, string> = {}): Promise<ActionRun> =>
  runBundledAction('sign', {
    signer: 'notation',
    images,
    'notation-key': fs.readFileSync(release.key, 'utf8'),
    'notation-certificate': release.chain,
    'notation-path': notation as string,
    ...inputs
  });

const verify = (images: string, inputs: Record<string, string> = {}): Promise<ActionRun> =>
  runBundledAction('sign', {
    signer: 'notation',
    verify: 'true',
    images,
    'notation-trusted-ca': ca.cert,
    'notation-trusted-identities': release.subject,
    'notation-path': notation as string,
    ...inputs
  });

const ok = (r: ActionRun): void => expect({code: r.code, errors: errorLines(r)}).toEqual({code: 0, errors: []});

describe.each(IMPLEMENTATIONS.map(i => [i] as const))('signer: notation on %s', (impl: Implementation) => {
  const maybe = ready ? test : test.skip;
  let reg: Registry;
  beforeAll(async () => {
    if (ready) reg = (await startRegistry('none', impl)) as Registry;
  }, 30000);
  afterAll(async () => reg?.stop());

  maybe(
    'a 4-platform image under two tags: one signature per digest, each verified by notation itself; the fallback tag only without the referrers API',
    async () => {
      const p = new GhcrImages({host: reg.host}, 'team', 'app');
      const image = await p.image('four', ['v1.0.0', 'v1'], {
        platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x']
      });
      const r = await sign(`${reg.host}/team/app:v1.0.0\n${reg.host}/team/app:v1`);
      ok(r);
      const signed = JSON.parse(r.outputs.signed) as Array<{reference: string; signaturesAfter: number}>;
      expect(signed.map(s => s.reference.split('@')[1]).sort()).toEqual([image.digest, ...image.children].sort());
      expect(r.outputs['notation-version']).toBe('v1.3.2');
      for (const d of [image.digest, ...image.children]) {
        const ref = `${reg.host}/team/app@${d}`;
        expect({d, signatures: await listed(ref)}).toEqual({d, signatures: 1});
        expect(await independentVerify(ref, ca, release.subject)).toMatchObject({code: 0});
      }
      // The referrers API where the registry has it: no sha256-<hex> tag there.
      const tags = await p.client.listTags(p.repo);
      expect(tags.includes(`sha256-${image.digest.slice(7)}`)).toBe(impl !== 'olareg');
      // The action's verify mode agrees, on every digest.
      const v = await verify(`${reg.host}/team/app:v1`);
      ok(v);
      expect((JSON.parse(v.outputs.verified) as Array<{verified: boolean}>).map(x => x.verified)).toEqual([
        true,
        true,
        true,
        true,
        true
      ]);
    },
    120000
  );

  maybe(
    'verification fails for a wrong identity, a wrong CA, an unsigned image, a replayed and a tampered signature',
    async () => {
      const p = new GhcrImages({host: reg.host}, 'team', 'neg');
      const signedImage = await p.platform('signed', 'linux/amd64', 512, 'good');
      ok(await sign(`${reg.host}/team/neg:good`, {recursive: 'false'}));
      const byIntern = await p.platform('intern', 'linux/amd64', 512, 'intern');
      ok(
        await sign(`${reg.host}/team/neg:intern`, {
          'notation-key': fs.readFileSync(intern.key, 'utf8'),
          'notation-certificate': intern.chain
        })
      );
      const byForeign = await p.platform('foreign', 'linux/amd64', 512, 'foreign');
      ok(
        await sign(`${reg.host}/team/neg:foreign`, {
          'notation-key': fs.readFileSync(foreign.key, 'utf8'),
          'notation-certificate': foreign.chain
        })
      );
      await p.platform('unsigned', 'linux/amd64', 512, 'unsigned');
      // The good image's signature, pushed again as a signature of another image (replayed), and with a
      // changed byte in its envelope on a third (tampered).
      const replayTarget = await p.platform('replay', 'linux/amd64', 512, 'replayed');
      const tamperTarget = await p.platform('tamper', 'linux/amd64', 512, 'tampered');
      await copySignature(p, signedImage, replayTarget, false);
      await copySignature(p, signedImage, tamperTarget, true);

      const verdict = async (tag: string): Promise<string> => {
        const v = await verify(`${reg.host}/team/neg:${tag}`, {recursive: 'false'});
        const [res] = JSON.parse(v.outputs.verified ?? '[{}]') as Array<{verified?: boolean; error?: string}>;
        expect(v.code).toBe(res.verified ? 0 : 1);
        return res.verified ? 'verified' : (res.error ?? '');
      };
      expect(await verdict('good')).toBe('verified');
      expect(await verdict('intern')).toMatch(/does not match the X\.509 trusted identities/);
      expect(await verdict('foreign')).toMatch(/certificate chain does not contain any trusted certificate/);
      expect(await verdict('unsigned')).toMatch(/no signature is associated with/);
      expect(await verdict('replayed')).toMatch(/content descriptor mismatch/);
      expect(await verdict('tampered')).toMatch(/signature is invalid/);
      // notation itself says the same of the ones the action refused.
      for (const tag of ['intern', 'foreign', 'unsigned', 'replayed', 'tampered'])
        expect({tag, code: (await independentVerify(`${reg.host}/team/neg:${tag}`, ca, release.subject)).code}).toEqual(
          {
            tag,
            code: 1
          }
        );
      // At level audit an untrusted signer passes (integrity only): said to be no gate.
      const audit = await verify(`${reg.host}/team/neg:intern`, {
        recursive: 'false',
        'notation-verification-level': 'audit'
      });
      expect(audit.code).toBe(0);
      expect(audit.stdout).toContain('It is no gate');
      void byIntern;
      void byForeign;
    },
    120000
  );
});

/**
 * Pushes a copy of `from`'s Notation signature as a signature of `to` (subject rewritten), its envelope
 * unchanged (a replay) or with one byte changed (tampering), through the registry's plain API.
 */
async function copySignature(p: GhcrImages, from: Pushed, to: Pushed, tamper: boolean): Promise<void> {
  const referrers = await p.client.referrers(p.repo, from.digest);
  let sigDigest = referrers?.find(d => d.artifactType === 'application/vnd.cncf.notary.signature')?.digest;
  if (!sigDigest) {
    const fallback = await p.client.getManifest(p.repo, `sha256-${from.digest.slice(7)}`);
    const index = JSON.parse(fallback?.body.toString('utf8') ?? '{}') as {manifests?: Array<{digest: string}>};
    sigDigest = index.manifests?.[0]?.digest;
  }
  if (!sigDigest) throw new Error('no signature to copy');
  const sig = await p.client.getManifest(p.repo, sigDigest);
  const m = JSON.parse(sig?.body.toString('utf8') ?? '{}') as {
    layers: Array<{digest: string; size: number; mediaType: string}>;
    subject: unknown;
  };
  if (tamper) {
    const envelope = Buffer.concat(await (await p.client.getBlob(p.repo, m.layers[0].digest)).toArray());
    const json = JSON.parse(envelope.toString('utf8')) as {signature: string};
    const raw = Buffer.from(json.signature, 'base64url');
    raw[raw.length - 1] ^= 0xff;
    json.signature = raw.toString('base64url');
    const changed = Buffer.from(JSON.stringify(json));
    const {createHash} = await import('node:crypto');
    const digest = `sha256:${createHash('sha256').update(changed).digest('hex')}`;
    const loc = await p.client.startUpload(p.repo);
    await p.client.putUpload(p.repo, loc, digest, changed.length, changed);
    m.layers[0] = {...m.layers[0], digest, size: changed.length};
  }
  m.subject = {mediaType: to.mediaType, digest: to.digest, size: to.body.length};
  const pushed = await p.manifest(m, 'application/vnd.oci.image.manifest.v1+json');
  // Without the referrers API, readers find signatures through the sha256-<hex> index: list it there.
  if (!(await p.client.referrers(p.repo, to.digest)))
    await p.manifest(
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: pushed.digest,
            size: pushed.body.length,
            artifactType: 'application/vnd.cncf.notary.signature'
          }
        ]
      },
      'application/vnd.oci.image.index.v1+json',
      `sha256-${to.digest.slice(7)}`
    );
}

describe('signer: notation, formats, plugins and copies', () => {
  const maybe = ready ? test : test.skip;
  let src: Registry;
  let withApi: Registry;
  let withoutApi: Registry;
  beforeAll(async () => {
    if (!ready) return;
    [src, withApi, withoutApi] = (await Promise.all([
      startRegistry('none', 'distribution-2.8'),
      startRegistry('none', 'olareg'),
      startRegistry('none', 'distribution-3')
    ])) as Registry[];
  }, 30000);
  afterAll(async () => Promise.all([src, withApi, withoutApi].map(r => r?.stop())));

  maybe('COSE as well as JWS: the envelope type asked for, verified by notation', async () => {
    const p = new GhcrImages({host: withApi.host}, 'team', 'cose');
    await p.platform('cose', 'linux/amd64', 512, 'v1');
    ok(await sign(`${withApi.host}/team/cose:v1`, {'signature-format': 'cose'}));
    const digest = (await p.client.headManifest(p.repo, 'v1'))?.digest as string;
    const [sig] = (await p.client.referrers(p.repo, digest)) ?? [];
    const m = JSON.parse((await p.client.getManifest(p.repo, sig.digest))?.body.toString('utf8') ?? '{}') as {
      layers: Array<{mediaType: string}>;
    };
    expect(m.layers.map(l => l.mediaType)).toEqual(['application/cose']);
    expect(await independentVerify(`${withApi.host}/team/cose@${digest}`, ca, release.subject)).toMatchObject({
      code: 0
    });
  });

  maybe(
    'a KMS-style plugin (the plugin contract: describe-key, generate-signature) installed from a file with its checksum; a wrong checksum installs nothing',
    async () => {
      const plugin = path.join(ROOT, 'test', 'fixtures', 'notation-plugin', 'notation-registry-actions-test');
      const sha256 = createHash('sha256').update(fs.readFileSync(plugin)).digest('hex');
      const p = new GhcrImages({host: withApi.host}, 'team', 'plugin');
      const image = await p.image('plugin', ['v1'], {platforms: ['linux/amd64', 'linux/arm64']});
      const viaPlugin = {
        'notation-key': '',
        'notation-certificate': '',
        'notation-plugin': 'registry-actions-test',
        'notation-key-id': 'arn:aws:signer:eu-west-1:123456789012:/signing-profiles/release',
        'notation-plugin-config': `key=${release.key}\nchain=${release.chain}`,
        'notation-plugin-file': plugin
      };
      const refused = await sign(`${withApi.host}/team/plugin:v1`, {
        ...viaPlugin,
        'notation-plugin-sha256': 'ab'.repeat(32)
      });
      expect(refused.code).toBe(1);
      expect(errorLines(refused).join('\n')).toContain('notation-plugin: the plugin could not be installed');
      const r = await sign(`${withApi.host}/team/plugin:v1`, {...viaPlugin, 'notation-plugin-sha256': sha256});
      ok(r);
      for (const d of [image.digest, ...image.children])
        expect(await independentVerify(`${withApi.host}/team/plugin@${d}`, ca, release.subject)).toMatchObject({
          code: 0
        });
    }
  );

  maybe(
    'push-multi carries Notation signatures: into a registry with the referrers API without the fallback tag, into one without it with the tag; notation verifies both copies',
    async () => {
      const p = new GhcrImages({host: src.host}, 'team', 'copied');
      const image = await p.image('copied', ['v1'], {platforms: ['linux/amd64', 'linux/arm64']});
      ok(await sign(`${src.host}/team/copied:v1`));
      const copy = await runBundledAction('push-multi', {
        source: `${src.host}/team/copied:v1`,
        destinations: `${withApi.host}/team/copied\n${withoutApi.host}/team/copied`,
        tags: 'v1'
      });
      ok(copy);
      for (const [reg, hasApi] of [
        [withApi, true],
        [withoutApi, false]
      ] as const) {
        const dest = new GhcrImages({host: reg.host}, 'team', 'copied');
        const tags = await dest.client.listTags(dest.repo);
        expect({host: reg.host, fallback: tags.some(t => /^sha256-[a-f0-9]{64}$/.test(t))}).toEqual({
          host: reg.host,
          fallback: !hasApi
        });
        for (const d of [image.digest, ...image.children])
          expect({
            d,
            at: reg.host,
            ...(await independentVerify(`${reg.host}/team/copied@${d}`, ca, release.subject))
          }).toMatchObject({
            code: 0
          });
      }
    }
  );

  maybe(
    "the promotion gate with a Notation signer: push-multi copies the release signer's image, refuses the intern's and copies nothing of it; sync's verify rule the same",
    async () => {
      const p = new GhcrImages({host: src.host}, 'team', 'gated');
      await p.image('released', ['v1'], {platforms: ['linux/amd64', 'linux/arm64']});
      await p.image('interned', ['v2'], {platforms: ['linux/amd64', 'linux/arm64']});
      ok(await sign(`${src.host}/team/gated:v1`));
      ok(
        await sign(`${src.host}/team/gated:v2`, {
          'notation-key': fs.readFileSync(intern.key, 'utf8'),
          'notation-certificate': intern.chain
        })
      );
      const policy = path.join(work, 'notation-policy.yml');
      fs.writeFileSync(policy, `signer:\n  notation:\n    ca: ${ca.cert}\n    identities: ['${release.subject}']\n`);
      const promote = (tag: string): Promise<ActionRun> =>
        runBundledAction('push-multi', {
          source: `${src.host}/team/gated:${tag}`,
          destinations: `${withApi.host}/prod/gated`,
          tags: tag,
          policy,
          'notation-path': notation as string
        });
      const passed = await promote('v1');
      ok(passed);
      expect(passed.stdout).toMatch(/policy: .*signature ok/);
      const refused = await promote('v2');
      expect(refused.code).toBe(1);
      expect(errorLines(refused).join('\n')).toMatch(
        /does not meet the policy, nothing was copied: .*Notation: .*does not match the X\.509 trusted identities/
      );
      const prod = new GhcrImages({host: withApi.host}, 'prod', 'gated');
      expect((await prod.client.listTags(prod.repo)).sort()).toEqual(['v1']);
      // sync: an entry whose verify rule is the Notation signer mirrors v1 only.
      const synced = await runBundledAction('sync', {
        config: JSON.stringify({
          images: [
            {
              source: `${src.host}/team/gated`,
              destinations: [`${withoutApi.host}/mirror/gated`],
              tags: {allow: ['v1', 'v2']},
              verify: {notation: {ca: ca.cert, identities: [release.subject]}}
            }
          ]
        }),
        'notation-path': notation as string
      });
      expect({code: synced.code, refused: synced.outputs.refused}).toEqual({code: 0, refused: '1'});
      expect(synced.stdout).toMatch(/::warning::.*\(v2\) refused: signature: Notation: .*trusted identities/);
      const mirror = new GhcrImages({host: withoutApi.host}, 'mirror', 'gated');
      expect((await mirror.client.listTags(mirror.repo)).filter(t => !t.startsWith('sha256-'))).toEqual(['v1']);
      // The audit with the same policy: both carry a Notation signature (presence); verified, v2's signer is refused.
      const audited = await runBundledAction(
        'audit',
        {
          backend: 'oci',
          'registry-url': src.host,
          packages: 'team/gated',
          'compliance-policy': policy,
          'notation-path': notation as string
        },
        {RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(work, 'tools-'))}
      );
      ok(audited);
      const served = (
        JSON.parse(fs.readFileSync(path.join(audited.dir, 'registry-audit.json'), 'utf8')) as {
          repositories: Array<{
            served: Array<{tags: string[]; checked: string; compliant: boolean; signatures: number}>;
          }>;
        }
      ).repositories[0].served;
      expect(
        Object.fromEntries(served.map(i => [i.tags.join(','), `${i.checked} ${i.compliant} ${i.signatures}`]))
      ).toEqual({v1: 'verified true 1', v2: 'verified false 1'});
    }
  );

  maybe(
    'a timestamped signature (RFC 3161, the local timestamp authority): verified with the TSA root required; an untimestamped one then fails',
    async () => {
      if (!sigstoreTools()) throw new Error('timestamp-server missing: run scripts/setup.sh');
      const tsa = await startTimestampAuthority();
      try {
        const p = new GhcrImages({host: withApi.host}, 'team', 'timed');
        await p.platform('timed', 'linux/amd64', 512, 'timed');
        await p.platform('untimed', 'linux/amd64', 512, 'untimed');
        ok(await sign(`${withApi.host}/team/timed:timed`, {'timestamp-url': tsa.url, 'timestamp-root-cert': tsa.root}));
        ok(await sign(`${withApi.host}/team/timed:untimed`));
        const check = (tag: string): Promise<ActionRun> =>
          verify(`${withApi.host}/team/timed:${tag}`, {'timestamp-root-cert': tsa.root});
        ok(await check('timed'));
        const untimed = await check('untimed');
        expect(untimed.code).toBe(1);
        expect(errorLines(untimed).join('\n')).toMatch(/timestamp/i);
        // Without the TSA root in the trust both verify (the timestamp is not required then).
        ok(await verify(`${withApi.host}/team/timed:untimed`));
      } finally {
        await tsa.stop();
      }
    },
    // One timestamp authority runs per machine at a time: this may wait for the keyless suite's turn.
    900000
  );

  maybe(
    "cleanup (backend oci) deletes a deleted image's Notation signatures with it and keeps a kept image's, still verifying; with and without the referrers API",
    async () => {
      for (const reg of [withApi, withoutApi]) {
        const p = new GhcrImages({host: reg.host}, 'team', 'retained');
        const old = await p.image('old', ['v1'], {created: '2026-01-01T00:00:00Z'});
        const kept = await p.image('kept', ['v2'], {created: '2026-02-01T00:00:00Z'});
        ok(await sign(`${reg.host}/team/retained:v1\n${reg.host}/team/retained:v2`));
        const sigsOf = async (d: string): Promise<number> => listed(`${reg.host}/team/retained@${d}`);
        expect(await sigsOf(old.digest)).toBe(1);
        const run = await runBundledAction(
          'ghcr-cleanup',
          {backend: 'oci', 'registry-url': reg.host, packages: 'team/retained', 'keep-n-tagged': '1', token: ''},
          {RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(work, 'tools-'))}
        );
        ok(run);
        const deleted = (JSON.parse(run.outputs.deleted) as Array<{digest: string}>).map(d => d.digest);
        // The old image, its platforms, and the three signatures on them (and the fallback indexes where there is no API).
        expect(deleted).toEqual(expect.arrayContaining([old.digest, ...old.children]));
        expect(deleted.length).toBe(reg === withApi ? 6 : 9);
        expect(await p.client.headManifest(p.repo, old.digest)).toBeUndefined();
        for (const d of [kept.digest, ...kept.children]) {
          expect(await sigsOf(d)).toBe(1);
          expect(await independentVerify(`${reg.host}/team/retained@${d}`, ca, release.subject)).toMatchObject({
            code: 0
          });
        }
      }
    }
  );
});
