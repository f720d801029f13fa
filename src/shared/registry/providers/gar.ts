import {UserError} from '../../errors.js';
import {Credential} from '../auth.js';
import {ProviderContext, oidcToken, postJson} from './context.js';

export interface GarOptions {
  registry: string;
  /** projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<provider> */
  workloadIdentityProvider?: string;
  serviceAccount?: string;
}

/**
 * Artifact Registry through workload identity federation: the workflow's OIDC token is exchanged at
 * Google STS, then (with a service account) for an access token; the registry takes it as the
 * password of user oauth2accesstoken.
 */
export async function garCredential(opts: GarOptions, ctx: ProviderContext): Promise<Credential> {
  const provider = opts.workloadIdentityProvider || ctx.env.GCP_WORKLOAD_IDENTITY_PROVIDER;
  const sa = opts.serviceAccount || ctx.env.GCP_SERVICE_ACCOUNT;
  let token = ctx.env.GOOGLE_OAUTH_ACCESS_TOKEN;
  if (!token) {
    if (!provider) {
      throw new UserError(
        `${opts.registry}: Artifact Registry login needs workload-identity-provider=projects/…/providers/… on the destination (and service-account=… to impersonate).`
      );
    }
    const audience = `//iam.googleapis.com/${provider.replace(/^\/\/iam\.googleapis\.com\//, '')}`;
    const subject = await oidcToken(ctx, `https:${audience}`, opts.registry);
    const stsUrl = ctx.env.REGISTRY_ACTIONS_GCP_STS_URL || 'https://sts.googleapis.com/v1/token';
    const federated = await postJson<{access_token: string}>(
      stsUrl,
      {
        grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
        audience,
        scope: 'https://www.googleapis.com/auth/cloud-platform',
        requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
        subjectToken: subject,
        subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt'
      },
      `${opts.registry} (Google STS)`,
      false
    );
    ctx.mask(federated.access_token);
    token = federated.access_token;
    if (sa) {
      const iam = ctx.env.REGISTRY_ACTIONS_GCP_IAM_URL || 'https://iamcredentials.googleapis.com';
      const out = await postJson<{accessToken: string}>(
        `${iam}/v1/projects/-/serviceAccounts/${encodeURIComponent(sa)}:generateAccessToken`,
        {scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '3600s'},
        `${opts.registry} (service account ${sa})`,
        false,
        {authorization: `Bearer ${token}`}
      );
      token = out.accessToken;
    }
  }
  ctx.mask(token);
  return {kind: 'basic', username: 'oauth2accesstoken', password: token};
}

export function isGarHost(registry: string): boolean {
  return /(^|\.)(gcr\.io|[a-z0-9-]+-docker\.pkg\.dev)$/.test(registry);
}
