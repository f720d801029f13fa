import {exec} from '../exec.js';
import {RefContext, readEventPayload} from './context.js';

async function git(args: string[], cwd?: string): Promise<string | undefined> {
  const res = await exec({command: 'git', args, cwd});
  return res.code === 0 ? res.stdout.trim() : undefined;
}

/**
 * Reads the context from the local git checkout (context: git): HEAD's commit, the tag pointing at it
 * (a tag wins, as a release build expects) or the current branch, and the committer date.
 */
export async function gitContext(env: NodeJS.ProcessEnv, cwd?: string): Promise<RefContext> {
  const sha = (await git(['rev-parse', 'HEAD'], cwd)) ?? '';
  let ref: string;
  const tags = (await git(['tag', '--points-at', 'HEAD', '--sort=-creatordate'], cwd))?.split('\n').filter(Boolean);
  if (tags && tags.length > 0) {
    ref = `refs/tags/${tags[0]}`;
  } else {
    const branch = await git(['symbolic-ref', '--quiet', 'HEAD'], cwd);
    ref = branch ?? env.GITHUB_REF ?? '';
  }
  const date = await git(['show', '-s', '--format=%cI', 'HEAD'], cwd);
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    sha,
    ref,
    payload: readEventPayload(env.GITHUB_EVENT_PATH),
    commitDate: date ? new Date(date) : new Date(),
    repository: env.GITHUB_REPOSITORY ?? ''
  };
}
