import {Readable} from 'node:stream';
import {httpFetch, proxyConfigured} from '../../http.js';

/** The parts of an AWS SDK (smithy) HTTP request the handler reads. */
interface SdkRequest {
  protocol: string;
  hostname: string;
  port?: number;
  method: string;
  path: string;
  query?: Record<string, string | Array<string | null> | null>;
  headers: Record<string, string>;
  body?: unknown;
}

interface SdkResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Readable;
}

/** The URL of an SDK request. Pure. */
export function sdkRequestUrl(r: SdkRequest): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(r.query ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one ?? '');
  }
  const qs = q.toString();
  return `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}${qs ? `?${qs}` : ''}`;
}

/**
 * An AWS SDK request handler on the run's connection pool, for STS and ECR calls to go through
 * HTTPS_PROXY as everything else does (the SDK's own handler ignores it). Only when a proxy is set:
 * otherwise the SDK's handler is left alone.
 */
export function awsRequestHandler(): object | undefined {
  if (!proxyConfigured()) return undefined;
  return {
    metadata: {handlerProtocol: 'http/1.1'},
    async handle(request: SdkRequest): Promise<{response: SdkResponse}> {
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter(([k]) => !['host', 'content-length'].includes(k.toLowerCase()))
      );
      const res = await httpFetch(sdkRequestUrl(request), {
        method: request.method,
        headers,
        body: request.body as RequestInit['body']
      });
      const out: Record<string, string> = {};
      res.headers.forEach((v, k) => (out[k] = v));
      const body = Buffer.from(await res.arrayBuffer());
      return {response: {statusCode: res.status, reason: res.statusText, headers: out, body: Readable.from([body])}};
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    }
  };
}
