import http from 'node:http';
import https from 'node:https';
import {Readable} from 'node:stream';
import {Agent, Dispatcher, EnvHttpProxyAgent, fetch as undiciFetch, request as undiciRequest} from 'undici';

const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'];

let pool: Dispatcher | undefined;

/** Whether the environment names an HTTP(S) proxy. */
export function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return PROXY_VARIABLES.some(k => !!env[k]);
}

/**
 * The connection pool every request of a run goes through. When HTTPS_PROXY or HTTP_PROXY is set
 * (self-hosted runners behind a corporate proxy), requests go through it, except for the hosts in
 * NO_PROXY: the same variables docker, cosign and trivy read.
 */
export function dispatcher(): Dispatcher {
  pool ??= proxyConfigured() ? new EnvHttpProxyAgent() : new Agent();
  return pool;
}

/** fetch through the run's connection pool (and proxy). */
export function httpFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  return undiciFetch(url, {...init, dispatcher: dispatcher()} as Parameters<
    typeof undiciFetch
  >[1]) as unknown as Promise<Response>;
}

/** Node streams of successful responses asked for raw: the Response itself carries no body. */
const rawBodies = new WeakMap<Response, Readable>();

/** The body of a response sent with `raw`, as the node stream it arrived on. */
export function rawBody(res: Response): Readable | undefined {
  return rawBodies.get(res);
}

/** No byte for this long (headers or body) fails the request as a timeout. */
const IDLE_MS = 300000;
/** Bytes of an error answer kept for its message. */
const ERROR_BODY_LIMIT = 65536;

async function readUpTo(stream: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (n < limit) parts.push(chunk.subarray(0, limit - n));
      n += chunk.length;
    }
  } catch {
    // what arrived is enough for a message
  }
  return Buffer.concat(parts);
}

/**
 * A request whose body is a stream (piped with backpressure, so memory stays flat whatever the blob
 * size), or whose successful answer is wanted raw: a node stream (rawBody) for blob downloads, which
 * costs less CPU than a web stream converted back. Other answers arrive whole; an answer that comes
 * before the body was sent (413, 401) stops the sending.
 */
export async function streamRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: Readable,
  raw = false
): Promise<Response> {
  const res = await undiciRequest(url, {
    method: method as Dispatcher.HttpMethod,
    headers,
    body,
    dispatcher: dispatcher(),
    headersTimeout: IDLE_MS,
    bodyTimeout: IDLE_MS
  });
  const h = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  const status = res.statusCode;
  const hasBody = status !== 204 && status !== 304 && method !== 'HEAD';
  if (raw && hasBody && status >= 200 && status < 300) {
    const response = new Response(null, {status, headers: h});
    rawBodies.set(response, res.body);
    return response;
  }
  const text = await readUpTo(res.body, ERROR_BODY_LIMIT);
  if (body && !body.readableEnded) body.destroy();
  return new Response(hasBody && text.length ? text : null, {status, headers: h});
}

/** Keep-alive agents for HEAD requests (see headRequest). */
let headAgents: {http: http.Agent; https: https.Agent} | undefined;

/**
 * A HEAD request through node's keep-alive agents. undici closes the connection after every HEAD
 * (to guard against servers that send a body anyway), so each existence check would cost a new TCP
 * and TLS handshake; registries answer HEAD correctly, and a copy or a mirror run sends thousands.
 * With a proxy configured, HEADs go through the proxy-aware pool like everything else. Network
 * failures are shaped as fetch's (TypeError 'fetch failed' with the cause), so one error path serves.
 */
export function headRequest(url: string, headers: Record<string, string>): Promise<Response> {
  if (proxyConfigured()) return httpFetch(url, {method: 'HEAD', headers, redirect: 'manual'});
  headAgents ??= {
    http: new http.Agent({keepAlive: true, maxSockets: 64}),
    https: new https.Agent({keepAlive: true, maxSockets: 64})
  };
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      u,
      {method: 'HEAD', headers, agent: secure ? headAgents?.https : headAgents?.http, timeout: IDLE_MS},
      res => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        res.resume();
        res.on('end', () => resolve(new Response(null, {status: res.statusCode ?? 502, headers: h})));
        res.on('error', err => reject(new TypeError('fetch failed', {cause: err})));
      }
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), {code: 'ETIMEDOUT'})));
    req.on('error', err => reject(new TypeError('fetch failed', {cause: err})));
    req.end();
  });
}
