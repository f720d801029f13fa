import crypto from 'node:crypto';
import {execFile} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {Fixture, multiPlatformFixture} from '../helpers/images.js';
import {
  IMPLEMENTATIONS,
  Implementation,
  Registry,
  allImplementations,
  freePort,
  manifestDigest,
  skopeo,
  startRegistry
} from '../helpers/registry.js';
import {errorLines, pushResults, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';

/**
 * The same scenarios against three registry implementations none of which we wrote: distribution 2.8
 * and 3 (no referrers API: the client keeps the sha256-<hex> fallback index) and olareg (the OCI 1.1
 * referrers API, answering OCI-Subject). Assertions read the registries directly or with skopeo.
 */
const ready = allImplementations() && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;

const sha = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY = Buffer.from('{}');

async function putBlob(r: Registry, repo: string, data: Buffer): Promise<void> {
  const start = await fetch(`${r.url}/v2/${repo}/blobs/uploads/`, {method: 'POST'});
  await start.body?.cancel();
  const loc = new URL(start.headers.get('location') as string, r.url);
  loc.searchParams.set('digest', sha(data));
  const put = await fetch(loc, {method: 'PUT', headers: {'content-type': 'application/octet-stream'}, body: data});
  await put.body?.cancel();
  expect(put.status).toBe(201);
}

async function putManifest(r: Registry, repo: string, ref: string, body: Buffer, type: string): Promise<Response> {
  const res = await fetch(`${r.url}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: {'content-type': type},
    body
  });
  await res.body?.cancel();
  expect(res.status).toBe(201);
  return res;
}

/** An OCI 1.1 artifact (an SBOM-like blob) whose subject is `subject`, written straight to a registry. */
async function pushArtifact(
  r: Registry,
  repo: string,
  subject: string,
  size: number,
  seed: string
): Promise<{digest: string; size: number}> {
  const layer = Buffer.from(`sbom of ${subject} ${seed}`);
  await putBlob(r, repo, EMPTY);
  await putBlob(r, repo, layer);
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/spdx+json',
      config: {mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(EMPTY), size: 2},
      layers: [{mediaType: 'application/spdx+json', digest: sha(layer), size: layer.length}],
      subject: {mediaType: OCI_INDEX, digest: subject, size},
      annotations: {'org.example.seed': seed}
    })
  );
  await putManifest(r, repo, sha(body), body, OCI_MANIFEST);
  return {digest: sha(body), size: body.length};
}

/** What finds the referrers of `subject` at a registry: its referrers API, or else the fallback index tag. */
async function referrersOf(r: Registry, repo: string, subject: string): Promise<string[]> {
  const api = await fetch(`${r.url}/v2/${repo}/referrers/${subject}`, {headers: {accept: OCI_INDEX}});
  if (api.status === 200 && (api.headers.get('content-type') ?? '').includes(OCI_INDEX)) {
    return ((await api.json()) as {manifests: Array<{digest: string}>}).manifests.map(m => m.digest).sort();
  }
  await api.body?.cancel();
  const tag = await fetch(`${r.url}/v2/${repo}/manifests/${subject.replace(':', '-')}`, {headers: {accept: OCI_INDEX}});
  if (tag.status !== 200) {
    await tag.body?.cancel();
    return [];
  }
  return ((await tag.json()) as {manifests: Array<{digest: string}>}).manifests.map(m => m.digest).sort();
}

/** Copies an OCI layout's tag into a registry with skopeo (an independent client). */
const seed = (dir: string, tag: string, dest: string): Promise<string> =>
  skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${dir}:${tag}`, `docker://${dest}`]);

/** The size of the source image's index, for a subject descriptor. */
const indexSize = async (): Promise<number> =>
  (await (await fetch(`${source.url}/v2/app/manifests/v1`, {headers: {accept: OCI_INDEX}})).arrayBuffer()).byteLength;

const registries: Partial<Record<Implementation, Registry>> = {};
let fixture: Fixture;
let source: Registry;

beforeAll(async () => {
  if (!ready) return;
  for (const impl of IMPLEMENTATIONS) registries[impl] = await startRegistry('none', impl);
  source = (await startRegistry('none', 'olareg')) as Registry;
  fixture = multiPlatformFixture({seed: 'impl'});
  await seed(fixture.dir, 'v1', `${source.host}/app:v1`);
}, 60000);
afterAll(async () => {
  for (const r of Object.values(registries)) await r?.stop();
  await source?.stop();
});

describe.each(IMPLEMENTATIONS)('on %s', impl => {
  const reg = (): Registry => registries[impl] as Registry;

  maybe('push-multi copies every platform by digest with its referrers; a rerun writes nothing', async () => {
    const sbom = await pushArtifact(source, 'app', fixture.digest, await indexSize(), `copy-${impl}`);
    const run = await runBundledAction('push-multi', {
      source: `${source.host}/app:v1`,
      destinations: `${reg().host}/copy/app`,
      tags: 'v1'
    });
    expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
    expect(await manifestDigest(`${reg().host}/copy/app:v1`)).toBe(fixture.digest);
    // Distribution spec 1.1: without OCI-Subject in the PUT answer, the client keeps the fallback index.
    expect(await referrersOf(reg(), 'copy/app', fixture.digest)).toContain(sbom.digest);
    const rerun = await runBundledAction('push-multi', {
      source: `${source.host}/app:v1`,
      destinations: `${reg().host}/copy/app`,
      tags: 'v1'
    });
    expect(rerun.code).toBe(0);
    expect(pushResults(rerun)[0].counters).toMatchObject({blobsUploaded: 0, manifestsWritten: 0, tagsWritten: 0});
  });

  maybe(
    'a destination copied without its referrers index heals on the next run, and entries already there are kept',
    async () => {
      const repo = 'heal/app';
      // As an earlier version left it: image and artifact present, no fallback index; plus an unrelated
      // referrer the destination already lists, which must survive the merge.
      await seed(fixture.dir, 'v1', `${reg().host}/${repo}:v1`);
      const sbom = await pushArtifact(source, 'app', fixture.digest, await indexSize(), `heal-${impl}`);
      const raw = Buffer.from(
        await (
          await fetch(`${source.url}/v2/app/manifests/${sbom.digest}`, {headers: {accept: OCI_MANIFEST}})
        ).arrayBuffer()
      );
      await putBlob(reg(), repo, EMPTY);
      await putBlob(reg(), repo, Buffer.from(`sbom of ${fixture.digest} heal-${impl}`));
      const put = await putManifest(reg(), repo, sbom.digest, raw, OCI_MANIFEST);
      const hasApi = put.headers.get('oci-subject') !== null;
      const local = await pushArtifact(reg(), repo, fixture.digest, await indexSize(), `local-${impl}`);
      if (!hasApi) {
        // Distribution keeps no index of its own: only the local one, written by hand, is listed.
        const only = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            manifests: [{mediaType: OCI_MANIFEST, digest: local.digest, size: local.size}]
          })
        );
        await putManifest(reg(), repo, fixture.digest.replace(':', '-'), only, OCI_INDEX);
        expect(await referrersOf(reg(), repo, fixture.digest)).not.toContain(sbom.digest);
      }
      const run = await runBundledAction('push-multi', {
        source: `${source.host}/app:v1`,
        destinations: `${reg().host}/${repo}`,
        tags: 'v1'
      });
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      const listed = await referrersOf(reg(), repo, fixture.digest);
      expect(listed).toEqual(expect.arrayContaining([sbom.digest, local.digest]));
    }
  );

  maybe(
    'cleanup with backend oci: keep-n-tagged deletes whole images; delete-untagged warns what it cannot see',
    async () => {
      const repo = 'clean/app';
      const images: string[] = [];
      for (let i = 0; i < 3; i++) {
        const f = multiPlatformFixture({seed: `clean-${impl}-${i}`, tag: `t${i}`});
        await seed(f.dir, `t${i}`, `${reg().host}/${repo}:t${i}`);
        images.push(f.digest);
        await new Promise(r => setTimeout(r, 1100));
      }
      const run = await runBundledAction(
        'ghcr-cleanup',
        {
          backend: 'oci',
          'registry-url': reg().host,
          packages: repo,
          'keep-n-tagged': '1',
          'delete-untagged': 'true',
          'github-token': '',
          'manifest-cache': 'false'
        },
        {RUNNER_TOOL_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'impl-tools-'))}
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      expect(run.stdout).toMatch(/::warning::backend oci: .*cannot be seen; delete-untagged/);
      const tags =
        ((await (await fetch(`${reg().url}/v2/${repo}/tags/list`)).json()) as {tags?: string[] | null}).tags ?? [];
      // The fixtures carry the same creation time, so which one is newest is the backend's tie-break:
      // exactly one image is left, and it still pulls completely, every platform.
      expect(tags).toHaveLength(1);
      const kept = Number(tags[0].slice(1));
      expect(await manifestDigest(`${reg().host}/${repo}:${tags[0]}`)).toBe(images[kept]);
      await skopeo([
        'copy',
        '--all',
        '--src-tls-verify=false',
        `docker://${reg().host}/${repo}:${tags[0]}`,
        `oci:${fs.mkdtempSync(path.join(os.tmpdir(), 'pull-'))}:${tags[0]}`
      ]);
    }
  );

  maybe('sign by digest with cosign and verify, in both bundle formats', async () => {
    const cosign = requireTool('cosign') as string;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'impl-keys-'));
    await promisify(execFile)(cosign, ['generate-key-pair'], {
      cwd: dir,
      env: {PATH: process.env.PATH ?? '', HOME: dir, COSIGN_PASSWORD: ''}
    });
    const repo = 'signed/app';
    await seed(fixture.dir, 'v1', `${reg().host}/${repo}:v1`);
    for (const format of ['new', 'legacy']) {
      const sign = await runBundledAction('sign', {
        images: `${reg().host}/${repo}:v1`,
        key: path.join(dir, 'cosign.key'),
        'tlog-upload': 'false',
        'bundle-format': format,
        'cosign-path': cosign
      });
      expect({format, code: sign.code, errors: errorLines(sign)}).toEqual({format, code: 0, errors: []});
      const verify = await runBundledAction('sign', {
        images: `${reg().host}/${repo}:v1`,
        verify: 'true',
        key: path.join(dir, 'cosign.pub'),
        'insecure-ignore-tlog': 'true',
        'bundle-format': format,
        'cosign-path': cosign
      });
      expect({format, code: verify.code, errors: errorLines(verify)}).toEqual({format, code: 0, errors: []});
    }
  });
});

// The registries these tests start take a free port, which another process can take first. Handed a
// port another registry holds, the helper must not mistake that registry's answer for its own.
describe('the test registry helper', () => {
  maybe('a port another registry holds is not taken for ours', async () => {
    const other = (await startRegistry('none')) as Registry;
    let handed = false;
    const taken = Number(other.host.split(':')[1]);
    const ours = (await startRegistry('htpasswd', 'distribution-2.8', async () => {
      if (handed) return freePort();
      handed = true;
      return taken;
    })) as Registry;
    try {
      expect(handed).toBe(true);
      expect(ours.host).not.toBe(other.host);
      // ours asks for credentials; the other registry does not
      expect((await fetch(`${ours.url}/v2/`)).status).toBe(401);
      expect((await fetch(`${other.url}/v2/`)).status).toBe(200);
    } finally {
      await ours.stop();
      await other.stop();
    }
  });
});
