import {UserError, errorMessage} from '../../errors.js';
import {Credential} from '../auth.js';
import {ProviderContext, oidcToken} from './context.js';
import {awsRequestHandler} from './aws-http.js';

const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export function parseEcrHost(registry: string): {accountId: string; region: string} | undefined {
  const m = registry.match(ECR_HOST);
  return m ? {accountId: m[1], region: m[2]} : undefined;
}

export interface EcrOptions {
  registry: string;
  region?: string;
  /** An IAM role to assume with the workflow's OIDC token (AssumeRoleWithWebIdentity). */
  roleArn?: string;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

function regionFor(opts: EcrOptions, ctx: ProviderContext): string {
  const region = opts.region || parseEcrHost(opts.registry)?.region || ctx.env.AWS_REGION || ctx.env.AWS_DEFAULT_REGION;
  if (!region)
    throw new UserError(`${opts.registry}: no AWS region; add region=<region> to the destination or set AWS_REGION.`);
  return region;
}

export async function assumeRole(
  opts: EcrOptions,
  region: string,
  ctx: ProviderContext
): Promise<AwsCredentials | undefined> {
  const roleArn = opts.roleArn || ctx.env.AWS_ROLE_ARN;
  if (!roleArn) return undefined;
  const token = await oidcToken(ctx, 'sts.amazonaws.com', opts.registry);
  const {STSClient, AssumeRoleWithWebIdentityCommand} = await import('@aws-sdk/client-sts');
  const sts = new STSClient({region, requestHandler: awsRequestHandler()});
  try {
    const out = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn,
        RoleSessionName: `registry-actions-${ctx.env.GITHUB_RUN_ID ?? Date.now()}`,
        WebIdentityToken: token,
        DurationSeconds: 3600
      })
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS answered without credentials');
    ctx.mask(c.SecretAccessKey);
    if (c.SessionToken) ctx.mask(c.SessionToken);
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration
    };
  } catch (err) {
    throw new UserError(
      `${opts.registry}: assuming ${roleArn} with the workflow's OIDC token failed (${errorMessage(err)}). Check the role's trust policy allows token.actions.githubusercontent.com for this repository.`
    );
  }
}

/** The ECR API client of a registry: its region, and the role assumed with the workflow's OIDC token when given. */
export async function ecrClient(opts: EcrOptions, ctx: ProviderContext) {
  const region = regionFor(opts, ctx);
  const credentials = await assumeRole(opts, region, ctx);
  const ecr = await import('@aws-sdk/client-ecr');
  return {
    ecr,
    client: new ecr.ECRClient({region, requestHandler: awsRequestHandler(), ...(credentials ? {credentials} : {})})
  };
}

/** ECR's (and ECR Public's) authorization token: base64 of user:password, both parts masked. */
export function authorizationToken(token: string, ctx: ProviderContext): Credential {
  ctx.mask(token);
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const password = decoded.slice(i + 1);
  ctx.mask(password);
  return {kind: 'basic', username: decoded.slice(0, i), password};
}

/** Registry credentials from ECR's GetAuthorizationToken: user AWS, a 12-hour password. */
export async function ecrCredential(opts: EcrOptions, ctx: ProviderContext): Promise<Credential> {
  const {ecr, client} = await ecrClient(opts, ctx);
  const account = parseEcrHost(opts.registry)?.accountId;
  try {
    const out = await client.send(new ecr.GetAuthorizationTokenCommand(account ? {registryIds: [account]} : {}));
    const data = out.authorizationData?.[0]?.authorizationToken;
    if (!data) throw new Error('no authorization data');
    return authorizationToken(data, ctx);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `${opts.registry}: ECR GetAuthorizationToken failed (${errorMessage(err)}). Give AWS credentials (aws-actions/configure-aws-credentials, AWS_* variables, or role=<arn> on the destination with id-token: write) allowed ecr:GetAuthorizationToken.`
    );
  }
}

/** Creates an ECR repository when it does not exist (ECR refuses pushes to missing repositories). */
export async function ensureEcrRepository(
  opts: EcrOptions & {repository: string; immutable?: boolean},
  ctx: ProviderContext
): Promise<'exists' | 'created'> {
  const {ecr, client} = await ecrClient(opts, ctx);
  const registryId = parseEcrHost(opts.registry)?.accountId;
  try {
    await client.send(
      new ecr.DescribeRepositoriesCommand({repositoryNames: [opts.repository], ...(registryId ? {registryId} : {})})
    );
    return 'exists';
  } catch (err) {
    if ((err as {name?: string}).name !== 'RepositoryNotFoundException') {
      throw new UserError(
        `${opts.registry}/${opts.repository}: ECR DescribeRepositories failed (${errorMessage(err)}).`
      );
    }
  }
  try {
    await client.send(
      new ecr.CreateRepositoryCommand({
        repositoryName: opts.repository,
        ...(registryId ? {registryId} : {}),
        imageTagMutability: opts.immutable ? 'IMMUTABLE' : 'MUTABLE',
        imageScanningConfiguration: {scanOnPush: false}
      })
    );
    return 'created';
  } catch (err) {
    if ((err as {name?: string}).name === 'RepositoryAlreadyExistsException') return 'exists';
    throw new UserError(
      `${opts.registry}/${opts.repository}: ECR CreateRepository failed (${errorMessage(err)}); the credentials need ecr:CreateRepository.`
    );
  }
}
