import {execFile} from 'node:child_process';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {Fixture, multiPlatformFixture} from '../helpers/images.js';
import {GhcrImages} from '../helpers/ghcr-images.js';
import {IMPLEMENTATIONS, PASSWORD, Registry, USER, skopeo, startRegistry} from '../helpers/registry.js';
import {errorLines, runBundledAction} from '../helpers/run-action.js';
import {nodeRuntimes, requireTool} from '../helpers/tools.js';

const cosign = requireTool('cosign');
const ready = !!cosign && !!requireTool('docker-registry') && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;

const KEY_PASSWORD = 'key-pass-93b1';
let anon: Registry;
let basic: Registry;
let fixture: Fixture;
let keys: {dir: string; key: string; pub: string; keyText: string};

interface Signed {
  reference: string;
  digest: string;
  tags: string[];
  platform?: string;
  signaturesBefore: number;
  signaturesAfter: number;
  signatures: string[];
}
interface Verified {
  reference: string;
  verified: boolean;
  error?: string;
}

/** Runs the real cosign CLI, independently of the action, as a user would to check its work. */
async function cosignVerify(ref: string, extra: string[] = []): Promise<{code: number; stderr: string}> {
  try {
    await promisify(execFile)(
      cosign as string,
      ['verify', '--key', keys.pub, '--insecure-ignore-tlog=true', '--allow-http-registry', ...extra, ref],
      {env: {PATH: process.env.PATH ?? '', HOME: keys.dir, DOCKER_CONFIG: path.join(keys.dir, 'docker')}}
    );
    return {code: 0, stderr: ''};
  } catch (err) {
    const e = err as {code: number; stderr: string};
    return {code: e.code, stderr: e.stderr};
  }
}

async function push(dir: string, tag: string, dest: string, creds?: string): Promise<void> {
  await skopeo([
    'copy',
    '--all',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    `oci:${dir}:${tag}`,
    `docker://${dest}`
  ]);
}

async function tagsOf(registry: Registry, repo: string, auth?: string): Promise<string[]> {
  const res = await fetch(`${registry.url}/v2/${repo}/tags/list`, {
    headers: auth ? {authorization: `Basic ${Buffer.from(auth).toString('base64')}`} : {}
  });
  return ((await res.json()) as {tags: string[]}).tags ?? [];
}

const signInputs = (images: string, extra: Record<string, string> = {}): Record<string, string> => ({
  images,
  key: keys.keyText,
  'key-password': KEY_PASSWORD,
  'tlog-upload': 'false',
  'cosign-path': cosign as string,
  ...extra
});

beforeAll(async () => {
  if (!ready) return;
  [anon, basic] = (await Promise.all([startRegistry('none'), startRegistry('htpasswd')])) as Registry[];
  fixture = multiPlatformFixture({platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], seed: 'sign'});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosign-keys-'));
  await promisify(execFile)(cosign as string, ['generate-key-pair'], {
    cwd: dir,
    env: {PATH: process.env.PATH ?? '', HOME: dir, COSIGN_PASSWORD: KEY_PASSWORD}
  });
  keys = {
    dir,
    key: path.join(dir, 'cosign.key'),
    pub: path.join(dir, 'cosign.pub'),
    keyText: fs.readFileSync(path.join(dir, 'cosign.key'), 'utf8')
  };
  for (const tag of ['v1', 'v1.2', 'latest']) await push(fixture.dir, 'v1', `${anon.host}/app:${tag}`);
}, 60000);

afterAll(async () => {
  await Promise.all([anon, basic].filter(Boolean).map(r => r.stop()));
});

