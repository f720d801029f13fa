/** Retry policy for registry requests: exponential backoff with full jitter, Retry-After honoured. */
export interface RetryPolicy {
  retries: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {retries: 4, baseMs: 250, maxMs: 20000};

export const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Connection-level failures worth another try (reset, refused mid-run, timeouts, aborted bodies). */
export function isRetryableError(err: unknown): boolean {
  const e = err as {code?: string; cause?: {code?: string}; name?: string; message?: string};
  const code = e?.cause?.code ?? e?.code;
  if (
    code &&
    [
      'ECONNRESET',
      'ECONNREFUSED',
      'EPIPE',
      'ETIMEDOUT',
      'UND_ERR_SOCKET',
      'UND_ERR_CONNECT_TIMEOUT',
      'UND_ERR_HEADERS_TIMEOUT',
      'UND_ERR_BODY_TIMEOUT',
      'ECONNABORTED'
    ].includes(code)
  ) {
    return true;
  }
  return e?.name === 'TypeError' && /fetch failed|terminated|other side closed/i.test(e.message ?? '');
}

/** Milliseconds to wait from a Retry-After header (seconds or an HTTP date), capped. */
export function retryAfterMs(header: string | null, maxMs: number, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs)) return Math.min(Math.max(secs, 0) * 1000, maxMs);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.min(Math.max(at - now, 0), maxMs) : undefined;
}

export function backoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(cap / 2 + random() * (cap / 2));
}

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
