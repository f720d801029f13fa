/**
 * The CI system a command runs in, turned into the GitHub Actions context the actions read (GITHUB_*
 * variables and an event payload), so `registry-actions tag` answers the same in GitLab CI, Azure
 * DevOps, Jenkins and GitHub Actions. Pure.
 */
export interface CiContext {
  system: 'github' | 'gitlab' | 'azure' | 'jenkins' | 'git';
  env: Record<string, string>;
  /** The event payload to write to GITHUB_EVENT_PATH (undefined: leave the runner's own). */
  payload?: Record<string, unknown>;
}

const stripHeads = (ref: string | undefined): string => (ref ?? '').replace(/^refs\/heads\//, '');

function context(
  system: CiContext['system'],
  o: {
    sha?: string;
    ref: string;
    event: string;
    repository?: string;
    defaultBranch?: string;
    server?: string;
    /** Commit time, when the CI system tells it. */
    timestamp?: string;
    pr?: {number: number; head?: string; headRef?: string; base?: string};
  }
): CiContext {
  const env: Record<string, string> = {
    REGISTRY_ACTIONS_NO_GITHUB_API: 'true',
    GITHUB_EVENT_NAME: o.event,
    GITHUB_REF: o.ref,
    GITHUB_SHA: o.sha ?? '',
    GITHUB_REPOSITORY: o.repository ?? ''
  };
  if (o.server) env.GITHUB_SERVER_URL = o.server;
  if (o.pr) {
    env.GITHUB_BASE_REF = o.pr.base ?? '';
    env.GITHUB_HEAD_REF = o.pr.headRef ?? '';
  }
  const payload: Record<string, unknown> = {repository: {default_branch: o.defaultBranch ?? ''}};
  if (o.timestamp && o.sha) payload.head_commit = {id: o.sha, timestamp: o.timestamp};
  if (o.pr) {
    payload.number = o.pr.number;
    payload.pull_request = {
      number: o.pr.number,
      head: {sha: o.pr.head ?? o.sha, ref: o.pr.headRef},
      base: {ref: o.pr.base}
    };
  }
  return {system, env, payload};
}

/** owner/repo from a git remote URL (https or ssh). */
export function repositoryFromUrl(url: string | undefined): string | undefined {
  const m = (url ?? '').match(/[:/]([^/:]+\/[^/]+?)(?:\.git)?\/?$/);
  return m?.[1];
}

export function detectCi(env: NodeJS.ProcessEnv): CiContext {
  const defaultBranch = env.REGISTRY_ACTIONS_DEFAULT_BRANCH;
  if (env.GITHUB_ACTIONS === 'true') return {system: 'github', env: {}};
  if (env.GITLAB_CI === 'true' || env.CI_COMMIT_SHA) {
    const mr = env.CI_MERGE_REQUEST_IID;
    const source = env.CI_PIPELINE_SOURCE ?? '';
    const base = {
      sha: env.CI_COMMIT_SHA,
      repository: env.CI_PROJECT_PATH,
      defaultBranch: env.CI_DEFAULT_BRANCH ?? defaultBranch,
      server: env.CI_SERVER_URL,
      timestamp: env.CI_COMMIT_TIMESTAMP
    };
    if (mr) {
      return context('gitlab', {
        ...base,
        event: 'pull_request',
        ref: `refs/pull/${mr}/merge`,
        pr: {
          number: Number(mr),
          head: env.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA || env.CI_COMMIT_SHA,
          headRef: env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME,
          base: env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME
        }
      });
    }
    if (env.CI_COMMIT_TAG) return context('gitlab', {...base, event: 'push', ref: `refs/tags/${env.CI_COMMIT_TAG}`});
    return context('gitlab', {
      ...base,
      event: source === 'schedule' ? 'schedule' : 'push',
      ref: `refs/heads/${env.CI_COMMIT_BRANCH ?? env.CI_COMMIT_REF_NAME ?? ''}`
    });
  }
  if (env.TF_BUILD === 'True' || env.BUILD_SOURCEVERSION) {
    const reason = env.BUILD_REASON ?? '';
    const base = {sha: env.BUILD_SOURCEVERSION, repository: env.BUILD_REPOSITORY_NAME, defaultBranch};
    if (reason === 'PullRequest') {
      const n = Number(env.SYSTEM_PULLREQUEST_PULLREQUESTNUMBER ?? env.SYSTEM_PULLREQUEST_PULLREQUESTID ?? 0);
      return context('azure', {
        ...base,
        event: 'pull_request',
        ref: `refs/pull/${n}/merge`,
        pr: {
          number: n,
          head: env.SYSTEM_PULLREQUEST_SOURCECOMMITID,
          headRef: stripHeads(env.SYSTEM_PULLREQUEST_SOURCEBRANCH),
          base: stripHeads(env.SYSTEM_PULLREQUEST_TARGETBRANCH)
        }
      });
    }
    return context('azure', {
      ...base,
      event: reason === 'Schedule' ? 'schedule' : 'push',
      ref: env.BUILD_SOURCEBRANCH ?? ''
    });
  }
  if (env.JENKINS_URL || env.BUILD_TAG?.startsWith('jenkins-')) {
    const base = {sha: env.GIT_COMMIT, repository: repositoryFromUrl(env.GIT_URL), defaultBranch};
    if (env.CHANGE_ID) {
      return context('jenkins', {
        ...base,
        event: 'pull_request',
        ref: `refs/pull/${env.CHANGE_ID}/merge`,
        pr: {number: Number(env.CHANGE_ID), headRef: env.CHANGE_BRANCH, base: env.CHANGE_TARGET}
      });
    }
    if (env.TAG_NAME) return context('jenkins', {...base, event: 'push', ref: `refs/tags/${env.TAG_NAME}`});
    return context('jenkins', {
      ...base,
      event: 'push',
      ref: `refs/heads/${env.BRANCH_NAME ?? stripHeads(env.GIT_BRANCH?.replace(/^origin\//, ''))}`
    });
  }
  return {system: 'git', env: {}};
}
