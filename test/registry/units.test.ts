import {describe, expect, test} from '@jest/globals';
import {TokenCache, mergeScopes, parseChallenge} from '../../src/shared/registry/auth.js';
import {pushOrder} from '../../src/shared/registry/graph.js';
import {parseReference} from '../../src/shared/registry/reference.js';
import {backoffMs, retryAfterMs} from '../../src/shared/registry/retry.js';
import {parseDestinations, tagsFor} from '../../src/shared/push/destinations.js';
import {parseSource} from '../../src/shared/push/push.js';
import {chunksOf} from '../../src/shared/registry/chunks.js';
import {parseSize} from '../../src/shared/inputs.js';
import {Readable} from 'node:stream';
import {sdkRequestUrl} from '../../src/shared/registry/providers/aws-http.js';
import {azureCloudOf, entraTokenRequest} from '../../src/shared/registry/providers/azure-cloud.js';

describe('WWW-Authenticate', () => {
  test.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/alpine:pull'
        }
      }
    ],
    ['Basic realm="basic-realm"', {scheme: 'basic', params: {realm: 'basic-realm'}}],
    [
      'Bearer realm="http://127.0.0.1:5000/token",service="reg",scope="repository:a/b:pull,push repository:c:pull"',
      {
        scheme: 'bearer',
        params: {
          realm: 'http://127.0.0.1:5000/token',
          service: 'reg',
          scope: 'repository:a/b:pull,push repository:c:pull'
        }
      }
    ],
    ['Bearer realm=https://x/token, service=x', {scheme: 'bearer', params: {realm: 'https://x/token', service: 'x'}}]
  ])('%s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected);
  });
});

describe('scopes', () => {
  test('merges actions per repository and keeps host:port names whole', () => {
    expect(
      mergeScopes(['repository:127.0.0.1:5000/a:pull', 'repository:127.0.0.1:5000/a:push', 'repository:b:pull']).scopes
    ).toEqual(['repository:127.0.0.1:5000/a:pull,push', 'repository:b:pull']);
  });
  test('a cached pull+push token serves a pull request, not the other way round', () => {
    const cache = new TokenCache(0);
    cache.set(`r ${mergeScopes(['repository:a:pull,push']).key}`, {token: 'T', expiresAt: Date.now() + 60000});
    expect(cache.find('r', mergeScopes(['repository:a:pull']))).toBe('T');
    expect(cache.find('r', mergeScopes(['repository:a:pull', 'repository:b:pull']))).toBeUndefined();
    expect(cache.find('other', mergeScopes(['repository:a:pull']))).toBeUndefined();
  });
  test('expired tokens are dropped', () => {
    const cache = new TokenCache(10000);
    cache.set('r repository:a:pull', {token: 'T', expiresAt: Date.now() + 5000});
    expect(cache.get('r repository:a:pull')).toBeUndefined();
  });
});

