import {UserError} from '../errors.js';

/** The build type GitHub's own provenance (actions/attest-build-provenance) records for a workflow run. */
export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

/** A SLSA v1 provenance predicate (https://slsa.dev/spec/v1.0/provenance), the fields this project writes. */
export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: {
      workflow: {ref: string; repository: string; path: string};
      /** Where push-multi built the image: its build parameters. */
      build?: Record<string, unknown>;
    };
    internalParameters: {github: Record<string, string>};
    resolvedDependencies: Array<{uri: string; digest: {gitCommit: string}}>;
  };
  runDetails: {
    builder: {id: string};
    metadata: {invocationId: string; startedOn?: string};
  };
}

const need = (env: NodeJS.ProcessEnv, name: string): string => {
  const v = env[name];
  if (!v) {
    throw new UserError(
      `provenance: $${name} is not set. Provenance describes a GitHub Actions run; elsewhere set GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_REF, GITHUB_SHA, GITHUB_WORKFLOW_REF, GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT to what they mean for your run, or leave provenance off.`
    );
  }
  return v;
};

/**
 * The provenance of this workflow run, as GitHub's provenance action records it: the builder is the
 * workflow file at its ref, the source is the repository at its commit, the invocation is this run's
 * attempt. `build` is push-multi's build-parameters output when the image was built in this run. Pure.
 */
export function provenancePredicate(env: NodeJS.ProcessEnv, build?: Record<string, unknown>): SlsaProvenance {
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const repository = need(env, 'GITHUB_REPOSITORY');
  const ref = need(env, 'GITHUB_REF');
  const sha = need(env, 'GITHUB_SHA');
  const workflowRef = need(env, 'GITHUB_WORKFLOW_REF');
  const runId = need(env, 'GITHUB_RUN_ID');
  const attempt = env.GITHUB_RUN_ATTEMPT || '1';
  // GITHUB_WORKFLOW_REF is <owner>/<repo>/<path>@<ref>
  const at = workflowRef.lastIndexOf('@');
  const workflowPath = (at > 0 ? workflowRef.slice(0, at) : workflowRef).slice(repository.length + 1);
  const github: Record<string, string> = {};
  for (const [key, name] of [
    ['event_name', 'GITHUB_EVENT_NAME'],
    ['repository_id', 'GITHUB_REPOSITORY_ID'],
    ['repository_owner_id', 'GITHUB_REPOSITORY_OWNER_ID'],
    ['runner_environment', 'RUNNER_ENVIRONMENT']
  ] as const) {
    if (env[name]) github[key] = env[name] as string;
  }
  return {
    buildDefinition: {
      buildType: GITHUB_WORKFLOW_BUILD_TYPE,
      externalParameters: {
        workflow: {ref, repository: `${server}/${repository}`, path: workflowPath},
        ...(build && Object.keys(build).length ? {build} : {})
      },
      internalParameters: {github},
      resolvedDependencies: [{uri: `git+${server}/${repository}@${ref}`, digest: {gitCommit: sha}}]
    },
    runDetails: {
      builder: {id: `${server}/${workflowRef}`},
      metadata: {invocationId: `${server}/${repository}/actions/runs/${runId}/attempts/${attempt}`}
    }
  };
}
