import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {
  ContainerRegistryClient,
  ContainerRegistryContentClient,
  KnownManifestMediaType
} from '@azure/container-registry';
import {ArtifactRegistryClient} from '@google-cloud/artifact-registry';
import {GhcrImages} from '../helpers/ghcr-images.js';
import {multiPlatformFixture} from '../helpers/images.js';
import {errorLines, pushResults, runBundledAction} from '../helpers/run-action.js';
import {AAD_TOKEN, startAcr} from '../helpers/vendors/acr.js';
import {GAR_TOKEN, startGar} from '../helpers/vendors/gar.js';
import {makeCa, makeServerCert} from '../helpers/pki.js';
import {requireTool} from '../helpers/tools.js';
import {VendorRegistry} from '../helpers/vendor-registry.js';

/**
 * The vendors' own SDKs against our emulators: what the emulator answers must be what the SDK, written
 * against the real service, expects (its auth flow, paging, JSON shapes). The ECR SDK is the product's
 * own and runs in every ECR scenario; here Azure's SDK pushes, lists, reads and deletes in the ACR
 * emulator (over TLS: the SDK sends bearer tokens only over https), with every answer still checked
 * against ACR's description.
 */
const ready = !!requireTool('docker-registry') && !!requireTool('openssl');

let emu: VendorRegistry;
let ca: string;
let caFile: string;

beforeAll(async () => {
  if (!ready) return;
  // ACR speaks TLS: a certificate for 127.0.0.1 from a test CA the clients trust.
  const authority = makeCa(fs.mkdtempSync(path.join(os.tmpdir(), 'acr-tls-')), 'ACR test');
  const server = makeServerCert(authority, '127.0.0.1');
  caFile = authority.cert;
  ca = fs.readFileSync(caFile, 'utf8');
  emu = (await startAcr({
    key: fs.readFileSync(server.key, 'utf8'),
    cert: fs.readFileSync(server.cert, 'utf8')
  })) as VendorRegistry;
}, 30000);
afterAll(async () => emu?.stop());

describe("Azure's SDK (@azure/container-registry) against the ACR emulator", () => {
  (ready ? test : test.skip)(
    'uploads, lists every manifest with tags and times, pages, deletes a tag and a manifest',
    async () => {
      const credential = {getToken: async () => ({token: AAD_TOKEN, expiresOnTimestamp: Date.now() + 3600_000})};
      const options = {audience: 'https://containerregistry.azure.net', tlsOptions: {ca}};
      const content = new ContainerRegistryContentClient(emu.url, 'team/sdk', credential, options);
      const blob = async (text: string): Promise<{digest: string; size: number}> => {
        const data = Buffer.from(text);
        const up = await content.uploadBlob(data);
        return {digest: up.digest, size: data.length};
      };
      const seen: string[] = [];
      emu.onApiCall = r => void seen.push(`${r.method} ${r.url.pathname}`);
      const layer = await blob('layer-bytes').catch((err: {request?: {url?: string}; message: string}) => {
        throw new Error(`${err.message} (${err.request?.url}) ${seen.join(' | ')}`);
      });
      const digests: string[] = [];
      for (const n of [1, 2, 3]) {
        const config = await blob(JSON.stringify({architecture: 'amd64', os: 'linux', n}));
        const manifest = {
          schemaVersion: 2,
          mediaType: KnownManifestMediaType.OciImageManifest,
          config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
          layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer}]
        };
        // The third one by digest only: an untagged manifest, which the data plane lists too.
        const res = await content.setManifest(Buffer.from(JSON.stringify(manifest)), {
          mediaType: KnownManifestMediaType.OciImageManifest,
          ...(n < 3 ? {tag: `v${n}`} : {})
        });
        digests.push(res.digest);
      }
      await content.setManifest(
        Buffer.from(
          JSON.stringify({...JSON.parse((await content.getManifest('v1')).content.toString()), annotations: {n: 'x'}})
        ),
        {
          tag: 'latest',
          mediaType: KnownManifestMediaType.OciImageManifest
        }
      );

      const client = new ContainerRegistryClient(emu.url, credential, options);
      const repo = client.getRepository('team/sdk');
      emu.maxPage = 2; // the SDK follows the next page the service names
      const listed: Array<{digest: string; tags: string[]; createdOn: Date}> = [];
      for await (const m of repo.listManifestProperties())
        listed.push({digest: m.digest, tags: [...m.tags], createdOn: m.createdOn});
      emu.maxPage = 10_000;
      expect(listed.map(m => m.digest).sort()).toEqual(
        emu
          .active('team/sdk')
          .map(m => m.digest)
          .sort()
      );
      expect(listed.find(m => m.digest === digests[2])?.tags).toEqual([]);
      expect(listed.find(m => m.digest === digests[0])?.tags).toEqual(['v1']);
      for (const m of listed) expect(m.createdOn.getTime()).toBe(emu.find('team/sdk', m.digest)?.pushedAt);

      const props = await repo
        .getArtifact(digests[1])
        .getManifestProperties()
        .catch((err: Error) => {
          throw new Error(`${err.message}: ${emu.violations.join('; ')}`);
        });
      expect({tags: props.tags, violations: emu.violations}).toEqual({tags: ['v2'], violations: []});
      await repo.getArtifact('v2').deleteTag('v2');
      expect(emu.find('team/sdk', digests[1])?.tags).toEqual([]);
      await repo.getArtifact(digests[2]).delete();
      expect(emu.find('team/sdk', digests[2])).toBeUndefined();
      expect(emu.violations).toEqual([]);
    }
  );
});