describe('retry timing', () => {
  test('Retry-After in seconds and as a date, capped', () => {
    expect(retryAfterMs('2', 20000)).toBe(2000);
    expect(retryAfterMs('3600', 20000)).toBe(20000);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString(), 20000)).toBeGreaterThan(3000);
    expect(retryAfterMs(null, 20000)).toBeUndefined();
  });
  test('backoff doubles with jitter between half and all of the cap', () => {
    const policy = {retries: 5, baseMs: 100, maxMs: 1000};
    expect([0, 1, 2, 3, 4].map(a => backoffMs(a, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect(backoffMs(2, policy, () => 1)).toBe(400);
  });
});

describe('references', () => {
  test.each([
    ['alpine', {registry: 'docker.io', repository: 'library/alpine', tag: undefined, digest: undefined}],
    ['ghcr.io/acme/app:1.2', {registry: 'ghcr.io', repository: 'acme/app', tag: '1.2', digest: undefined}],
    [
      'localhost:5000/a/b@sha256:' + 'a'.repeat(64),
      {registry: 'localhost:5000', repository: 'a/b', tag: undefined, digest: 'sha256:' + 'a'.repeat(64)}
    ],
    ['127.0.0.1:5000/app:v1', {registry: '127.0.0.1:5000', repository: 'app', tag: 'v1', digest: undefined}]
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });
  test.each([
    ['ghcr.io/Acme/app', /must be lowercase/],
    ['ghcr.io/acme/app:' + 'x'.repeat(129), /at most 128/],
    ['ghcr.io/acme/app@sha256:abc', /64 hex/],
    ['ghcr.io/acme//app', /not a valid path component/]
  ])('%s is refused', (input, message) => {
    expect(() => parseReference(input, 'source')).toThrow(message);
  });
});

describe('destinations', () => {
  test('parses options and Docker Hub names', () => {
    const [a, b, c] = parseDestinations([
      'ghcr.io/acme/app',
      'docker.io/acme/app,username=acme,password-env=HUB',
      'oci:./out'
    ]);
    expect(a).toMatchObject({registry: 'ghcr.io', repository: 'acme/app', provider: 'auto'});
    expect(b).toMatchObject({registry: 'docker.io', repository: 'acme/app', username: 'acme', passwordEnv: 'HUB'});
    expect(c).toMatchObject({registry: 'oci', repository: './out'});
  });
  test.each([
    ['ghcr.io/acme/app:1.0', /includes a tag or digest/],
    ['ghcr.io/acme/app,colour=red', /unknown option "colour=red"/],
    ['ghcr.io/acme/app,provider=quay', /unknown provider "quay"/],
    ['username=x', /must start with a repository/],
    ['ghcr.io/acme/app,chunk-size=lots', /chunk-size "lots" is not a size of at least 256KiB in .*16MiB/],
    ['ghcr.io/acme/app,chunk-size=64KiB', /chunk-size "64KiB" is not a size/]
  ])('%s is refused', (line, message) => {
    expect(() => parseDestinations([line])).toThrow(message);
  });
  test('chunk-size applies to the registry and keeps its unit', () => {
    const [a] = parseDestinations(['harbor.example/team/app,chunk-size=100MB']);
    expect(a.chunkSize).toBe(100000000);
  });
  test('the same repository twice is refused', () => {
    expect(() => parseDestinations(['ghcr.io/a/b', 'ghcr.io/a/b'])).toThrow(/listed twice/);
  });
  test('qualified tags go to their repository, bare tags everywhere', () => {
    const [ghcr, hub] = parseDestinations(['ghcr.io/acme/app', 'docker.io/acme/app']);
    const tags = ['ghcr.io/acme/app:1.2.3', 'docker.io/acme/app:1.2.3', 'acme/app:latest', 'edge'];
    expect(tagsFor(ghcr, tags)).toEqual(['1.2.3', 'edge']);
    expect(tagsFor(hub, tags)).toEqual(['1.2.3', 'latest', 'edge']);
  });
});

describe('sources', () => {
  test.each([
    ['oci:./out', {kind: 'layout', path: './out'}],
    ['oci:./image.tar:v1', {kind: 'layout', path: './image.tar', ref: 'v1'}],
    ['oci:/abs/dir', {kind: 'layout', path: '/abs/dir'}]
  ])('%s', (input, expected) => {
    expect(parseSource(input)).toEqual(expected);
  });
});

describe('push order', () => {
  test('children before parents, each once', () => {
    const graph: Record<string, string[]> = {idx: ['a', 'b', 'att'], att: ['a'], a: [], b: []};
    expect(pushOrder(['idx'], d => graph[d])).toEqual(['a', 'b', 'att', 'idx']);
  });
});

describe('Docker Hub rate limit', () => {
  test('ratelimit-remaining from a HEAD is kept in the client stats', async () => {
    const http = await import('node:http');
    const server = http.createServer((_req, res) => {
      res.writeHead(200, {
        'ratelimit-remaining': '97;w=21600',
        'docker-content-digest': `sha256:${'b'.repeat(64)}`,
        'content-type': 'application/vnd.oci.image.index.v1+json'
      });
      res.end();
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const {RegistryClient} = await import('../../src/shared/registry/client.js');
    const port = (server.address() as {port: number}).port;
    const client = new RegistryClient({registry: `127.0.0.1:${port}`, credential: async () => ({kind: 'anonymous'})});
    const head = await client.headManifest('library/alpine', 'latest');
    server.close();
    expect(head?.digest).toBe(`sha256:${'b'.repeat(64)}`);
    expect(client.stats.rateLimitRemaining).toBe('97;w=21600');
  });
});

describe('sizes', () => {
  test.each([
    ['16MiB', 16777216],
    ['16M', 16777216],
    ['100MB', 100000000],
    ['1.5 MiB', 1572864],
    ['512kib', 524288],
    ['4096', 4096],
    ['1GiB', 1073741824]
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize('chunk-size', text)).toBe(bytes);
  });
  test.each(['', 'MiB', '-1MiB', '10 parsecs', '0'])('"%s" is refused', text => {
    expect(() => parseSize('chunk-size', text)).toThrow(/chunk-size: ".*" is not a size of at least 1 bytes/);
  });
});

describe('upload chunks', () => {
  const collect = async (pieces: number[], size: () => number): Promise<number[]> => {
    const data = Buffer.from(Array.from({length: pieces.reduce((a, b) => a + b, 0)}, (_v, i) => i % 251));
    let at = 0;
    const parts = pieces.map(n => data.subarray(at, (at += n)));
    const out: Buffer[] = [];
    for await (const c of chunksOf(Readable.from(parts), size)) out.push(Buffer.from(c));
    expect(Buffer.concat(out).equals(data)).toBe(true);
    return out.map(c => c.length);
  };
  test.each([
    ['pieces smaller than a chunk', [3, 3, 3, 3, 3], 4, [4, 4, 4, 3]],
    ['one piece spanning several chunks', [10], 4, [4, 4, 2]],
    ['an exact fit', [4, 4], 4, [4, 4]],
    ['less than one chunk', [2], 4, [2]],
    ['nothing', [], 4, []]
  ])('%s', async (_name, pieces, size, lengths) => {
    expect(await collect(pieces, () => size)).toEqual(lengths);
  });
  test('a size that shrinks on the way applies from the next chunk', async () => {
    let size = 8;
    const lengths: number[] = [];
    for await (const c of chunksOf(Readable.from([Buffer.alloc(20)]), () => size)) {
      lengths.push(c.length);
      size = 4;
    }
    expect(lengths).toEqual([8, 4, 4, 4]);
  });
});

describe('AWS SDK requests through the run pool', () => {
  test.each([
    [
      {protocol: 'https:', hostname: 'sts.eu-west-1.amazonaws.com', method: 'POST', path: '/', headers: {}},
      'https://sts.eu-west-1.amazonaws.com/'
    ],
    [
      {
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 4566,
        method: 'GET',
        path: '/x',
        query: {a: '1', b: ['2', '3'], c: null},
        headers: {}
      },
      'http://127.0.0.1:4566/x?a=1&b=2&b=3&c='
    ]
  ])('%j is %s', (request, url) => {
    expect(sdkRequestUrl(request)).toBe(url);
  });
});

describe("ACR in each of Azure's clouds", () => {
  test.each([
    [
      'myreg.azurecr.io',
      'AzureCloud',
      'https://login.microsoftonline.com/t/oauth2/v2.0/token',
      'https://management.azure.com/.default'
    ],
    [
      'MyReg.AzureCR.io:443',
      'AzureCloud',
      'https://login.microsoftonline.com/t/oauth2/v2.0/token',
      'https://management.azure.com/.default'
    ],
    [
      'myreg.azurecr.cn',
      'AzureChinaCloud',
      'https://login.chinacloudapi.cn/t/oauth2/v2.0/token',
      'https://management.chinacloudapi.cn/.default'
    ],
    [
      'myreg.azurecr.us',
      'AzureUSGovernment',
      'https://login.microsoftonline.us/t/oauth2/v2.0/token',
      'https://management.usgovcloudapi.net/.default'
    ],
    // Not an ACR host name (a private endpoint alias, a test registry): the public cloud's token.
    [
      'registry.internal:5000',
      undefined,
      'https://login.microsoftonline.com/t/oauth2/v2.0/token',
      'https://management.azure.com/.default'
    ],
    [
      'azurecr.io.example.com',
      undefined,
      'https://login.microsoftonline.com/t/oauth2/v2.0/token',
      'https://management.azure.com/.default'
    ]
  ])('%s: cloud %s, token from %s for %s', (registry, cloud, url, scope) => {
    expect(azureCloudOf(registry)?.name).toBe(cloud);
    expect(entraTokenRequest(registry, 't', {})).toEqual({url, scope});
  });

  test("AZURE_AUTHORITY_HOST replaces the authority, never the cloud's scope", () => {
    expect(entraTokenRequest('myreg.azurecr.cn', 't', {AZURE_AUTHORITY_HOST: 'https://login.example/'})).toEqual({
      url: 'https://login.example/t/oauth2/v2.0/token',
      scope: 'https://management.chinacloudapi.cn/.default'
    });
  });
});
