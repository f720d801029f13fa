import {getOctokit} from '@actions/github';
import {retry} from '@octokit/plugin-retry';
import {throttling} from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck/light.js';
import {httpFetch} from '../http.js';
import {Logger} from '../log.js';

export type GitHubClient = ReturnType<typeof getOctokit>;

export interface ApiStats {
  calls: number;
  /** x-ratelimit-remaining, as last reported. */
  remaining?: string;
  limit?: string;
  /** x-ratelimit-reset (epoch seconds), as last reported. */
  reset?: number;
  throttled: number;
}

export interface GitHubOptions {
  token: string;
  baseUrl: string;
  userAgent: string;
  log: Logger;
  /** Writes (DELETE, POST…) a minute, paced; GitHub's secondary limit allows 180 DELETEs (900 points, 5 each). */
  writesPerMinute?: number;
  /**
   * Wait out a rate limit (up to 5 times) instead of failing the call: right for a cleanup that must
   * finish, wrong for a tag step whose API reads are optional.
   */
  waitForRateLimit: boolean;
  /**
   * The longest wait for the primary limit (seconds); past it the call fails and `onGiveUp` is told,
   * so a run stops cleanly instead of waiting up to an hour. Secondary limits (seconds) are waited out.
   */
  maxPrimaryWait?: number;
  onGiveUp?: (why: string) => void;
}

/**
 * Every GitHub API call goes through one Octokit from @actions/github's getOctokit, with the
 * throttling and retry plugins: primary and secondary rate limits (429; 403 with
 * x-ratelimit-remaining 0; 403 with Retry-After) waited out when asked, server errors retried twice
 * (after 1 s and 4 s), writes paced, every call counted. Requests go through the run's connection
 * pool, so HTTPS_PROXY/NO_PROXY apply to the API as to the registries.
 */
export function githubClient(opts: GitHubOptions): {octokit: GitHubClient; stats: ApiStats} {
  const stats: ApiStats = {calls: 0, throttled: 0};
  const wait =
    (what: string, primary: boolean) =>
    (after: number, o: {method: string; url: string}, _: unknown, retries: number) => {
      stats.throttled++;
      if (!opts.waitForRateLimit) {
        opts.log.debug(`GitHub API ${what} on ${o.method} ${o.url}; not waiting ${after} s`);
        return false;
      }
      if (primary && opts.maxPrimaryWait !== undefined && after > opts.maxPrimaryWait) {
        opts.onGiveUp?.(`the GitHub API rate limit (exhausted; it resets in ${after} s)`);
        return false;
      }
      opts.log.warning(`GitHub API ${what} on ${o.method} ${o.url}; waiting ${after} s`);
      return retries < 5;
    };
  const octokit = getOctokit(
    opts.token,
    {
      baseUrl: opts.baseUrl.replace(/\/+$/, ''),
      userAgent: opts.userAgent,
      request: {fetch: httpFetch},
      log: {
        debug: () => undefined,
        info: () => undefined,
        warn: (m: string) => opts.log.debug(m),
        error: (m: string) => opts.log.debug(m)
      },
      throttle: {
        id: `registry-actions-${process.pid}`,
        ...(opts.writesPerMinute
          ? {write: new Bottleneck.Group({maxConcurrent: 1, minTime: Math.ceil(60_000 / opts.writesPerMinute)})}
          : {}),
        onRateLimit: wait('rate limit reached', true),
        onSecondaryRateLimit: wait('secondary rate limit', false)
      },
      retry: {retries: 2, doNotRetry: [400, 401, 403, 404, 410, 422, 451]}
    },
    throttling,
    retry
  );
  const count = (headers: Record<string, string | number | undefined> | undefined): void => {
    stats.calls++;
    if (headers?.['x-ratelimit-remaining'] !== undefined) stats.remaining = String(headers['x-ratelimit-remaining']);
    if (headers?.['x-ratelimit-limit'] !== undefined) stats.limit = String(headers['x-ratelimit-limit']);
    if (headers?.['x-ratelimit-reset'] !== undefined) stats.reset = Number(headers['x-ratelimit-reset']);
  };
  octokit.hook.after('request', res => count(res.headers));
  octokit.hook.error('request', err => {
    count((err as {response?: {headers?: Record<string, string>}}).response?.headers);
    throw err;
  });
  return {octokit, stats};
}

export const statusOf = (err: unknown): number | undefined => (err as {status?: number}).status;

/** A GitHub answer refusing for the rate limit (403 or 429 with nothing left, or with Retry-After). */
export function isRateLimited(err: unknown): boolean {
  const status = statusOf(err);
  const headers = (err as {response?: {headers?: Record<string, string | undefined>}}).response?.headers ?? {};
  return (status === 403 || status === 429) && (headers['x-ratelimit-remaining'] === '0' || !!headers['retry-after']);
}
