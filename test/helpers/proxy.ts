import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import {Transform} from 'node:stream';

export type Fault =
  | {kind: 'status'; status: number; headers?: Record<string, string>; body?: string}
  /** Forward the request, then cut the connection after `afterBytes` of the response body. */
  | {kind: 'reset-response'; afterBytes: number};

export interface FaultRule {
  method?: string;
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault. */
  times: number;
}

export interface Proxy {
  host: string;
  /** Requests seen and bytes received from clients (uploads) and sent to them (downloads). */
  stats: {requests: number; bytesIn: number; bytesOut: number};
  /** Requests answered by the test itself instead of the registry (extra endpoints such as ACR's). */
  handlers: Array<{path: RegExp; handle: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void}>;
  log: Array<{
    method: string;
    path: string;
    status: number | 'reset';
    faulted: boolean;
    /** Content-Length and Content-Range of the request, when it had them. */
    length?: number;
    range?: string;
  }>;
  rules: FaultRule[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** Bytes per second per connection, both ways (0: unlimited). */
  bandwidth?: number;
  /** Added to every request, in milliseconds. */
  latencyMs?: number;
  /**
   * Refuses request bodies over this many bytes with 413 as soon as the headers arrive, then reads and
   * drops the body (nginx's client_max_body_size with its lingering close).
   */
  maxBodyBytes?: number;
  /** With maxBodyBytes: close the connection right after the 413 instead of reading the body (some CDNs). */
  closeOnRefuse?: boolean;
}

/** Passes bytes through at most `bytesPerSecond`, and stops after `limit` bytes (then onLimit). */
function shaper(bytesPerSecond: number, limit = Infinity, onLimit?: () => void): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (sent + chunk.length > limit) {
        this.push(chunk.subarray(0, Math.max(0, limit - sent)));
        sent = limit;
        setTimeout(() => onLimit?.(), 20);
        cb();
        return;
      }
      sent += chunk.length;
      if (!bytesPerSecond) return cb(null, chunk);
      setTimeout(() => cb(null, chunk), (chunk.length / bytesPerSecond) * 1000);
    }
  });
}

/**
 * A reverse proxy in front of a registry that injects faults (statuses, connection resets mid-body)
 * and shapes the link (bandwidth per connection, latency). The Host header is passed through, so the
 * registry's Location headers point back at the proxy.
 */
export async function startProxy(upstream: string, opts: ProxyOptions = {}): Promise<Proxy> {
  const [uhost, uport] = upstream.split(':');
  const rules: FaultRule[] = [];
  const log: Proxy['log'] = [];
  const handlers: Proxy['handlers'] = [];
  const stats = {requests: 0, bytesIn: 0, bytesOut: 0};
  const server = http.createServer(async (req, res) => {
    const path = req.url ?? '/';
    stats.requests++;
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer | string, ...rest: never[]) => {
      stats.bytesOut += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      return write(chunk, ...rest);
    }) as typeof res.write;
    const handler = handlers.find(h => h.path.test(path));
    if (handler) {
      let body = '';
      req.on('data', d => (body += d));
      req.on('end', () => handler.handle(req, res, body));
      return;
    }
    if (opts.latencyMs) await new Promise(r => setTimeout(r, opts.latencyMs));
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const range = req.headers['content-range'];
    if (opts.maxBodyBytes !== undefined && (length ?? 0) > opts.maxBodyBytes) {
      log.push({method: req.method ?? '', path, status: 413, faulted: true, length, range});
      if (opts.closeOnRefuse) {
        res.writeHead(413, {'content-type': 'text/html', connection: 'close'});
        res.end('<html><head><title>413 Request Entity Too Large</title></head></html>', () => req.socket.destroy());
        return;
      }
      // Answered at once; the connection stays open while the rest of the body is read and dropped.
      req.resume();
      res.writeHead(413, {'content-type': 'text/html'});
      res.end('<html><head><title>413 Request Entity Too Large</title></head></html>');
      return;
    }
    const rule = rules.find(r => r.times > 0 && (!r.method || r.method === req.method) && r.path.test(path));
    if (rule?.fault.kind === 'status') {
      rule.times--;
      req.resume();
      log.push({method: req.method ?? '', path, status: rule.fault.status, faulted: true, length, range});
      res.writeHead(rule.fault.status, {'content-type': 'application/json', ...(rule.fault.headers ?? {})});
      res.end(rule.fault.body ?? '{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}');
      return;
    }
    const reset = rule?.fault.kind === 'reset-response' ? rule : undefined;
    if (reset) reset.times--;
    const up = http.request(
      {host: uhost, port: Number(uport), method: req.method, path, headers: req.headers},
      upRes => {
        const limit = reset && reset.fault.kind === 'reset-response' ? reset.fault.afterBytes : Infinity;
        log.push({
          method: req.method ?? '',
          path,
          status: reset ? 'reset' : (upRes.statusCode ?? 0),
          faulted: !!reset,
          length,
          range
        });
        // Hop-by-hop headers stay on their hop (RFC 9110 §7.6.1): the client's connection is kept alive.
        const {connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...headers} = upRes.headers;
        res.writeHead(upRes.statusCode ?? 502, headers);
        upRes
          .pipe(
            shaper(opts.bandwidth ?? 0, limit, () => {
              res.socket?.destroy();
              upRes.destroy();
            })
          )
          .pipe(res);
      }
    );
    up.on('error', () => res.socket?.destroy());
    req.on('data', (d: Buffer) => (stats.bytesIn += d.length));
    req.pipe(shaper(opts.bandwidth ?? 0)).pipe(up);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    stats,
    log,
    rules,
    handlers,
    stop: () =>
      new Promise(r => {
        server.closeAllConnections();
        server.close(() => r());
      })
  };
}

