import crypto from 'node:crypto';
import {ProtoDescription} from '../proto-spec.js';
import {ApiContext, RecordedManifest, VendorRegistry, startVendorRegistry} from '../vendor-registry.js';

/**
 * Google Artifact Registry, as the cleanup backend meets it: the REST API's docker images, versions and
 * tags (ListDockerImages, GetVersion, DeleteVersion with force, DeleteTag) answered from what was
 * pushed, and the registry with the access token as the password of oauth2accesstoken. Routes and
 * answers are checked against the protos (test/fixtures/vendor-specs/google-artifact-registry): the
 * google.api.http rules of service.proto and the messages in their JSON form.
 */

export const GAR_TOKEN = 'ya29.emulator-access-token';

export async function startGar(): Promise<VendorRegistry | undefined> {
  const spec = new ProtoDescription('google-artifact-registry', [
    'service.proto',
    'artifact.proto',
    'version.proto',
    'tag.proto',
    'package.proto',
    'repository.proto'
  ]);
  const basic = `Basic ${Buffer.from(`oauth2accesstoken:${GAR_TOKEN}`).toString('base64')}`;
  return startVendorRegistry({
    registryAuth: a => a === basic,
    challenge: () => 'Basic realm="gar-emulator"',
    api: (c: ApiContext, emu: VendorRegistry) => {
      const p = c.url.pathname;
      if (!p.startsWith('/v1/')) return false;
      const route = spec.route(c.method, p);
      const reply = (status: number, body?: unknown): void => {
        if (status === 200 && route) emu.violations.push(...spec.check(route.output, body, `${route.rpc} response`));
        c.answer(status, body);
      };
      const error = (code: number, status: string, message: string): void =>
        reply(code, {error: {code, message, status}});
      if (!route) return false;
      if (c.headers.authorization !== `Bearer ${GAR_TOKEN}`)
        return (error(401, 'UNAUTHENTICATED', 'no valid access token'), true);
      let m = p.match(/^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)\/dockerImages$/);
      if (m && c.method === 'GET') {
        const [, project, location, repo] = m;
        const parent = `projects/${project}/locations/${location}/repositories/${repo}`;
        const all = emu
          .repositories()
          .filter(r => r.startsWith(`${project}/${repo}/`))
          .flatMap(r => emu.active(r));
        const size = Math.min(Number(c.url.searchParams.get('pageSize') ?? 100), 1000, emu.maxPage);
        const start = Number(c.url.searchParams.get('pageToken') || 0);
        const items = all.slice(start, start + size);
        const image = (x: RecordedManifest): unknown => {
          const path = x.repo.slice(project.length + repo.length + 2);
          return {
            name: `${parent}/dockerImages/${encodeURIComponent(path)}@${x.digest}`,
            uri: `${emu.host}/${x.repo}@${x.digest}`,
            ...(x.tags.length ? {tags: [...x.tags]} : {}),
            imageSizeBytes: String(x.body.length),
            uploadTime: new Date(x.pushedAt).toISOString(),
            mediaType: x.mediaType,
            updateTime: new Date(x.pushedAt).toISOString()
          };
        };
        return (
          reply(200, {
            dockerImages: items.map(image),
            ...(start + size < all.length ? {nextPageToken: String(start + size)} : {})
          }),
          true
        );
      }
      m = p.match(
        /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)\/packages\/([^/]+)\/(versions|tags)\/([^/]+)$/
      );
      if (!m) return (error(400, 'INVALID_ARGUMENT', 'not emulated'), true);
      const [, project, location, repo, pkg, kind, id] = m;
      const repoPath = `${project}/${repo}/${decodeURIComponent(pkg)}`;
      const base = `projects/${project}/locations/${location}/repositories/${repo}/packages/${pkg}`;
      if (kind === 'tags' && c.method === 'GET') {
        const held = emu.active(repoPath).find(x => x.tags.includes(decodeURIComponent(id)));
        if (!held) return (error(404, 'NOT_FOUND', 'tag not found'), true);
        return (reply(200, {name: `${base}/tags/${id}`, version: `${base}/versions/${held.digest}`}), true);
      }
      if (kind === 'tags' && c.method === 'DELETE') {
        if (!emu.deleteTag(repoPath, decodeURIComponent(id))) return (error(404, 'NOT_FOUND', 'tag not found'), true);
        return (reply(200, {}), true);
      }
      const found = emu.find(repoPath, decodeURIComponent(id));
      if (!found) return (error(404, 'NOT_FOUND', `version ${id} not found`), true);
      if (c.method === 'GET') {
        const name = `${base}/versions/${found.digest}`;
        return (
          reply(200, {
            name,
            createTime: new Date(found.pushedAt).toISOString(),
            updateTime: new Date(found.pushedAt).toISOString(),
            relatedTags: found.tags.map(t => ({name: `${base}/tags/${t}`, version: name}))
          }),
          true
        );
      }
      if (c.method === 'DELETE') {
        if (found.tags.length && c.url.searchParams.get('force') !== 'true')
          return (error(400, 'FAILED_PRECONDITION', 'a tagged version may not be deleted without force'), true);
        void emu.deleteManifest(repoPath, found.digest).then(() =>
          reply(200, {
            name: `projects/${project}/locations/${location}/operations/${crypto.randomUUID()}`,
            done: true
          })
        );
        return true;
      }
      return false;
    }
  });
}