describe('sign with real cosign against real registries', () => {
  maybe(
    'a digest named by three tags gets one signature, on the index and every platform; cosign verify accepts it',
    async () => {
      const run = await runBundledAction(
        'sign',
        signInputs(`${anon.host}/app:v1\n${anon.host}/app:v1.2, ${anon.host}/app:latest`, {'bundle-format': 'legacy'})
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      const signed = JSON.parse(run.outputs.signed) as Signed[];
      expect(signed.map(s => s.digest)).toEqual([fixture.digest, ...fixture.manifests.map(m => m.digest)]);
      expect(signed[0].tags.sort()).toEqual(['latest', 'v1', 'v1.2']);
      expect(signed.slice(1).map(s => s.platform)).toEqual(['linux/amd64', 'linux/arm64', 'linux/arm/v7']);
      for (const s of signed) expect([s.signaturesBefore, s.signaturesAfter, s.signatures.length]).toEqual([0, 1, 1]);
      // The legacy .sig manifest holds exactly one signature layer, not three.
      const sig = await fetch(`${anon.url}/v2/app/manifests/${fixture.digest.replace(':', '-')}.sig`, {
        headers: {accept: 'application/vnd.oci.image.manifest.v1+json'}
      });
      expect(((await sig.json()) as {layers: unknown[]}).layers).toHaveLength(1);
      expect(run.outputs.digests.split('\n')).toHaveLength(4);
      // Secrets are masked the moment they are read, and the key text never reaches the log.
      expect(run.stdout).toContain(`::add-mask::${KEY_PASSWORD}`);
      expect(run.stdout).not.toContain('ENCRYPTED SIGSTORE PRIVATE KEY');
      expect(run.summary).toContain('0 → 1');
      // No private material is left behind in the runner's temp directory.
      expect(fs.readdirSync(run.dir).filter(f => f.startsWith('registry-actions-sign-'))).toEqual([]);

      for (const s of signed) expect(await cosignVerify(s.reference)).toEqual({code: 0, stderr: ''});
      // The action's own verify mode agrees, every platform included.
      const verify = await runBundledAction('sign', {
        images: `${anon.host}/app:latest`,
        verify: 'true',
        key: keys.pub,
        'bundle-format': 'legacy',
        'insecure-ignore-tlog': 'true',
        'cosign-path': cosign as string
      });
      expect({code: verify.code, errors: errorLines(verify)}).toEqual({code: 0, errors: []});
      expect((JSON.parse(verify.outputs.verified) as Verified[]).map(v => v.verified)).toEqual([
        true,
        true,
        true,
        true
      ]);
    }
  );

  maybe(
    'signed in registry A (new bundle format, htpasswd login), copied with push-multi to B: verify succeeds in B',
    async () => {
      const src = `${basic.host}/team/app`;
      await push(fixture.dir, 'v1', `${src}:v1`, `${USER}:${PASSWORD}`);
      const run = await runBundledAction(
        'sign',
        signInputs(`${src}:v1`, {
          'bundle-format': 'new',
          recursive: 'false',
          logins: `${basic.host},username=${USER},password-env=REG_PASSWORD`
        }),
        {REG_PASSWORD: PASSWORD}
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      const signed = JSON.parse(run.outputs.signed) as Signed[];
      expect(signed).toHaveLength(1);
      expect(signed[0].signatures[0]).toMatch(new RegExp(`^${src}@sha256:[a-f0-9]{64}$`));
      expect(run.stdout).toContain(`::add-mask::${PASSWORD}`);

      const copy = await runBundledAction(
        'push-multi',
        {
          source: `${src}:v1`,
          'source-username': USER,
          'source-password': PASSWORD,
          destinations: `${anon.host}/promoted/app`,
          tags: 'v1'
        },
        {}
      );
      expect({code: copy.code, errors: errorLines(copy)}).toEqual({code: 0, errors: []});
      expect(await cosignVerify(`${anon.host}/promoted/app@${fixture.digest}`, ['--new-bundle-format=true'])).toEqual({
        code: 0,
        stderr: ''
      });
      const verify = await runBundledAction('sign', {
        images: `${anon.host}/promoted/app:v1`,
        verify: 'true',
        recursive: 'false',
        key: keys.pub,
        'insecure-ignore-tlog': 'true',
        'cosign-path': cosign as string
      });
      expect({code: verify.code, errors: errorLines(verify)}).toEqual({code: 0, errors: []});
    }
  );

  maybe(
    'verify: tlog-upload false does not skip the transparency-log check; insecure-ignore-tlog does, with a warning',
    async () => {
      await push(fixture.dir, 'v1', `${anon.host}/tlog:v1`);
      const sign = await runBundledAction('sign', signInputs(`${anon.host}/tlog:v1`, {recursive: 'false'}));
      expect(sign.code).toBe(0);
      const verifyWith = (extra: Record<string, string>) =>
        runBundledAction('sign', {
          images: `${anon.host}/tlog:v1`,
          verify: 'true',
          recursive: 'false',
          key: keys.pub,
          'cosign-path': cosign as string,
          ...extra
        });
      // A with: block copied from the sign step: the signature has no tlog entry, so it must not verify.
      const copied = await verifyWith({'tlog-upload': 'false'});
      expect(copied.code).not.toBe(0);
      expect(copied.stdout).toContain('tlog-upload: false applies to signing');
      const explicit = await verifyWith({'insecure-ignore-tlog': 'true'});
      expect({code: explicit.code, errors: errorLines(explicit)}).toEqual({code: 0, errors: []});
      expect(explicit.stdout).toContain('::warning::insecure-ignore-tlog: true');
    }
  );

  maybe(
    'an index of indexes: sign and verify walk every level; the gate refuses a platform no one signed and push-multi copies nothing',
    async () => {
      const images = new GhcrImages(anon, 'nest', 'app', {kind: 'anonymous'});
      const img = await images.nestedImage('nested', 'v1');
      // Signed one level deep only (the root and its two indexes), as the action did before it walked nesting.
      const partial = await runBundledAction(
        'sign',
        signInputs([`${anon.host}/nest/app:v1`, ...img.nested.map(d => `${anon.host}/nest/app@${d}`)].join('\n'), {
          recursive: 'false'
        })
      );
      expect({code: partial.code, errors: errorLines(partial)}).toEqual({code: 0, errors: []});
      const verifyInputs = {
        images: `${anon.host}/nest/app:v1`,
        verify: 'true',
        key: keys.pub,
        'insecure-ignore-tlog': 'true',
        'cosign-path': cosign as string
      };
      const refused = await runBundledAction('sign', verifyInputs);
      expect(refused.code).toBe(1);
      const verified = JSON.parse(refused.outputs.verified) as Array<Verified & {digest: string; platform?: string}>;
      // Every level is checked: the root, both nested indexes and the three platform manifests.
      expect(verified.map(v => v.digest).sort()).toEqual([img.digest, ...img.nested, ...img.platforms].sort());
      expect(
        verified
          .filter(v => !v.verified)
          .map(v => v.digest)
          .sort()
      ).toEqual([...img.platforms].sort());
      expect(verified.find(v => v.digest === img.platforms[2])?.platform).toBe('linux/s390x');

      const prod = (await startRegistry('none')) as Registry;
      try {
        const gated = await runBundledAction('push-multi', {
          source: `${anon.host}/nest/app:v1`,
          destinations: `${prod.host}/prod/app`,
          tags: 'v1',
          policy: `signer: {key: ${keys.pub}, ignore-tlog: true}`,
          'cosign-path': cosign as string
        });
        expect(gated.code).toBe(1);
        expect(errorLines(gated).join('\n')).toContain(img.platforms[0].slice(7, 19));
        const catalog = (await (await fetch(`${prod.url}/v2/_catalog`)).json()) as {repositories: string[]};
        expect(catalog.repositories).toEqual([]);

        // Signed recursively, every level verifies, and the gate passes what push-multi then copies whole.
        const full = await runBundledAction('sign', signInputs(`${anon.host}/nest/app:v1`));
        expect({code: full.code, errors: errorLines(full)}).toEqual({code: 0, errors: []});
        const ok = await runBundledAction('sign', verifyInputs);
        expect({code: ok.code, errors: errorLines(ok)}).toEqual({code: 0, errors: []});
        const copied = await runBundledAction('push-multi', {
          source: `${anon.host}/nest/app:v1`,
          destinations: `${prod.host}/prod/app`,
          tags: 'v1',
          policy: `signer: {key: ${keys.pub}, ignore-tlog: true}`,
          'cosign-path': cosign as string
        });
        expect({code: copied.code, errors: errorLines(copied)}).toEqual({code: 0, errors: []});
        const gate = JSON.parse(copied.outputs.gate) as Array<{reference: string; verified: boolean}>;
        const gatedDigests = gate.map(g => g.reference.slice(g.reference.indexOf('@') + 1)).sort();
        expect(gatedDigests).toEqual([img.digest, ...img.nested, ...img.platforms].sort());
        for (const d of [img.digest, ...img.nested, ...img.platforms])
          expect((await cosignVerify(`${prod.host}/prod/app@${d}`)).code).toBe(0);
      } finally {
        await prod.stop();
      }
    }
  );

  maybe('a tag moved to another image fails verification, naming the image and why', async () => {
    await push(fixture.dir, 'v1', `${anon.host}/tampered:prod`);
    const sign = await runBundledAction('sign', signInputs(`${anon.host}/tampered:prod`, {recursive: 'false'}));
    expect(sign.code).toBe(0);
    const other = multiPlatformFixture({platforms: ['linux/amd64'], seed: 'attacker'});
    await push(other.dir, 'v1', `${anon.host}/tampered:prod`);
    const verify = await runBundledAction('sign', {
      images: `${anon.host}/tampered:prod`,
      verify: 'true',
      recursive: 'false',
      key: keys.pub,
      'insecure-ignore-tlog': 'true',
      'cosign-path': cosign as string
    });
    expect(verify.code).not.toBe(0);
    const errors = errorLines(verify);
    expect(errors.join('\n')).toContain(`${anon.host}/tampered@${other.digest}`);
    expect(errors.join('\n')).toContain('no signature found for this digest');
    expect(errors.join('\n')).toContain('(prod)');
    expect(JSON.parse(verify.outputs.verified)).toEqual([
      expect.objectContaining({reference: `${anon.host}/tampered@${other.digest}`, verified: false})
    ]);
  });

  maybe(
    'an attestation is not a signature: attested by the key but unsigned, or signed by another key, fails verify and the gate; plain cosign verify passes both',
    async () => {
      const env = {PATH: process.env.PATH ?? '', HOME: keys.dir, COSIGN_PASSWORD: KEY_PASSWORD};
      const predicate = path.join(keys.dir, 'provenance.json');
      fs.writeFileSync(predicate, JSON.stringify({builder: {id: 'https://example.com/builder'}}));
      const cosignRun = (args: string[]): Promise<unknown> =>
        promisify(execFile)(
          cosign as string,
          [...args, '--yes', '--tlog-upload=false', '--use-signing-config=false', '--allow-http-registry'],
          {env}
        );
      // A second signer: its own key pair.
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cosign-other-'));
      await promisify(execFile)(cosign as string, ['generate-key-pair'], {cwd: other, env});
      // Every copy: plain cosign passes it, the action's verify does not.
      const verifyEach = async (): Promise<void> => {
        for (const ref of refs) {
          // Plain cosign takes the attestation bundle by the key for a signature.
          expect(await cosignVerify(ref)).toEqual({code: 0, stderr: ''});
          const verify = await runBundledAction('sign', {
            images: ref,
            verify: 'true',
            recursive: 'false',
            key: keys.pub,
            'insecure-ignore-tlog': 'true',
            'cosign-path': cosign as string
          });
          expect(verify.code).toBe(1);
          expect(errorLines(verify).join('\n')).toContain(
            'attested by the required signer (https://slsa.dev/provenance/v1) but not signed'
          );
        }
      };
      // On each registry implementation: the referrers API (olareg) or the fallback tag (the others).
      const others = await Promise.all(
        IMPLEMENTATIONS.filter(i => i !== 'distribution-2.8').map(i => startRegistry('none', i))
      );
      const refs: string[] = [];
      try {
        for (const host of [anon.host, ...others.map(r => (r as Registry).host)]) {
          await push(fixture.dir, 'v1', `${host}/attested-only:v1`);
          await push(fixture.dir, 'v1', `${host}/foreign-signed:v1`);
          const only = `${host}/attested-only@${fixture.digest}`;
          const foreign = `${host}/foreign-signed@${fixture.digest}`;
          // Attested with the release key by plain cosign, never signed; signed by another key, attested by ours.
          const attest = ['attest', '--key', keys.key, '--predicate', predicate, '--type', 'slsaprovenance1'];
          await cosignRun([...attest, only]);
          await cosignRun([...attest, foreign]);
          await cosignRun(['sign', '--key', path.join(other, 'cosign.key'), foreign]);
          refs.push(only, foreign);
        }
        await verifyEach();
      } finally {
        await Promise.all(others.map(r => r?.stop()));
      }
      const attestedOnly = refs[0];
      // The promotion gate (push-multi) refuses it too, copying nothing.
      const prod = (await startRegistry('none')) as Registry;
      try {
        const gated = await runBundledAction('push-multi', {
          source: attestedOnly,
          destinations: `${prod.host}/prod/app`,
          policy: `signer: {key: ${keys.pub}, ignore-tlog: true}`,
          'cosign-path': cosign as string
        });
        expect(gated.code).toBe(1);
        expect(errorLines(gated).join('\n')).toContain('but not signed');
        const catalog = (await (await fetch(`${prod.url}/v2/_catalog`)).json()) as {repositories: string[]};
        expect(catalog.repositories).toEqual([]);
      } finally {
        await prod.stop();
      }
    }
  );

  maybe('attest attaches a predicate that cosign verify-attestation accepts', async () => {
    await push(fixture.dir, 'v1', `${anon.host}/attested:v1`);
    const predicate = path.join(keys.dir, 'sbom.json');
    fs.writeFileSync(predicate, JSON.stringify({packages: [{name: 'demo', version: '1.0.0'}]}));
    const run = await runBundledAction(
      'sign',
      signInputs(`${anon.host}/attested:v1`, {
        recursive: 'false',
        attest: predicate,
        'predicate-type': 'https://example.com/sbom/v1'
      })
    );
    expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
    const {stdout} = await promisify(execFile)(
      cosign as string,
      [
        'verify-attestation',
        '--key',
        keys.pub,
        '--insecure-ignore-tlog=true',
        '--allow-http-registry',
        '--type',
        'https://example.com/sbom/v1',
        `${anon.host}/attested@${fixture.digest}`
      ],
      {env: {PATH: process.env.PATH ?? '', HOME: keys.dir}}
    );
    expect(stdout).toContain('payload');
  });
});

describe('sign: bad input fails before anything is signed', () => {
  test('no images: said at once, before cosign is looked for or downloaded', async () => {
    for (const verify of ['false', 'true']) {
      // No cosign-path and an empty tool cache: resolving cosign would try a download (and fail offline).
      const run = await runBundledAction(
        'sign',
        {images: '', key: 'env://NO_KEY', verify},
        {RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'no-tools-')), NO_KEY: 'x'}
      );
      expect(run.code).toBe(1);
      expect(errorLines(run).join('\n')).toContain('images: give at least one image');
      expect(run.stdout).not.toMatch(/checksum|download/i);
    }
  });
  maybe('a wrong key password: a message about key-password, no signature written', async () => {
    await push(fixture.dir, 'v1', `${anon.host}/wrongpass:v1`);
    const run = await runBundledAction('sign', signInputs(`${anon.host}/wrongpass:v1`, {'key-password': 'nope'}));
    expect(run.code).not.toBe(0);
    expect(errorLines(run)).toEqual([expect.stringContaining('key-password is wrong or missing')]);
    expect((await tagsOf(anon, 'wrongpass')).sort()).toEqual(['v1']);
  });

  maybe('an image that is not in the registry: named, and the other images are not signed either', async () => {
    await push(fixture.dir, 'v1', `${anon.host}/partial:v1`);
    const run = await runBundledAction(
      'sign',
      signInputs(`${anon.host}/partial:v1\n${anon.host}/partial:missing\n${anon.host}/partial@sha256:${'0'.repeat(64)}`)
    );
    expect(run.code).not.toBe(0);
    const [error] = errorLines(run);
    expect(error).toContain(`${anon.host}/partial:missing: the tag missing does not exist`);
    expect(error).toContain(`${anon.host}/partial@sha256:${'0'.repeat(64)}: no manifest with this digest`);
    expect(error).toContain('nothing was done');
    expect(await tagsOf(anon, 'partial')).toEqual(['v1']);
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  maybe('keyless without an OIDC token fails at once with the permissions block, never a device flow', async () => {
    const run = await runBundledAction('sign', {
      images: `${anon.host}/app:v1`,
      'cosign-path': cosign as string
    });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('id-token: write');
    expect(errorLines(run)).toHaveLength(1);
  });

  maybe('a key file that does not exist and an unknown mode name the input', async () => {
    const missing = await runBundledAction('sign', {
      images: `${anon.host}/app:v1`,
      key: './nope.key',
      'cosign-path': cosign as string
    });
    expect(errorLines(missing)).toEqual([expect.stringContaining('key: ./nope.key is not a file')]);
    const mode = await runBundledAction('sign', {
      images: `${anon.host}/app:v1`,
      mode: 'magic',
      'cosign-path': cosign as string
    });
    expect(errorLines(mode)).toEqual([expect.stringContaining('mode: "magic" is not one of auto, keyless, key, kms')]);
  });

  maybe('the post step removes the private directory the main step leaves when cancelled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-actions-sign-'));
    fs.writeFileSync(path.join(dir, 'oidc-token'), 'secret');
    const run = await runBundledAction('sign', {}, {'STATE_temp-dir': dir}, {entry: 'post'});
    expect(run.code).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe.each(nodeRuntimes())('sign on %s (action.yml declares node24)', (_label, node) => {
  (ready && node ? test : test.skip)('signs and verifies by digest', async () => {
    await push(fixture.dir, 'v1', `${anon.host}/runtime-${(node as string).length}:v1`);
    const image = `${anon.host}/runtime-${(node as string).length}:v1`;
    const signed = await runBundledAction('sign', signInputs(image, {recursive: 'false'}), {}, {node});
    expect({code: signed.code, errors: errorLines(signed)}).toEqual({code: 0, errors: []});
    const verified = await runBundledAction(
      'sign',
      {
        images: image,
        verify: 'true',
        recursive: 'false',
        key: keys.pub,
        'insecure-ignore-tlog': 'true',
        'cosign-path': cosign as string
      },
      {},
      {node}
    );
    expect({code: verified.code, errors: errorLines(verified)}).toEqual({code: 0, errors: []});
  });
});
