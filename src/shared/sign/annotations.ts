import {inputError} from '../errors.js';

/**
 * The annotations every signature carries by default: where it was made (repository, commit, ref,
 * workflow, run), read from the GitHub Actions environment. Absent variables are left out. Pure.
 */
export function workflowAnnotations(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (k: string, v: string | undefined): void => {
    if (v) out[k] = v;
  };
  set('repository', env.GITHUB_REPOSITORY);
  set('git-sha', env.GITHUB_SHA);
  set('ref', env.GITHUB_REF);
  set('workflow', env.GITHUB_WORKFLOW_REF || env.GITHUB_WORKFLOW);
  if (env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) {
    const server = env.GITHUB_SERVER_URL || 'https://github.com';
    const attempt = env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : '';
    out['run-url'] = `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${attempt}`;
  }
  return out;
}

/** Parses `key=value` lines of the annotations input. */
export function parseAnnotations(lines: string[], input = 'annotations'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0)
      throw inputError(
        input,
        line,
        'an annotation is written key=value',
        'One annotation per line, for example team=payments.'
      );
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}
