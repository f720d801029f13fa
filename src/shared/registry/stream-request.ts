import http from 'node:http';
import https from 'node:https';
import {Readable} from 'node:stream';

/** Node streams of successful responses asked for raw: the Response itself carries no body. */
const rawBodies = new WeakMap<Response, Readable>();

/** The body of a response sent with `raw`, as the node stream it arrived on. */
export function rawBody(res: Response): Readable | undefined {
  return rawBodies.get(res);
}

/** No byte for this long on a connection (headers or body) fails the request as a timeout. */
const IDLE_MS = 300000;

/**
 * One request with node:http(s). A streamed request body is piped with backpressure: fetch reads it
 * as fast as the source gives it, so a fast source and a slow destination held whole blobs in memory.
 * With `raw`, a successful response body stays a node stream (rawBody), which costs less CPU than
 * a web stream converted back for blob downloads.
 */
export function streamRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: Readable,
  raw = false
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(u, {method, headers}, res => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
      }
      const status = res.statusCode ?? 502;
      // Answered before the body was sent (413, 401, an error): stop sending it.
      if (body && !body.readableEnded) {
        body.unpipe(req);
        body.destroy();
        res.on('end', () => req.destroy());
      }
      const hasBody = status !== 204 && status !== 304 && method !== 'HEAD';
      if (raw && hasBody && status >= 200 && status < 300) {
        const response = new Response(null, {status, headers: h});
        rawBodies.set(response, res);
        resolve(response);
        return;
      }
      resolve(new Response(hasBody ? (Readable.toWeb(res) as ReadableStream) : null, {status, headers: h}));
    });
    req.setTimeout(IDLE_MS, () =>
      req.destroy(Object.assign(new Error(`${method} ${url}: no data for ${IDLE_MS / 1000} s`), {code: 'ETIMEDOUT'}))
    );
    req.on('error', reject);
    if (!body) {
      req.end();
      return;
    }
    body.on('error', err => req.destroy(err));
    body.pipe(req);
  });
}
