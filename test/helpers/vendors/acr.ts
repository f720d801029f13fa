import crypto from 'node:crypto';
import {isIndex} from '../../../src/shared/registry/media.js';
import {ApiContext, RecordedManifest, VendorRegistry, startVendorRegistry} from '../vendor-registry.js';
import {VendorApiDescription} from '../vendor-spec.js';

/**
 * Azure Container Registry, as the cleanup backend meets it: the token exchange (/oauth2/exchange,
 * /oauth2/token), the data plane (/acr/v1/{name}/_manifests, _manifests/{digest}, _tags/{reference})
 * and the registry API with the access tokens it issues. Every answer is checked against the data-plane
 * description (test/fixtures/vendor-specs/azure-acr/containerregistry.json, 2021-07-01), routes and the required
 * api-version included.
 */

/** The Azure AD token the job's workload identity would give (AZURE_ACCESS_TOKEN). */
export const AAD_TOKEN = 'aad-emulator-token';
export const ACR_PUSH_PASSWORD = 'acr-admin-password';

/** ACR's tokens are JWTs (clients read their expiry): an unsigned one with exp and a random id. */
const jwt = (): string => {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({alg: 'RS256', typ: 'JWT'})}.${part({jti: crypto.randomUUID(), iat: now, exp: now + 3600})}.${crypto.randomBytes(16).toString('base64url')}`;
};

export async function startAcr(tls?: {key: string; cert: string}): Promise<VendorRegistry | undefined> {
  const spec = new VendorApiDescription('azure-acr/containerregistry.json', {multiSegment: ['name']});
  const refresh = new Set<string>();
  const access = new Set<string>();
  const push = `Basic ${Buffer.from(`admin:${ACR_PUSH_PASSWORD}`).toString('base64')}`;
  /** Each tag's changeable attributes (TagWriteableProperties), as ContainerRegistry_UpdateTagAttributes sets them. */
  const tagAttributes = new Map<string, Record<string, boolean>>();
  const attributesOf = (repo: string, tag: string): Record<string, boolean> => ({
    deleteEnabled: true,
    writeEnabled: true,
    listEnabled: true,
    readEnabled: true,
    ...tagAttributes.get(`${repo}:${tag}`)
  });
  const bearerOk = (a: string | undefined): boolean => !!a && a.startsWith('Bearer ') && access.has(a.slice(7));
  /** ACR's challenge names the scope the call needs (the SDK asks for exactly that). */
  const challenge = (emu: VendorRegistry, req: {method: string; pathname: string}): string => {
    const repo =
      req.pathname.match(/^\/acr\/v1\/(.+?)\/_(?:manifests|tags)/)?.[1] ??
      req.pathname.match(/^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//)?.[1];
    const actions =
      req.method === 'DELETE'
        ? 'delete'
        : req.pathname.startsWith('/acr/')
          ? req.method === 'PATCH'
            ? 'metadata_write'
            : 'metadata_read'
          : ['GET', 'HEAD'].includes(req.method)
            ? 'pull'
            : 'pull,push';
    return `Bearer realm="${emu.url}/oauth2/token",service="${emu.host}"${repo ? `,scope="repository:${repo}:${actions}"` : ''}`;
  };
  return startVendorRegistry({
    tls,
    decodePath: true,
    relativeLocation: true,
    registryAuth: a => a === push || bearerOk(a),
    challenge,
    api: (c: ApiContext, emu: VendorRegistry) => {
      const p = c.url.pathname;
      const reply = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
        emu.violations.push(...spec.check(c.method, p, status, body));
        c.answer(status, body, headers);
      };
      if (!spec.route(c.method, p)) return false;
      const form = new URLSearchParams(c.body.toString('utf8'));
      if (p === '/oauth2/exchange' && c.method === 'POST') {
        if (
          form.get('grant_type') !== 'access_token' ||
          form.get('access_token') !== AAD_TOKEN ||
          form.get('service') !== emu.host
        )
          return (reply(401, {errors: [{code: 'UNAUTHORIZED'}]}), true);
        const t = jwt();
        refresh.add(t);
        return (reply(200, {refresh_token: t}), true);
      }
      if (p === '/oauth2/token' && c.method === 'POST') {
        if (form.get('grant_type') !== 'refresh_token' || !refresh.has(form.get('refresh_token') ?? ''))
          return (reply(401, {errors: [{code: 'UNAUTHORIZED'}]}), true);
        const t = jwt();
        access.add(t);
        return (reply(200, {access_token: t}), true);
      }
      if (p === '/oauth2/token' && c.method === 'GET') {
        // A login's username and password (the admin user, a token): how docker and the tests push.
        if (c.headers.authorization !== push) return (reply(401, {errors: [{code: 'UNAUTHORIZED'}]}), true);
        const t = jwt();
        access.add(t);
        return (reply(200, {access_token: t}), true);
      }
      if (!bearerOk(c.headers.authorization)) {
        c.answer(
          401,
          {errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]},
          {'www-authenticate': challenge(emu, {method: c.method, pathname: p})}
        );
        return true;
      }
      if (!c.url.searchParams.get('api-version')) {
        emu.violations.push(`${c.method} ${p}: the required api-version query parameter is missing`);
      }
      const error = (status: number, code: string, message: string): void =>
        reply(status, {error: {code, message}}, {'x-ms-error-code': code});
      const view = (m: RecordedManifest): Record<string, unknown> => {
        const body = JSON.parse(m.body.toString('utf8')) as {
          manifests?: Array<{digest: string; platform?: {os?: string; architecture?: string}}>;
          config?: {mediaType?: string};
        };
        const at = new Date(m.pushedAt).toISOString();
        return {
          digest: m.digest,
          imageSize: m.body.length,
          createdTime: at,
          lastUpdateTime: at,
          ...(isIndex(m.mediaType)
            ? {
                references: (body.manifests ?? []).map(d => ({
                  digest: d.digest,
                  ...(d.platform?.architecture && d.platform.architecture !== 'unknown'
                    ? {architecture: d.platform.architecture}
                    : {}),
                  ...(d.platform?.os && d.platform.os !== 'unknown' ? {os: d.platform.os} : {})
                }))
              }
            : {}),
          ...(body.config?.mediaType ? {configMediaType: body.config.mediaType} : {}),
          ...(m.tags.length ? {tags: [...m.tags]} : {}),
          changeableAttributes: {deleteEnabled: true, writeEnabled: true, listEnabled: true, readEnabled: true}
        };
      };
      let m = p.match(/^\/acr\/v1\/(.+)\/_manifests$/);
      if (m && c.method === 'GET') {
        const repo = m[1];
        if (!emu.repositories().includes(repo))
          return (error(404, 'NAME_UNKNOWN', 'repository name not known to registry'), true);
        const n = Math.min(Number(c.url.searchParams.get('n') ?? 100), emu.maxPage);
        const last = c.url.searchParams.get('last');
        // Ordered by digest (lexically after `last`), as the service pages them.
        const all = emu.active(repo).sort((a, b) => a.digest.localeCompare(b.digest));
        const rest = last ? all.filter(x => x.digest > last) : all;
        const items = rest.slice(0, n);
        const more = rest.length > n;
        const link = more
          ? `/acr/v1/${repo}/_manifests?last=${encodeURIComponent(items[items.length - 1].digest)}&n=${n}&api-version=2021-07-01`
          : undefined;
        return (
          reply(
            200,
            // The next page in the Link header, as the service sends it (Azure's SDK reads it from there).
            {registry: emu.host, imageName: repo, manifests: items.map(view)},
            link ? {link: `<${link}>; rel="next"`} : {}
          ),
          true
        );
      }
      m = p.match(/^\/acr\/v1\/(.+)\/_manifests\/(sha256:[a-f0-9]{64})$/);
      if (m && c.method === 'GET') {
        const found = emu.find(m[1], m[2]);
        if (!found) return (error(404, 'MANIFEST_UNKNOWN', 'manifest unknown'), true);
        return (reply(200, {registry: emu.host, imageName: m[1], manifest: view(found)}), true);
      }
      m = p.match(/^\/acr\/v1\/(.+)\/_tags\/([^/]+)$/);
      if (m && (c.method === 'GET' || c.method === 'PATCH')) {
        const repo = m[1];
        const tag = decodeURIComponent(m[2]);
        const held = emu.active(repo).find(x => x.tags.includes(tag));
        if (!held) return (error(404, 'TAG_UNKNOWN', 'tag unknown'), true);
        if (c.method === 'PATCH') {
          // TagWriteableProperties: the four booleans, each optional; anything else is not an attribute.
          const body = JSON.parse(c.body.toString('utf8') || '{}') as Record<string, unknown>;
          const known = ['deleteEnabled', 'writeEnabled', 'listEnabled', 'readEnabled'];
          const bad = Object.entries(body).find(([k, v]) => !known.includes(k) || typeof v !== 'boolean');
          if (bad) return (error(400, 'BAD_REQUEST', `invalid attribute ${bad[0]}`), true);
          tagAttributes.set(`${repo}:${tag}`, {
            ...tagAttributes.get(`${repo}:${tag}`),
            ...(body as Record<string, boolean>)
          });
        }
        const at = new Date(held.pushedAt).toISOString();
        return (
          reply(200, {
            registry: emu.host,
            imageName: repo,
            tag: {
              name: tag,
              digest: held.digest,
              createdTime: at,
              lastUpdateTime: at,
              signed: false,
              changeableAttributes: attributesOf(repo, tag)
            }
          }),
          true
        );
      }
      if (m && c.method === 'DELETE') {
        const ok = emu.deleteTag(m[1], decodeURIComponent(m[2]));
        return (reply(ok ? 202 : 404, undefined), true);
      }
      emu.violations.push(`ACR ${c.method} ${p}${c.url.search}: documented, but not emulated`);
      return (error(400, 'UNSUPPORTED', 'not emulated'), true);
    }
  });
}
