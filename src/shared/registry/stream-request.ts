import http from 'node:http';
import https from 'node:https';
import {Readable} from 'node:stream';

/**
 * Sends a request whose body is a stream with node:http(s), piping with backpressure. fetch reads a
 * streamed request body as fast as the source gives it, so a fast source and a slow destination held
 * whole blobs in memory; piping keeps memory flat whatever the image size.
 */
export function streamRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Readable
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
      if (!body.readableEnded) {
        body.unpipe(req);
        body.destroy();
        res.on('end', () => req.destroy());
      }
      const hasBody = status !== 204 && status !== 304 && method !== 'HEAD';
      resolve(new Response(hasBody ? (Readable.toWeb(res) as ReadableStream) : null, {status, headers: h}));
    });
    req.on('error', reject);
    body.on('error', err => req.destroy(err));
    body.pipe(req);
  });
}
