import {UserError, errorMessage} from '../errors.js';
import {GitHubApi, githubRead} from '../github/api.js';
import {parseList} from '../inputs.js';
import {Logger} from '../log.js';
import {buildTime} from './build-time.js';
import {RefContext, commitDateFromPayload, githubContext} from './context.js';
import {parseFlavor} from './flavor.js';
import {gitContext} from './git.js';
import {parseImages} from './images.js';
import {Metadata, RepoInfo, deriveMetadata, parseAnnotationLevels} from './meta.js';
import {parseTags, tagSpecToString} from './spec.js';
import {shortShaLength} from './version.js';

/** The tag action's inputs, typed; the raw multi-line inputs are parsed here. */
export interface TagOptions {
  context: string;
  images: string;
  tags: string;
  flavor: string;
  labels: string;
  annotations: string;
  tagPrefix: string;
  environment: string;
  api: GitHubApi;
}

const LIST = {ignoreComma: true, comment: '#'};

async function repoInfo(api: GitHubApi, repository: string, env: NodeJS.ProcessEnv, log: Logger): Promise<RepoInfo> {
  if (!repository) return {};
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  if (api.disabled) return {name: repository.split('/').pop(), html_url: `${server}/${repository}`};
  try {
    const [owner, repo] = repository.split('/');
    return await githubRead<RepoInfo>(api, 'GET /repos/{owner}/{repo}', {owner, repo}, log);
  } catch (err) {
    log.warning(
      `could not read repository data for ${repository} (${errorMessage(err)}); OCI labels use what the environment gives. Set github-token if the repository is private.`
    );
    return {name: repository.split('/')[1], html_url: `${server}/${repository}`};
  }
}

async function commitDate(
  ctx: Omit<RefContext, 'commitDate'>,
  api: GitHubApi,
  fallback: Date,
  log: Logger
): Promise<Date> {
  const fromPayload = commitDateFromPayload(ctx.payload, ctx.sha);
  if (fromPayload) return fromPayload;
  if (!ctx.sha || !ctx.repository || api.disabled) return fallback;
  try {
    const [owner, repo] = ctx.repository.split('/');
    const c = await githubRead<{commit?: {committer?: {date?: string}}}>(
      api,
      'GET /repos/{owner}/{repo}/commits/{ref}',
      {owner, repo, ref: ctx.sha},
      log
    );
    if (c.commit?.committer?.date) return new Date(c.commit.committer.date);
  } catch (err) {
    log.debug(`commit date of ${ctx.sha} not available from the API: ${errorMessage(err)}`);
  }
  return fallback;
}

export async function readContext(
  source: string,
  api: GitHubApi,
  env: NodeJS.ProcessEnv,
  date: Date,
  log: Logger
): Promise<RefContext> {
  switch (source || 'workflow') {
    case 'workflow': {
      const ctx = githubContext(env);
      return {...ctx, commitDate: await commitDate(ctx, api, date, log)};
    }
    case 'git':
      return gitContext(env);
    default:
      throw new UserError(`context: "${source}" is not a context source. Use workflow or git.`);
  }
}

/** Parses the inputs, reads the context and repository, and derives the metadata. */
export async function resolveTagMetadata(opts: TagOptions, env: NodeJS.ProcessEnv, log: Logger): Promise<Metadata> {
  // Parse and validate every input before any network call.
  const date = buildTime(env);
  const images = parseImages(parseList(opts.images, LIST));
  const {specs, warnings} = parseTags(parseList(opts.tags, LIST));
  const flavor = parseFlavor(parseList(opts.flavor, LIST));
  const labels = parseList(opts.labels, LIST);
  const annotations = parseList(opts.annotations, LIST);
  const annotationLevels = parseAnnotationLevels(env.DOCKER_METADATA_ANNOTATIONS_LEVELS);
  const shaLength = shortShaLength(env);
  for (const w of warnings) log.warning(w);
  log.debug(`tags: ${specs.map(tagSpecToString).join(' | ')}`);

  const context = await readContext(opts.context, opts.api, env, date, log);
  const repo = await repoInfo(opts.api, context.repository, env, log);
  const meta = deriveMetadata({
    context,
    flavor,
    defaultBranch: repo.default_branch ?? context.payload.repository?.default_branch ?? '',
    date,
    tagPrefix: opts.tagPrefix || undefined,
    environment: opts.environment || undefined,
    shortShaLength: shaLength,
    images,
    specs,
    labels,
    annotations,
    annotationLevels,
    repo
  });
  for (const w of meta.warnings) log.warning(w);
  return meta;
}
