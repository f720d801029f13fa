import {execFile} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {promisify} from 'node:util';
import {RegistryClient} from '../../src/shared/registry/client.js';
import {tar} from './images.js';
import {TOOLS, requireTool} from './tools.js';

/** The DB writer scripts/setup.sh builds from trivy-db's own packages. */
export const dbWriter = (): string | undefined =>
  requireTool('trivy-db-fixture', path.join(TOOLS, 'bin', 'trivy-db-fixture'));

/** The test DB: openssl (libcrypto3) HIGH fixed in 3.1.5-r0, busybox CRITICAL only below 1.36.1-r10, zlib MEDIUM unfixed. */
export const DB_SPEC = {
  sources: [
    {
      bucket: 'alpine 3.19',
      id: 'alpine',
      name: 'Alpine Secdb',
      url: 'https://secdb.alpinelinux.org/',
      advisories: [
        {package: 'openssl', id: 'CVE-2026-1111', fixed: '3.1.5-r0'},
        {package: 'busybox', id: 'CVE-2026-2222', fixed: '1.36.1-r10'},
        {package: 'zlib', id: 'CVE-2026-3333', fixed: ''}
      ]
    }
  ],
  vulnerabilities: [
    {id: 'CVE-2026-1111', severity: 'HIGH', title: 'libcrypto3: buffer overflow in the test fixture', source: 'alpine'},
    {id: 'CVE-2026-2222', severity: 'CRITICAL', title: 'busybox: old bug', source: 'alpine'},
    {id: 'CVE-2026-3333', severity: 'MEDIUM', title: 'zlib: no fix yet', source: 'alpine'}
  ]
};

function apk(pkgs: Array<[string, string, string]>): Buffer {
  return Buffer.from(
    pkgs
      .map(
        ([name, version, origin]) =>
          `C:Q1${crypto.createHash('sha1').update(name).digest('base64')}\nP:${name}\nV:${version}\nA:x86_64\nS:100\nI:200\nT:${name}\nU:https://example.org\nL:MIT\no:${origin}\nm:Test\nt:1700000000\nc:abc\n\n`
      )
      .join('')
  );
}

export function alpineFiles(openssl: string): Array<{name: string; data: Buffer}> {
  return [
    {name: 'etc/alpine-release', data: Buffer.from('3.19.1\n')},
    {name: 'etc/os-release', data: Buffer.from('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n')},
    {
      name: 'lib/apk/db/installed',
      data: apk([
        ['libcrypto3', openssl, 'openssl'],
        ['busybox', '1.36.1-r15', 'busybox'],
        ['zlib', '1.3.1-r0', 'zlib']
      ])
    }
  ];
}

/** Builds the DB with trivy-db's own packages and pushes it as trivy's OCI artifact (tag 2). */
export async function pushDb(host: string, repo: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trivy-db-'));
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(DB_SPEC));
  await promisify(execFile)(dbWriter() as string, [path.join(dir, 'spec.json'), path.join(dir, 'out')]);
  const layer = zlib.gzipSync(
    tar([
      {name: 'trivy.db', data: fs.readFileSync(path.join(dir, 'out', 'trivy.db'))},
      {name: 'metadata.json', data: fs.readFileSync(path.join(dir, 'out', 'metadata.json'))}
    ])
  );
  const client = new RegistryClient({registry: host, credential: async () => ({kind: 'anonymous'})});
  const put = async (data: Buffer): Promise<string> => {
    const digest = `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
    await client.putUpload(repo, await client.startUpload(repo), digest, data.length, data);
    return digest;
  };
  const config = Buffer.from('{}');
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.aquasec.trivy.config.v1+json', digest: await put(config), size: config.length},
    layers: [
      {
        mediaType: 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip',
        digest: await put(layer),
        size: layer.length,
        annotations: {'org.opencontainers.image.title': 'db.tar.gz'}
      }
    ]
  };
  await client.putManifest(repo, '2', Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
}
