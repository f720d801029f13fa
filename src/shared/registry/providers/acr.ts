import {UserError} from '../../errors.js';
import {Credential} from '../auth.js';
import {isLoopback} from '../client.js';
import {ProviderContext, oidcToken, postJson} from './context.js';
import {entraTokenRequest} from './azure-cloud.js';

export const ACR_USER = '00000000-0000-0000-0000-000000000000';

export interface AcrOptions {
  registry: string;
  tenantId?: string;
  clientId?: string;
  /** The login's insecure= (plain http); unset: http for loopback hosts only, as the registry client. */
  insecure?: boolean;
}

/**
 * ACR through Azure AD workload identity: the workflow's OIDC token becomes an Azure AD access token
 * (client assertion), which the registry's /oauth2/exchange turns into a refresh token.
 */
export async function acrCredential(opts: AcrOptions, ctx: ProviderContext): Promise<Credential> {
  const tenant = opts.tenantId || ctx.env.AZURE_TENANT_ID;
  const clientId = opts.clientId || ctx.env.AZURE_CLIENT_ID;
  let aad = ctx.env.AZURE_ACCESS_TOKEN;
  if (!aad) {
    if (!tenant || !clientId) {
      throw new UserError(
        `${opts.registry}: ACR login needs tenant=… and client-id=… on the destination (or AZURE_TENANT_ID and AZURE_CLIENT_ID) for workload identity federation.`
      );
    }
    const assertion = await oidcToken(ctx, 'api://AzureADTokenExchange', opts.registry);
    const entra = entraTokenRequest(opts.registry, tenant, ctx.env);
    const out = await postJson<{access_token: string}>(
      entra.url,
      {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        scope: entra.scope
      },
      `${opts.registry} (Azure AD)`
    );
    aad = out.access_token;
  }
  ctx.mask(aad);
  // The same scheme as the registry's own client: a login's insecure=false means https even on loopback.
  const scheme = (opts.insecure ?? isLoopback(opts.registry)) ? 'http' : 'https';
  const exchange = await postJson<{refresh_token: string}>(
    `${scheme}://${opts.registry}/oauth2/exchange`,
    {grant_type: 'access_token', service: opts.registry, access_token: aad, ...(tenant ? {tenant} : {})},
    `${opts.registry} (ACR exchange)`
  );
  ctx.mask(exchange.refresh_token);
  return {kind: 'identity', username: ACR_USER, token: exchange.refresh_token};
}
