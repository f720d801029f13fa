import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import {Registry, startRegistry} from './registry.js';

/**
 * A registry as a vendor runs it, for the cleanup backends' tests: the OCI API of a real
 * docker-registry (distribution 2.8) behind a proxy that records every manifest pushed through it —
 * tagged or not, with its push time on a clock the test controls — as the vendor's own database does,
 * and a vendor API (`api`) answered from that record. Tags are the record's: a tag the vendor API
 * deleted no longer resolves, though distribution cannot delete a tag alone.
 */

export interface RecordedManifest {
  repo: string;
  digest: string;
  tags: string[];
  /** ms on the emulator's clock. */
  pushedAt: number;
  mediaType: string;
  body: Buffer;
}

/** A request to the vendor API, as hooks and faults see it. */
export interface ApiRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Fault {
  method?: string;
  path: RegExp;
  /** A further condition (ECR: the operation in X-Amz-Target). */
  when?: (r: ApiRequest) => boolean;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  times: number;
}

export interface ApiContext {
  method: string;
  url: URL;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
  /** Sends an answer (recorded in calls); the vendor module checks it against its description first. */
  answer(status: number, body?: unknown, headers?: Record<string, string>): void;
}

export interface VendorRegistry {
  url: string;
  host: string;
  registry: Registry;
  /** The clock push times are taken from (ms); each push advances it by a minute. */
  now: number;
  calls: Array<{method: string; path: string; status: number}>;
  /** Answers the vendor's description does not allow: the tests assert it stays empty. */
  violations: string[];
  faults: Fault[];
  /** Caps the vendor API's page size (to paginate small repositories). */
  maxPage: number;
  /** Runs before each request is answered, API or registry (a concurrent push in a scenario). */
  onApiCall?: (r: ApiRequest) => Promise<void> | void;
  active(repo: string): RecordedManifest[];
  find(repo: string, digest: string): RecordedManifest | undefined;
  repositories(): string[];
  /** Removes a manifest (and its tags) from the record and the registry. */
  deleteManifest(repo: string, digest: string): Promise<boolean>;
  /** Removes one tag from the record. */
  deleteTag(repo: string, tag: string): boolean;
  stop(): Promise<void>;
}

export interface VendorOptions {
  /** Whether a registry request's Authorization header is accepted; with the 401 challenge to send. */
  registryAuth(authorization: string | undefined): boolean;
  /** The 401 challenge of a registry request (some registries name the scope it needs). */
  challenge(emu: VendorRegistry, req: {method: string; pathname: string}): string;
  /** The vendor API: return false when the path is not its own (then the OCI API handles it). */
  api(ctx: ApiContext, emu: VendorRegistry): Promise<boolean> | boolean;
  /** Upload locations as a path (ACR sends `/v2/…`), not an absolute URL. */
  relativeLocation?: boolean;
  /** Paths may come with `/` and `:` encoded (`team%2Fapp`, `sha256%3A…`), as ACR accepts them. */
  decodePath?: boolean;
  /** Serve https with this key and certificate (for SDKs that refuse bearer tokens over http). */
  tls?: {key: string; cert: string};
}

/**
 * Passes one registry request on to the real registry behind an emulator: its headers without the
 * emulator's credentials and hop-by-hop ones, redirects not followed, and the answer's headers back with
 * upload locations on the real registry rewritten by `location` (to the emulator's own address).
 */
export async function relay(
  registryUrl: string,
  req: http.IncomingMessage,
  path: string,
  body: Buffer,
  location: (value: string) => string
): Promise<{up: Response; headers: Record<string, string>}> {
  const up = await fetch(`${registryUrl}${path}`, {
    method: req.method,
    headers: Object.fromEntries(
      Object.entries(req.headers).filter(
        ([h]) => !['host', 'authorization', 'connection', 'content-length'].includes(h)
      )
    ) as Record<string, string>,
    body: ['GET', 'HEAD'].includes(req.method ?? 'GET') ? undefined : body,
    redirect: 'manual'
  });
  const headers: Record<string, string> = {};
  up.headers.forEach((v, h) => {
    if (h === 'location' && v.startsWith(registryUrl)) headers[h] = location(v);
    else if (!['content-encoding', 'transfer-encoding', 'connection'].includes(h)) headers[h] = v;
  });
  return {up, headers};
}

