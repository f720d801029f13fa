import {UserError, errorMessage} from '../../errors.js';
import {httpFetch} from '../../http.js';
import {
  DEFAULT_RETRY,
  RETRYABLE_STATUS,
  RetryPolicy,
  backoffMs,
  isRetryableError,
  retryAfterMs,
  sleep
} from '../../registry/retry.js';

/**
 * One call to a registry vendor's REST API (Harbor, Docker Hub, Artifact Registry), retried as registry
 * requests are: on 408, 429 and 5xx with Retry-After honoured and exponential backoff otherwise, and on
 * dropped connections. Statuses in `ok` are answers, not errors; any other failure names the call.
 */
export async function restCall(
  url: string,
  init: {method: string; headers?: Record<string, string>; body?: string},
  o: {what: string; ok?: number[]; retry?: RetryPolicy; onThrottle?: (waitMs: number) => void}
): Promise<Response> {
  const policy = o.retry ?? DEFAULT_RETRY;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await httpFetch(url, {
        method: init.method,
        headers: {accept: 'application/json', ...init.headers},
        body: init.body,
        signal: AbortSignal.timeout(120_000)
      });
    } catch (err) {
      if (attempt < policy.retries && isRetryableError(err)) {
        await sleep(backoffMs(attempt, policy));
        continue;
      }
      throw new UserError(`${o.what}: ${init.method} ${url} failed (${errorMessage(err)}).`);
    }
    if (res.ok || o.ok?.includes(res.status)) return res;
    if (RETRYABLE_STATUS.has(res.status) && attempt < policy.retries) {
      const wait = retryAfterMs(res.headers.get('retry-after'), policy.maxMs) ?? backoffMs(attempt, policy);
      await res.body?.cancel();
      if (res.status === 429) o.onThrottle?.(wait);
      await sleep(wait);
      continue;
    }
    const text = (await res.text()).trim().slice(0, 300);
    throw new UserError(`${o.what}: ${init.method} ${url} answered HTTP ${res.status}${text ? `: ${text}` : ''}.`);
  }
}
