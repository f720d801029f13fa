import http from 'node:http';
import net from 'node:net';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {errorMessage} from '../../src/shared/errors.js';
import {fetchToken} from '../../src/shared/registry/auth.js';
import {RegistryClient, keepsAuthorization, upgradeLocation} from '../../src/shared/registry/client.js';
import {sha256} from '../../src/shared/registry/digest.js';

/**
 * Credentials go only to the origin (scheme, host, port) they belong to. Two loopback servers on
 * different ports are two origins: the registry (Basic auth) hands out upload locations, pagination
 * links and redirects that point at the other, which records every Authorization it is sent.
 */
const BASIC = `Basic ${Buffer.from('ci-user:s3cret-pw').toString('base64')}`;
let registry: http.Server;
let other: http.Server;
let regUrl = '';
let otherUrl = '';
const seenByOther: Array<{method: string; url: string; authorization?: string}> = [];

const listen = async (s: http.Server): Promise<string> => {
  await new Promise<void>(r => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
};

beforeAll(async () => {
  other = http.createServer((req, res) => {
    seenByOther.push({method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization});
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/upload')) {
        res.writeHead(201, {'docker-content-digest': 'sha256:x'});
        res.end();
      } else if (req.url?.startsWith('/blob')) {
        res.writeHead(200, {'content-type': 'application/octet-stream'});
        res.end('blob');
      } else {
        res.writeHead(200, {'content-type': 'application/json'});
        res.end(JSON.stringify({tags: ['page2']}));
      }
    });
  });
  otherUrl = await listen(other);
  registry = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, {'www-authenticate': 'Basic realm="r"'});
        res.end();
        return;
      }
      if (req.method === 'POST' && req.url?.includes('/blobs/uploads/')) {
        res.writeHead(202, {location: `${otherUrl}/upload/1?_state=abc`});
        res.end();
      } else if (req.url?.includes('/tags/list')) {
        res.writeHead(200, {
          'content-type': 'application/json',
          link: `<${otherUrl}/v2/app/tags/list?last=a>; rel="next"`
        });
        res.end(JSON.stringify({tags: ['page1']}));
      } else if (req.url?.includes('/blobs/sha256:')) {
        res.writeHead(307, {location: `${otherUrl}/blob/1`});
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  regUrl = await listen(registry);
});
afterAll(async () => {
  await new Promise(r => registry.close(r));
  await new Promise(r => other.close(r));
});

const client = (): RegistryClient =>
  new RegistryClient({
    registry: regUrl.replace('http://', ''),
    credential: async () => ({kind: 'basic', username: 'ci-user', password: 's3cret-pw'}),
    retry: {retries: 0, baseMs: 1, maxMs: 1}
  });

describe('credentials stay with their origin', () => {
  test('an upload location on another origin gets no Authorization', async () => {
    seenByOther.length = 0;
    const c = client();
    const loc = await c.startUpload('app');
    expect(loc.startsWith(otherUrl)).toBe(true);
    const data = Buffer.from('layer');
    await c.putUpload('app', loc, sha256(data), data.length, data);
    expect(seenByOther.map(s => [s.method, s.url.split('?')[0], s.authorization])).toEqual([
      ['PUT', '/upload/1', undefined]
    ]);
    expect(seenByOther[0].url).toContain('_state=abc');
  });

  test('a pagination Link to another origin gets no Authorization', async () => {
    seenByOther.length = 0;
    expect((await client().listTags('app')).sort()).toEqual(['page1', 'page2']);
    expect(seenByOther).toEqual([expect.objectContaining({method: 'GET', authorization: undefined})]);
  });

  test('a redirect to another port of the same host drops Authorization', async () => {
    seenByOther.length = 0;
    const body = await client().getBlob('app', `sha256:${'a'.repeat(64)}`);
    let text = '';
    for await (const c of body) text += c;
    expect(text).toBe('blob');
    expect(seenByOther).toEqual([expect.objectContaining({url: '/blob/1', authorization: undefined})]);
  });

  test.each([
    ['https://r.io/v2/a/blobs/x', 'https://r.io/v2/b', true],
    ['https://r.io/v2/a/blobs/x', '/v2/b', true],
    ['https://r.io/v2/a/blobs/x', 'http://r.io/v2/b', false],
    ['https://r.io/v2/a/blobs/x', 'https://r.io:8443/v2/b', false],
    ['https://r.io/v2/a/blobs/x', 'https://cdn.r.io/b', false]
  ])('a redirect from %s to %s keeps Authorization: %s', (from, to, keeps) => {
    expect(keepsAuthorization(from, to)).toBe(keeps);
  });

  test.each([
    ['http://r.io/v2/a/blobs/uploads/1?_state=x', 'https://r.io/v2/a/blobs/uploads/1?_state=x'],
    ['http://r.io:80/v2/u', 'https://r.io/v2/u'],
    ['http://other.io/v2/u', 'http://other.io/v2/u'],
    ['https://r.io:5000/v2/u', 'https://r.io:5000/v2/u']
  ])('an upload location %s from an https registry is taken as %s', (loc, expected) => {
    expect(upgradeLocation(new URL(loc), new URL('https://r.io')).toString()).toBe(expected);
  });

  test.each([
    ['http://auth.example.com/token', false, 'plain http'],
    ['http://auth.example.com/token', true, undefined],
    ['https://auth.example.com/token', false, undefined],
    ['http://127.0.0.1:9999/token', false, undefined]
  ])('Basic credentials to token realm %s (registry marked insecure: %s)', async (realm, insecure, refusal) => {
    const sent: string[] = [];
    const doFetch = async (u: string): Promise<Response> => {
      sent.push(u);
      return new Response(JSON.stringify({token: 't'}), {status: 200});
    };
    const run = fetchToken(
      {scheme: 'bearer', params: {realm, service: 's'}},
      ['repository:app:pull'],
      {kind: 'basic', username: 'u', password: 'p'},
      doFetch,
      'r.example',
      insecure
    );
    if (refusal) {
      await expect(run).rejects.toThrow(refusal);
      expect(sent).toEqual([]);
    } else {
      await expect(run).resolves.toMatchObject({token: 't'});
    }
    // Anonymous token requests carry no secret and may use any realm.
    await expect(
      fetchToken({scheme: 'bearer', params: {realm}}, [], {kind: 'anonymous'}, doFetch, 'r.example')
    ).resolves.toMatchObject({token: 't'});
  });
});

describe('network failures name their cause', () => {
  test.each([
    ['connection refused', 'http://127.0.0.1:2/v2/', 'connection refused'],
    ['DNS', 'http://no-such-host.invalid/v2/', 'DNS: the host name does not resolve']
  ])('%s: a real request says why, not "fetch failed"', async (_what, url, cause) => {
    const message = await fetch(url).then(
      () => 'answered',
      (err: unknown) => errorMessage(err)
    );
    expect(message).toContain(cause);
    expect(message).not.toBe('fetch failed');
  });
});
