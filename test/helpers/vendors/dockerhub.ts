import crypto from 'node:crypto';
import {isIndex} from '../../../src/shared/registry/media.js';
import {ApiContext, RecordedManifest, VendorRegistry, startVendorRegistry} from '../vendor-registry.js';
import {VendorApiDescription} from '../vendor-spec.js';

/**
 * Docker Hub, as the cleanup backend meets it: the Hub API's token (POST /v2/auth/token), tag list
 * (with the digest each tag points at, which the service sends beside the documented fields) and tag
 * delete (`DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/`: used by every cleanup script,
 * left out of the published description, the one exception allowed here), and Hub's own removal of a
 * manifest that lost its last tag, with the platform manifests and referrers only it held. Answers are
 * checked against test/fixtures/vendor-specs/docker-hub/latest.yaml; `images` is sent as the one object the
 * description declares (the service sends a list; the backend reads both).
 */

export const HUB_USER = 'acmebot';
export const HUB_PAT = 'dckr_pat_emulator0123456789';
const DELETE_TAG = 'DELETE /v2/repositories/{namespace}/{repository}/tags/{tag}/';

interface Parsed {
  manifests?: Array<{digest: string; platform?: {os?: string; architecture?: string}}>;
  subject?: {digest: string};
}
const parse = (m: RecordedManifest): Parsed => JSON.parse(m.body.toString('utf8')) as Parsed;

/** A tag as Hub's API describes it (the digest beside the description's fields, as the service sends). */
function tagObject(t: string, x: RecordedManifest, id: number): unknown {
  const at = new Date(x.pushedAt).toISOString();
  const first = isIndex(x.mediaType) ? (parse(x).manifests ?? [])[0] : undefined;
  return {
    id,
    images: {
      architecture: first?.platform?.architecture ?? 'amd64',
      os: first?.platform?.os ?? 'linux',
      digest: first?.digest ?? x.digest,
      size: x.body.length,
      status: 'active',
      last_pulled: null,
      last_pushed: at
    },
    creator: 1,
    last_updated: at,
    last_updater: 1,
    last_updater_username: HUB_USER,
    name: t,
    repository: 1,
    full_size: x.body.length,
    v2: 'true',
    status: 'active',
    tag_last_pulled: null,
    tag_last_pushed: at,
    digest: x.digest
  };
}

export async function startDockerHub(): Promise<VendorRegistry | undefined> {
  const spec = new VendorApiDescription('docker-hub/latest.yaml', {exceptions: [DELETE_TAG]});
  const jwts = new Set<string>();
  const basic = `Basic ${Buffer.from(`${HUB_USER}:${HUB_PAT}`).toString('base64')}`;

  /** Hub removes a manifest with no tag left, and what only it listed or described. */
  const collect = async (emu: VendorRegistry, repo: string, digest: string): Promise<void> => {
    const m = emu.find(repo, digest);
    if (!m || m.tags.length) return;
    await emu.deleteManifest(repo, digest);
    for (const d of parse(m).manifests ?? []) {
      const held = emu
        .active(repo)
        .some(x => isIndex(x.mediaType) && (parse(x).manifests ?? []).some(y => y.digest === d.digest));
      if (!held) await collect(emu, repo, d.digest);
    }
    for (const r of emu.active(repo).filter(x => parse(x).subject?.digest === digest))
      await collect(emu, repo, r.digest);
  };

  return startVendorRegistry({
    registryAuth: a => a === basic,
    challenge: () => 'Basic realm="hub-emulator"',
    api: async (c: ApiContext, emu: VendorRegistry) => {
      const p = c.url.pathname;
      if (!spec.route(c.method, p)) return false;
      const reply = (status: number, body?: unknown): void => {
        emu.violations.push(...spec.check(c.method, p, status, body));
        const remaining = String(Math.max(0, 180 - emu.calls.length));
        c.answer(status, body, {
          'x-ratelimit-limit': '180',
          'x-ratelimit-remaining': remaining,
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60)
        });
      };
      if (p === '/v2/auth/token' && c.method === 'POST') {
        const b = JSON.parse(c.body.toString('utf8') || '{}') as {identifier?: string; secret?: string};
        if (b.identifier !== HUB_USER || b.secret !== HUB_PAT)
          return (
            reply(401, {
              detail: 'Incorrect authentication credentials',
              message: 'Incorrect authentication credentials'
            }),
            true
          );
        const t = `eyJ${crypto.randomBytes(16).toString('hex')}`;
        jwts.add(t);
        return (reply(200, {access_token: t}), true);
      }
      const auth = c.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || !jwts.has(auth.slice(7)))
        return (reply(403, {detail: 'forbidden', message: 'forbidden'}), true);
      let m = p.match(/^\/v2\/namespaces\/([^/]+)\/repositories\/([^/]+)\/tags$/);
      if (m && c.method === 'GET') {
        const repo = `${m[1]}/${m[2]}`;
        if (!emu.repositories().includes(repo)) return (reply(404, {message: 'object not found', errinfo: {}}), true);
        const size = Math.min(Number(c.url.searchParams.get('page_size') ?? 10), 100, emu.maxPage);
        const page = Number(c.url.searchParams.get('page') ?? 1);
        // Newest push first, as Hub lists them.
        const tags = emu
          .active(repo)
          .flatMap(x => x.tags.map(t => ({t, x})))
          .sort((a, b) => b.x.pushedAt - a.x.pushedAt || a.t.localeCompare(b.t));
        const items = tags.slice((page - 1) * size, page * size);
        const next = page * size < tags.length ? `${emu.url}${p}?page=${page + 1}&page_size=${size}` : null;
        const prev = page > 1 ? `${emu.url}${p}?page=${page - 1}&page_size=${size}` : null;
        return (
          reply(200, {
            count: tags.length,
            next,
            previous: prev,
            results: items.map(({t, x}, i) => tagObject(t, x, (page - 1) * size + i + 1))
          }),
          true
        );
      }
      m = p.match(/^\/v2\/namespaces\/([^/]+)\/repositories\/([^/]+)\/tags\/([^/]+)$/);
      if (m && c.method === 'GET') {
        const tag = decodeURIComponent(m[3]);
        const held = emu.active(`${m[1]}/${m[2]}`).find(x => x.tags.includes(tag));
        if (!held) return (reply(404, {message: 'object not found', errinfo: {}}), true);
        return (reply(200, tagObject(tag, held, 1)), true);
      }
      m = p.match(/^\/v2\/repositories\/([^/]+)\/([^/]+)\/tags\/([^/]+)\/$/);
      if (m && c.method === 'DELETE') {
        const repo = `${m[1]}/${m[2]}`;
        const tag = decodeURIComponent(m[3]);
        const held = emu.active(repo).find(x => x.tags.includes(tag));
        if (!held) return (reply(404, {message: 'tag not found'}), true);
        emu.deleteTag(repo, tag);
        await collect(emu, repo, held.digest);
        return (reply(204, undefined), true);
      }
      return false;
    }
  });
}