describe('push-multi lock-tags on ACR, read back with Azure’s SDK', () => {
  (ready ? test : test.skip)(
    'over TLS with workload identity: the release tag is locked after the copy (writeEnabled and deleteEnabled false), the floating alias is not',
    async () => {
      const fixture = multiPlatformFixture({seed: 'acr-lock'});
      const run = await runBundledAction(
        'push-multi',
        {
          source: `oci:${fixture.dir}:v1`,
          // insecure=false: https to this loopback emulator (TLS, as ACR), the token exchange included;
          // its certificate trusted through NODE_EXTRA_CA_CERTS, as a self-hosted runner trusts a private CA.
          destinations: `${emu.host}/team/locked,provider=acr,insecure=false`,
          tags: 'v1.2.3\nlatest',
          'lock-tags': 'true'
        },
        {AZURE_ACCESS_TOKEN: AAD_TOKEN, NODE_EXTRA_CA_CERTS: caFile}
      );
      expect({code: run.code, errors: errorLines(run)}).toEqual({code: 0, errors: []});
      expect(pushResults(run)[0].locked).toEqual(['v1.2.3']);
      const credential = {getToken: async () => ({token: AAD_TOKEN, expiresOnTimestamp: Date.now() + 3600_000})};
      const client = new ContainerRegistryClient(emu.url, credential, {
        audience: 'https://containerregistry.azure.net',
        tlsOptions: {ca}
      });
      const repo = client.getRepository('team/locked');
      const release = await repo.getArtifact('v1.2.3').getTagProperties('v1.2.3');
      expect({canWrite: release.canWrite, canDelete: release.canDelete}).toEqual({canWrite: false, canDelete: false});
      const alias = await repo.getArtifact('latest').getTagProperties('latest');
      expect({canWrite: alias.canWrite, canDelete: alias.canDelete}).toEqual({canWrite: true, canDelete: true});
      expect(emu.violations).toEqual([]);
    }
  );
});

describe("Google's SDK (@google-cloud/artifact-registry, REST transport) against the Artifact Registry emulator", () => {
  (ready ? test : test.skip)(
    'lists docker images with tags and upload times, reads a version, deletes a tag and a version',
    async () => {
      const gar = (await startGar()) as VendorRegistry;
      try {
        const p = new GhcrImages(gar, 'acme-prod/images', 'app', {
          kind: 'basic',
          username: 'oauth2accesstoken',
          password: GAR_TOKEN
        });
        const old = await p.image('old', ['v1', 'pr-3']);
        const lone = await p.platform('lone', 'linux/amd64', 128);
        const u = new URL(gar.url);
        // The SDK's transport calls fetch on its auth client: ours adds the access token, as Google's does.
        const authClient = {
          universeDomain: 'googleapis.com',
          getRequestHeaders: async () => new Headers({authorization: `Bearer ${GAR_TOKEN}`}),
          fetch: (url: string, init: RequestInit & {headers?: Record<string, string>}) =>
            fetch(url, {...init, headers: {...init.headers, authorization: `Bearer ${GAR_TOKEN}`}})
        };
        const client = new ArtifactRegistryClient({
          fallback: true,
          protocol: 'http',
          apiEndpoint: u.hostname,
          port: Number(u.port),
          authClient: authClient as never
        });
        const parent = 'projects/acme-prod/locations/europe-west1/repositories/images';
        gar.maxPage = 2;
        const images = await client.listDockerImages({parent, pageSize: 2}, {autoPaginate: true});
        gar.maxPage = 10_000;
        const listed = images[0].map(i => ({
          digest: String(i.uri).split('@')[1],
          tags: [...(i.tags ?? [])].sort(),
          at: Number(i.uploadTime?.seconds) * 1000
        }));
        expect(listed.map(i => i.digest).sort()).toEqual([old.digest, ...old.children, lone.digest].sort());
        expect(listed.find(i => i.digest === old.digest)?.tags).toEqual(['pr-3', 'v1']);
        for (const i of listed)
          expect(i.at).toBe(Math.floor((gar.find('acme-prod/images/app', i.digest)?.pushedAt ?? 0) / 1000) * 1000);
        const pkg = `${parent}/packages/app`;
        const [version] = await client.getVersion({name: `${pkg}/versions/${old.digest}`, view: 'FULL'});
        expect((version.relatedTags ?? []).map(t => String(t.name).split('/').pop()).sort()).toEqual(['pr-3', 'v1']);
        await client.deleteTag({name: `${pkg}/tags/pr-3`});
        expect(gar.find('acme-prod/images/app', old.digest)?.tags).toEqual(['v1']);
        const [op] = await client.deleteVersion({name: `${pkg}/versions/${lone.digest}`, force: true});
        expect(op.done).toBe(true);
        expect(gar.find('acme-prod/images/app', lone.digest)).toBeUndefined();
        expect(gar.violations).toEqual([]);
      } finally {
        await gar.stop();
      }
    }
  );
});
