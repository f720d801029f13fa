import {httpFetch} from '../http.js';

/** Minimal GitHub REST reads for the tag action (one or two GETs do not justify a client library). */
export interface GitHubApi {
  apiUrl: string;
  token?: string;
  /** Outside GitHub (GitLab CI, Azure DevOps, Jenkins, a laptop) there is no GitHub repository to ask. */
  disabled?: boolean;
}

export function githubApiFromEnv(env: NodeJS.ProcessEnv, token?: string): GitHubApi {
  return {
    apiUrl: (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, ''),
    token: token || undefined,
    disabled: env.REGISTRY_ACTIONS_NO_GITHUB_API === 'true'
  };
}

export async function githubGet<T>(api: GitHubApi, path: string, timeoutMs = 10000): Promise<T> {
  const headers: Record<string, string> = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'registry-actions'
  };
  if (api.token) headers.authorization = `Bearer ${api.token}`;
  const res = await httpFetch(`${api.apiUrl}${path}`, {headers, signal: AbortSignal.timeout(timeoutMs)});
  if (!res.ok) {
    const body = await res.text().catch(() => '');
    throw new Error(`GET ${path} answered ${res.status}${body ? `: ${body.slice(0, 200)}` : ''}`);
  }
  return (await res.json()) as T;
}
