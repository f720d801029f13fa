import type {GitHubClient} from './client.js';
import {Logger} from '../log.js';

/** Where the tag action's few GitHub API reads go, and with which token. */
export interface GitHubApi {
  apiUrl: string;
  token?: string;
  /** Outside GitHub (GitLab CI, Azure DevOps, Jenkins, a laptop) there is no GitHub repository to ask. */
  disabled?: boolean;
  /** The client, made on the first read (its code is loaded only then, off the cold start). */
  client?: Promise<GitHubClient>;
}

export function githubApiFromEnv(env: NodeJS.ProcessEnv, token?: string): GitHubApi {
  return {
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    token: token || undefined,
    disabled: env.REGISTRY_ACTIONS_NO_GITHUB_API === 'true'
  };
}

/**
 * One read through the shared GitHub client (@actions/github's Octokit with retries; a rate limit
 * fails the read rather than stalling the step). Throws when there is no token or the read fails.
 */
export async function githubRead<T>(
  api: GitHubApi,
  route: string,
  params: Record<string, string>,
  log: Logger,
  timeoutMs = 10_000
): Promise<T> {
  if (!api.token) throw new Error('no github-token');
  const token = api.token;
  api.client ??= import('./client.js').then(
    ({githubClient}) =>
      githubClient({token, baseUrl: api.apiUrl, userAgent: 'registry-actions/tag', waitForRateLimit: false, log})
        .octokit
  );
  const octokit = await api.client;
  const {data} = await octokit.request(route, {...params, request: {signal: AbortSignal.timeout(timeoutMs)}});
  return data as T;
}
