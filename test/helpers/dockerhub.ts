import crypto from 'node:crypto';
import http from 'node:http';
import {AddressInfo} from 'node:net';

/**
 * A source that behaves like Docker Hub in front of a real registry (distribution): the registry
 * answers 401 with a Bearer challenge (service registry.docker.io) and a token endpoint grants
 * anonymous pull tokens; every manifest GET spends one unit of a pull budget, HEADs and blob GETs do
 * not; manifest responses carry `ratelimit-limit` / `ratelimit-remaining` (`N;w=21600`), and once the
 * budget is spent a manifest GET answers 429 TOOMANYREQUESTS with Docker Hub's message.
 */
export interface HubLike {
  host: string;
  /** Pulls left in the window; tests set it. */
  budget: number;
  readonly limit: number;
  stats: {
    requests: number;
    manifestGets: number;
    manifestHeads: number;
    tagLists: number;
    blobGets: number;
    tokens: number;
    refused: number;
    writes: number;
  };
  reset(): void;
  stop(): Promise<void>;
}

export const HUB_LIMIT_MESSAGE =
  'You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit';

export async function startHubLike(backend: string, budget = 100): Promise<HubLike> {
  const secret = crypto.randomBytes(16).toString('hex');
  const zero = (): HubLike['stats'] => ({
    requests: 0,
    manifestGets: 0,
    manifestHeads: 0,
    tagLists: 0,
    blobGets: 0,
    tokens: 0,
    refused: 0,
    writes: 0
  });
  const hub: HubLike = {
    host: '',
    budget,
    limit: budget,
    stats: zero(),
    reset: () => {
      hub.stats = zero();
    },
    stop: () => new Promise(r => server.close(() => r()))
  };
  const server = http.createServer((req, res) => {
    hub.stats.requests++;
    if (process.env.HUB_LOG)
      process.stderr.write(`hub: ${req.method} ${req.url} ${req.headers.authorization ? 'auth' : 'anon'}\n`);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/token') {
      hub.stats.tokens++;
      res.writeHead(200, {'content-type': 'application/json'});
      res.end(
        JSON.stringify({token: secret, access_token: secret, expires_in: 300, issued_at: new Date().toISOString()})
      );
      return;
    }
    if (!url.pathname.startsWith('/v2/')) {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== `Bearer ${secret}`) {
      const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\//.exec(url.pathname);
      const scope = m ? `,scope="repository:${m[1]}:pull"` : '';
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="http://${hub.host}/token",service="registry.docker.io"${scope}`
      });
      res.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]}));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      hub.stats.writes++;
      res.writeHead(401, {'content-type': 'application/json'});
      res.end(JSON.stringify({errors: [{code: 'DENIED', message: 'requested access to the resource is denied'}]}));
      return;
    }
    const manifest = /\/manifests\/[^/]+$/.test(url.pathname);
    const limitHeaders: Record<string, string> = manifest
      ? {'ratelimit-limit': `${hub.limit};w=21600`, 'ratelimit-remaining': `${Math.max(hub.budget, 0)};w=21600`}
      : {};
    if (manifest && req.method === 'GET') {
      if (hub.budget <= 0) {
        hub.stats.refused++;
        res.writeHead(429, {'content-type': 'application/json', ...limitHeaders});
        res.end(JSON.stringify({errors: [{code: 'TOOMANYREQUESTS', message: HUB_LIMIT_MESSAGE}]}));
        return;
      }
      hub.budget--;
      hub.stats.manifestGets++;
      limitHeaders['ratelimit-remaining'] = `${hub.budget};w=21600`;
    } else if (manifest) hub.stats.manifestHeads++;
    else if (url.pathname.endsWith('/tags/list')) hub.stats.tagLists++;
    else if (url.pathname.includes('/blobs/')) hub.stats.blobGets++;
    const headers = {...req.headers, host: backend};
    delete headers.authorization;
    const upstream = http.request(`http://${backend}${req.url}`, {method: req.method, headers}, up => {
      res.writeHead(up.statusCode ?? 502, {...up.headers, ...limitHeaders});
      up.pipe(res);
    });
    upstream.on('error', err => {
      res.writeHead(502).end(String(err));
    });
    req.pipe(upstream);
  });
  server.on('connection', () => {
    if (process.env.HUB_LOG) process.stderr.write('hub: new connection\n');
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  hub.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hub;
}