export async function startVendorRegistry(opts: VendorOptions): Promise<VendorRegistry | undefined> {
  const registry = await startRegistry('none');
  if (!registry) return undefined;
  const record = new Map<string, RecordedManifest>();
  const k = (repo: string, digest: string): string => `${repo}@${digest}`;
  const emu: VendorRegistry = {
    url: '',
    host: '',
    registry,
    now: Date.parse('2026-06-01T00:00:00Z'),
    calls: [],
    violations: [],
    faults: [],
    maxPage: 10_000,
    active: repo => [...record.values()].filter(m => m.repo === repo).sort((a, b) => a.pushedAt - b.pushedAt),
    find: (repo, digest) => record.get(k(repo, digest)),
    repositories: () => [...new Set([...record.values()].map(m => m.repo))].sort(),
    deleteManifest: async (repo, digest) => {
      if (!record.delete(k(repo, digest))) return false;
      await fetch(`${registry.url}/v2/${repo}/manifests/${digest}`, {method: 'DELETE'}).then(r => r.body?.cancel());
      return true;
    },
    deleteTag: (repo, tag) => {
      const m = [...record.values()].find(x => x.repo === repo && x.tags.includes(tag));
      if (!m) return false;
      m.tags = m.tags.filter(t => t !== tag);
      return true;
    },
    stop: async () => {
      await new Promise<void>(r => server.close(() => r()));
      await registry.stop();
    }
  };

  const readBody = async (req: http.IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {}
  ): void => {
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, {'content-type': 'application/json', ...headers});
    res.end(JSON.stringify(body));
  };
  const recordPush = (repo: string, ref: string, digest: string, body: Buffer, mediaType: string): void => {
    if (!ref.startsWith('sha256:'))
      for (const m of record.values()) if (m.repo === repo) m.tags = m.tags.filter(t => t !== ref);
    let m = record.get(k(repo, digest));
    if (!m) {
      m = {repo, digest, tags: [], pushedAt: emu.now, mediaType, body};
      emu.now += 60_000;
      record.set(k(repo, digest), m);
    }
    if (!ref.startsWith('sha256:') && !m.tags.includes(ref)) m.tags.push(ref);
  };
  const handleRegistry = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    if (!opts.registryAuth(req.headers.authorization)) {
      send(
        res,
        401,
        {errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]},
        {
          'www-authenticate': opts.challenge(emu, {
            method: req.method ?? 'GET',
            pathname: new URL(req.url ?? '/', emu.url).pathname
          })
        }
      );
      return;
    }
    const url = new URL(req.url ?? '/', emu.url);
    const m = url.pathname.match(/^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/);
    let path = `${url.pathname}${url.search}`;
    if (m && m[2] === 'tags' && req.method === 'GET') {
      send(res, 200, {
        name: m[1],
        tags: emu
          .active(m[1])
          .flatMap(x => x.tags)
          .sort()
      });
      return;
    }
    if (m && m[2] === 'manifests' && (req.method === 'GET' || req.method === 'HEAD')) {
      const ref = decodeURIComponent(m[3]);
      const found = ref.startsWith('sha256:')
        ? record.get(k(m[1], ref))
        : emu.active(m[1]).find(x => x.tags.includes(ref));
      if (!found) {
        send(
          res,
          404,
          req.method === 'HEAD' ? undefined : {errors: [{code: 'MANIFEST_UNKNOWN', message: 'manifest unknown'}]}
        );
        return;
      }
      path = `/v2/${m[1]}/manifests/${found.digest}`;
    }
    if (m && m[2] === 'manifests' && req.method === 'DELETE') {
      const ref = decodeURIComponent(m[3]);
      send(res, (await emu.deleteManifest(m[1], ref)) ? 202 : 404, undefined);
      return;
    }
    const {up, headers} = await relay(registry.url, req, path, body, v =>
      opts.relativeLocation ? v.slice(registry.url.length) : v.replace(registry.url, emu.url)
    );
    const out = Buffer.from(await up.arrayBuffer());
    if (m && m[2] === 'manifests' && req.method === 'PUT' && up.status === 201) {
      recordPush(
        m[1],
        decodeURIComponent(m[3]),
        up.headers.get('docker-content-digest') as string,
        body,
        req.headers['content-type'] ?? ''
      );
    }
    res.writeHead(up.status, headers);
    res.end(req.method === 'HEAD' ? undefined : out);
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (opts.decodePath && req.url) {
      const q = req.url.indexOf('?');
      const [p, rest] = q < 0 ? [req.url, ''] : [req.url.slice(0, q), req.url.slice(q)];
      req.url = p.replace(/%2F/gi, '/').replace(/%3A/gi, ':') + rest;
    }
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', emu.url);
      // The registry API's routes (distribution spec); any other path is the vendor's API.
      if (
        url.pathname === '/v2/' ||
        /^\/v2\/.+\/(manifests\/[^/]+|blobs\/.+|tags\/list|referrers\/[^/]+)$/.test(url.pathname)
      ) {
        await emu.onApiCall?.({method: req.method ?? 'GET', url, headers: req.headers, body});
        await handleRegistry(req, res, body);
        return;
      }
      const method = req.method ?? 'GET';
      const answer = (status: number, b?: unknown, headers: Record<string, string> = {}): void => {
        emu.calls.push({method, path: `${url.pathname}${url.search}`, status});
        send(res, status, b, headers);
      };
      const request: ApiRequest = {method, url, headers: req.headers, body};
      await emu.onApiCall?.(request);
      const fault = emu.faults.find(
        f =>
          f.times > 0 && (!f.method || f.method === method) && f.path.test(url.pathname) && (!f.when || f.when(request))
      );
      const ctx: ApiContext = {method, url, body, headers: req.headers, answer};
      if (fault) {
        fault.times--;
        answer(fault.status, fault.body, fault.headers);
        return;
      }
      if (!(await opts.api(ctx, emu))) {
        emu.violations.push(`${method} ${url.pathname}: not a route of this emulator`);
        answer(404, {errors: [{code: 'NOT_FOUND', message: 'no such route'}]});
      }
    })().catch(err => {
      emu.violations.push(`emulator error: ${String(err)}`);
      if (!res.headersSent) send(res, 500, {message: String(err)});
    });
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  emu.host = `127.0.0.1:${port}`;
  emu.url = `${opts.tls ? 'https' : 'http'}://${emu.host}`;
  return emu;
}
