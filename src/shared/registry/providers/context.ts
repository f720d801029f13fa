import {UserError} from '../../errors.js';
import {Logger} from '../../log.js';
import {Mask} from '../credentials.js';
import {httpFetch} from '../../http.js';

/** What cloud credential providers need from the run. */
export interface ProviderContext {
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log?: Logger;
  /** The workflow's OIDC token for an audience (core.getIDToken in actions). */
  getIdToken?: (audience: string) => Promise<string>;
}

export const ID_TOKEN_PERMISSIONS = `permissions:
  id-token: write   # OIDC token for cloud logins
  contents: read`;

/** The GitHub OIDC token, or a message saying which permission to add. */
export async function oidcToken(ctx: ProviderContext, audience: string, who: string): Promise<string> {
  if (!ctx.env.ACTIONS_ID_TOKEN_REQUEST_URL || !ctx.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN || !ctx.getIdToken) {
    throw new UserError(
      `${who}: logging in with the workflow's OIDC token needs the id-token permission. Add to the job:\n${ID_TOKEN_PERMISSIONS}`
    );
  }
  const token = await ctx.getIdToken(audience);
  ctx.mask(token);
  return token;
}

/** POSTs a form or JSON and returns the JSON answer; errors name the endpoint and status. */
export async function postJson<T>(
  url: string,
  body: Record<string, string> | object,
  who: string,
  form = true,
  headers: Record<string, string> = {}
): Promise<T> {
  const res = await httpFetch(url, {
    method: 'POST',
    headers: {
      'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
      accept: 'application/json',
      ...headers
    },
    body: form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
    signal: AbortSignal.timeout(30000)
  });
  const text = await res.text();
  if (!res.ok)
    throw new UserError(
      `${who}: ${new URL(url).host}${new URL(url).pathname} answered ${res.status}: ${text.slice(0, 300)}`
    );
  return JSON.parse(text) as T;
}