export interface ForwardProxy {
  url: string;
  /** Absolute URIs of plain HTTP requests, and host:port of CONNECT tunnels. */
  log: string[];
  stop(): Promise<void>;
}

/** Passes a request to `target` (plain HTTP), method, path and headers kept, and its answer back. */
function forward(req: http.IncomingMessage, res: http.ServerResponse, target: URL): void {
  const up = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: target.pathname + target.search,
      headers: req.headers
    },
    upRes => {
      // Hop-by-hop headers stay on their hop (RFC 9110 §7.6.1): the client's connection is kept alive.
      const {connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...headers} = upRes.headers;
      res.writeHead(upRes.statusCode ?? 502, headers);
      upRes.pipe(res);
    }
  );
  up.on('error', () => res.socket?.destroy());
  req.pipe(up);
}

/** A forward proxy as corporate networks run them: absolute-URI HTTP requests, and CONNECT tunnels for HTTPS. */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '');
    log.push(`${req.method} ${target.href}`);
    forward(req, res, target);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    log.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const up = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    log,
    stop: () =>
      new Promise(r => {
        server.closeAllConnections();
        server.close(() => r());
      })
  };
}

export interface InterceptingProxy {
  url: string;
  /** CONNECT targets asked for, and the requests answered inside the tunnels (method, host, path). */
  log: string[];
  stop(): Promise<void>;
}

/**
 * An HTTPS proxy that answers for public hosts itself: a CONNECT to one of `hosts` is accepted, TLS is
 * terminated with `tls` (a certificate the client trusts through a test CA), and each request inside is
 * passed to that host's local stand-in (plain HTTP, path and headers kept). A CONNECT to any other host is
 * refused, so nothing leaves the machine. This is how a client with GitHub's API built in (gh) reaches
 * the GitHub emulator.
 */
export async function startInterceptingProxy(
  hosts: Record<string, string>,
  tlsFiles: {key: string; cert: string}
): Promise<InterceptingProxy> {
  const log: string[] = [];
  const key = fs.readFileSync(tlsFiles.key);
  const cert = fs.readFileSync(tlsFiles.cert);
  const inner = http.createServer((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    log.push(`${req.method} ${host}${req.url}`);
    forward(req, res, new URL(req.url ?? '/', hosts[host]));
  });
  const outer = http.createServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  outer.on('connect', (req: http.IncomingMessage, socket: net.Socket) => {
    const host = (req.url ?? '').replace(/:\d+$/, '');
    log.push(`CONNECT ${req.url}`);
    if (!hosts[host]) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    const secure = new tls.TLSSocket(socket, {isServer: true, key, cert});
    secure.on('error', () => socket.destroy());
    inner.emit('connection', secure);
  });
  await new Promise<void>(r => outer.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(outer.address() as net.AddressInfo).port}`,
    log,
    stop: () =>
      new Promise(r => {
        outer.closeAllConnections();
        inner.closeAllConnections();
        outer.close(() => r());
      })
  };
}
