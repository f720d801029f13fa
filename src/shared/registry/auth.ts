import {UserError} from '../errors.js';
import {isLoopback} from './reference.js';

/** What a registry asked for in WWW-Authenticate. */
export interface Challenge {
  scheme: 'bearer' | 'basic' | string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header: `Bearer realm="…",service="…",scope="a b"` or `Basic realm="…"`. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = header.trim().match(/^(\S+)\s*(.*)$/);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null) {
    if (p[0] === '') break;
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  }
  return {scheme: m[1].toLowerCase(), params};
}

/** How to authenticate to one registry. */
export type Credential =
  | {kind: 'anonymous'}
  | {kind: 'basic'; username: string; password: string}
  /** An OAuth2 refresh token (docker config identitytoken, ACR refresh token). */
  | {kind: 'identity'; username?: string; token: string}
  /** A bearer token used as is (registrytoken). */
  | {kind: 'bearer'; token: string};

export interface TokenResponse {
  token: string;
  expiresAt: number;
}

export interface ScopeSet {
  key: string;
  scopes: string[];
}

/** repository:<name>:<actions>; the name may contain host:port, so actions are split from the end. */
export function scope(repository: string, actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** Merges scopes so that one token request carries everything: pull+push on one repository, pull on others. */
export function mergeScopes(scopes: string[]): ScopeSet {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes.flatMap(x => x.split(' ')).filter(Boolean)) {
    const last = s.lastIndexOf(':');
    const resource = s.slice(0, last);
    const actions = s
      .slice(last + 1)
      .split(',')
      .filter(Boolean);
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of actions) set.add(a);
    byResource.set(resource, set);
  }
  const merged = [...byResource]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`);
  return {key: merged.join(' '), scopes: merged};
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export function basicHeader(cred: Credential): string | undefined {
  if (cred.kind === 'basic') return basic(cred.username, cred.password);
  if (cred.kind === 'identity') return basic(cred.username ?? '<token>', cred.token);
  return undefined;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

function parseToken(body: unknown, now: number): TokenResponse {
  const b = body as {token?: string; access_token?: string; expires_in?: number; issued_at?: string};
  const token = b.token || b.access_token;
  if (!token) throw new Error('the token endpoint answered without a token');
  const expiresIn = b.expires_in && b.expires_in > 0 ? b.expires_in : 60;
  const issued = b.issued_at ? Date.parse(b.issued_at) : NaN;
  const start = Number.isFinite(issued) && issued <= now ? issued : now;
  return {token, expiresAt: start + expiresIn * 1000};
}

/**
 * Fetches a bearer token from the realm of a challenge for the given scopes: OAuth2 refresh-token POST
 * for identity tokens (falling back to GET on 404/405), GET with Basic credentials otherwise.
 */
export async function fetchToken(
  challenge: Challenge,
  scopes: string[],
  cred: Credential,
  doFetch: Fetch,
  registry: string,
  /** The registry is marked insecure: credentials may go to a plain-http realm. */
  allowPlainHttp = false
): Promise<TokenResponse> {
  const realm = challenge.params.realm;
  if (!realm) throw new UserError(`${registry}: the registry asked for a bearer token but named no realm`);
  let realmUrl: URL;
  try {
    realmUrl = new URL(realm);
  } catch {
    throw new UserError(`${registry}: the registry named a token realm that is not a URL ("${realm}")`);
  }
  if (cred.kind !== 'anonymous' && realmUrl.protocol !== 'https:' && !isLoopback(realmUrl.host) && !allowPlainHttp) {
    throw new UserError(
      `${registry}: the registry's token service ${realmUrl.origin} is plain http, and credentials are not sent in clear text. Use a registry whose token service is https, or mark the registry insecure (insecure=true on its destination or login line) if this network is trusted.`
    );
  }
  const service = challenge.params.service;
  const now = Date.now();
  if (cred.kind === 'identity') {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: cred.token,
      client_id: 'registry-actions'
    });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    const res = await doFetch(realm, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      body: form.toString()
    });
    if (res.ok) return parseToken(await res.json(), now);
    if (res.status !== 404 && res.status !== 405) {
      await res.body?.cancel();
      throw authFailure(registry, res.status, 'the identity token was refused');
    }
    await res.body?.cancel();
  }
  const url = new URL(realmUrl);
  if (service) url.searchParams.set('service', service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = {};
  const auth = basicHeader(cred);
  if (auth) headers.authorization = auth;
  const res = await doFetch(url.toString(), {method: 'GET', headers});
  if (!res.ok) {
    await res.body?.cancel();
    throw authFailure(
      registry,
      res.status,
      cred.kind === 'anonymous' ? 'anonymous access was refused' : 'the credentials were refused'
    );
  }
  return parseToken(await res.json(), now);
}

export function authFailure(registry: string, status: number, what: string): UserError {
  return new UserError(
    `${registry}: ${what} (HTTP ${status}). Check the username and token for this registry, and that the token may push to the repository.`
  );
}

/** Bearer tokens per registry and scope set, kept until shortly before they expire. */
export class TokenCache {
  private readonly tokens = new Map<string, TokenResponse>();
  constructor(private readonly marginMs = 10000) {}
  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (t && t.expiresAt - this.marginMs > Date.now()) return t.token;
    this.tokens.delete(key);
    return undefined;
  }
  set(key: string, token: TokenResponse): void {
    this.tokens.set(key, token);
  }
  /** A cached token whose scopes include all of `scopes` (a token for pull+push also serves pull). */
  find(registry: string, wanted: ScopeSet): string | undefined {
    const exact = this.get(`${registry} ${wanted.key}`);
    if (exact) return exact;
    for (const [key] of this.tokens) {
      if (!key.startsWith(`${registry} `)) continue;
      const have = mergeScopes(key.slice(registry.length + 1).split(' ')).scopes;
      if (wanted.scopes.every(w => covers(have, w))) {
        const t = this.get(key);
        if (t) return t;
      }
    }
    return undefined;
  }
}

function covers(have: string[], want: string): boolean {
  const i = want.lastIndexOf(':');
  const resource = want.slice(0, i);
  const actions = want.slice(i + 1).split(',');
  const h = have.find(x => x.slice(0, x.lastIndexOf(':')) === resource);
  if (!h) return false;
  const hActions = h.slice(h.lastIndexOf(':') + 1).split(',');
  return actions.every(a => hActions.includes(a) || hActions.includes('*'));
}
