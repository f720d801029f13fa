import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import {githubApiDescription} from './openapi.js';
import {Registry, startRegistry} from './registry.js';
import {relay} from './vendor-registry.js';

/**
 * A local GHCR: the GitHub Packages REST API (users and orgs, versions with Link pagination, get,
 * delete, restore, rate-limit headers, GitHub's 400 refusals, injected 429 and secondary-limit 403s),
 * ghcr.io's /token endpoint, and a registry API served by a real docker-registry behind it. Every
 * manifest pushed through it becomes a package version, as GHCR does, with ids and timestamps the test
 * controls; pushing a tag moves it from the version that had it.
 *
 * The API side serves only routes of GitHub's published REST API description (npm @octokit/openapi),
 * builds its objects from that description's examples, and checks every answer against the schema
 * documented for the route and status; whatever does not fit is recorded in `violations`, which the
 * tests assert empty. GitHub's two documented-elsewhere 400 refusals on DELETE are the only exceptions.
 */

export const GH_TOKEN = 'ghp_emulatortoken0123456789';

export interface EmuVersion {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
  tags: string[];
  deleted: boolean;
  downloads: number;
  body: Buffer;
  mediaType: string;
  repo: string;
}

export interface Fault {
  method?: string;
  path: RegExp;
  /** Matched against the query string too, when given (page=2). */
  query?: RegExp;
  status: number;
  headers?: Record<string, string>;
  message?: string;
  /** How many requests it applies to. */
  times: number;
}

export interface ApiCall {
  method: string;
  path: string;
  status: number;
}

export interface GhcrEmulator {
  url: string;
  apiUrl: string;
  host: string;
  registry: Registry;
  /** Controlled clock (ms) for version timestamps; each push advances it by a second. */
  now: number;
  orgs: Set<string>;
  versions: Map<string, EmuVersion[]>;
  calls: ApiCall[];
  registryCalls: number;
  faults: Fault[];
  openPulls: number[];
  /** Closed pull requests opened from a branch of the repository itself. */
  closedPulls: Array<{number: number; head: string}>;
  /**
   * GitHub's attestation store: bundles posted to POST /repos/{owner}/{repo}/attestations, by the
   * subject digests of their in-toto statement (what GET …/attestations/{subject_digest} finds).
   */
  attestations: Array<{
    id: number;
    repository: string;
    bundle: Record<string, unknown>;
    subjects: string[];
    predicateType?: string;
  }>;
  /** Answer 403 to attestation writes (the job lacks attestations: write). */
  attestationsForbidden: boolean;
  branches: string[];
  /** Refuse package listing as GITHUB_TOKEN does. */
  listingForbidden: boolean;
  /** Caps per_page below GitHub's 100, to paginate small packages. */
  maxPerPage: number;
  /**
   * The primary rate limit: requests left this hour (each API request spends one). At 0 GitHub
   * answers 403 with x-ratelimit-remaining 0 and the reset time, as its REST documentation says.
   */
  rateRemaining: number;
  /** Answers that GitHub's API description does not allow (route, status or body): must stay empty. */
  violations: string[];
  /** Runs before each API or registry request is answered (not token requests): concurrent activity in a test. */
  onRequest?: (r: {method: string; url: URL; headers: http.IncomingHttpHeaders; body: Buffer}) => Promise<void> | void;
  active(pkgKey: string): EmuVersion[];
  stop(): Promise<void>;
}

const key = (owner: string, pkg: string): string => `${owner}/${pkg}`.toLowerCase();

export async function startGhcr(): Promise<GhcrEmulator | undefined> {
  const registry = await startRegistry('none');
  if (!registry) return undefined;
  const tokens = new Set<string>();
  let nextId = 1000;
  const byDigest = new Map<string, EmuVersion>();
  const tagHolder = new Map<string, EmuVersion>();

  const emu: GhcrEmulator = {
    url: '',
    apiUrl: '',
    host: '',
    registry,
    now: Date.parse('2026-01-01T00:00:00Z'),
    orgs: new Set(),
    versions: new Map(),
    calls: [],
    registryCalls: 0,
    faults: [],
    openPulls: [],
    closedPulls: [],
    attestations: [],
    attestationsForbidden: false,
    branches: [],
    listingForbidden: false,
    maxPerPage: 100,
    rateRemaining: 5000,
    violations: [],
    active: k => (emu.versions.get(k) ?? []).filter(v => !v.deleted),
    stop: async () => {
      await new Promise<void>(r => server.close(() => r()));
      await registry.stop();
    }
  };

  const json = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {}
  ): void => {
    res.writeHead(status, {'content-type': 'application/json', ...headers});
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const readBody = async (req: http.IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  const recordPush = (repo: string, ref: string, digest: string, body: Buffer, mediaType: string): void => {
    const parts = repo.split('/');
    const k = key(parts[0], parts.slice(1).join('/'));
    const list = emu.versions.get(k) ?? [];
    emu.versions.set(k, list);
    const isTag = !ref.startsWith('sha256:');
    if (isTag) {
      const holder = tagHolder.get(`${repo}:${ref}`);
      if (holder) holder.tags = holder.tags.filter(t => t !== ref);
    }
    let v = byDigest.get(`${repo}@${digest}`);
    if (v?.deleted) v = undefined;
    if (!v) {
      const at = new Date(emu.now).toISOString();
      emu.now += 1000;
      v = {
        id: nextId++,
        name: digest,
        created_at: at,
        updated_at: at,
        tags: [],
        deleted: false,
        downloads: 0,
        body,
        mediaType,
        repo
      };
      list.push(v);
      byDigest.set(`${repo}@${digest}`, v);
    }
    if (isTag && !v.tags.includes(ref)) {
      v.tags.push(ref);
      tagHolder.set(`${repo}:${ref}`, v);
    }
  };

  const handleRegistry = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    emu.registryCalls++;
    const auth = req.headers.authorization ?? '';
    const m = (req.url ?? '').match(/^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*?)(\?.*)?$/);
    if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) {
      const scope = m ? `repository:${m[1]}:pull,push` : '';
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="${emu.url}/token",service="ghcr-emulator"${scope ? `,scope="${scope}"` : ''}`,
        'content-type': 'application/json'
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const body = await readBody(req);
    const {up, headers} = await relay(registry.url, req, req.url ?? '/', body, v => v.replace(registry.url, emu.url));
    const out = Buffer.from(await up.arrayBuffer());
    if (m && m[2] === 'manifests' && req.method === 'PUT' && up.status === 201) {
      const digest = up.headers.get('docker-content-digest') as string;
      recordPush(m[1], decodeURIComponent(m[3]), digest, body, req.headers['content-type'] ?? '');
    }
    if (m && m[2] === 'manifests' && req.method === 'GET' && up.status === 200) {
      const v = byDigest.get(`${m[1]}@${up.headers.get('docker-content-digest')}`);
      if (v && !v.deleted) v.downloads++;
    }
    res.writeHead(up.status, headers);
    res.end(req.method === 'HEAD' ? undefined : out);
  };

  const handleToken = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const auth = req.headers.authorization ?? '';
    const [, password] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
      .toString('utf8')
      .split(':');
    if (!auth.startsWith('Basic ') || password !== GH_TOKEN) {
      json(res, 401, {errors: [{code: 'UNAUTHORIZED', message: 'bad credentials'}]});
      return;
    }
    const t = crypto.randomBytes(16).toString('hex');
    tokens.add(t);
    json(res, 200, {token: t, expires_in: 300});
  };

  const api = githubApiDescription();
  const user = (login: string, org: boolean): Record<string, unknown> => ({
    ...api.example<Record<string, unknown>>('public-user-default-response'),
    login,
    id: 1000 + login.length,
    type: org ? 'Organization' : 'User',
    url: `${emu.apiUrl}/users/${login}`
  });
  const pkgView = (owner: string, name: string): unknown => {
    const base = api.example<Array<Record<string, unknown>>>('packages-for-org')[0];
    return {
      ...base,
      name,
      package_type: 'container',
      owner: user(owner, emu.orgs.has(owner)),
      url: `${emu.apiUrl}/orgs/${owner}/packages/container/${encodeURIComponent(name)}`,
      html_url: `${emu.url}/${owner}/packages/container/package/${encodeURIComponent(name)}`
    };
  };
  const pullView = (full: string, n: number, state: string, head: string): unknown => {
    const base = api.example<Array<Record<string, unknown>>>('pull-request-simple-items')[0] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const [owner, name] = full.split('/');
    const repo = {...base.head.repo, full_name: full, name, owner: {...base.head.repo.owner, login: owner}};
    return {
      ...base,
      number: n,
      state,
      title: `change ${n}`,
      url: `${emu.apiUrl}/repos/${full}/pulls/${n}`,
      closed_at: state === 'closed' ? new Date(emu.now).toISOString() : null,
      merged_at: null,
      // GitHub's own example lists a team without its required type: not copied.
      requested_teams: [],
      head: {...base.head, ref: head, label: `${owner}:${head}`, repo},
      base: {...base.base, ref: 'main', label: `${owner}:main`, repo}
    };
  };
  const branchView = (name: string): unknown => {
    const base = api.example<Array<Record<string, unknown>>>('short-branch-with-protection-items')[0];
    // The example's protection block lacks a field its schema requires: left out (it is optional).
    return {name, commit: base.commit, protected: false};
  };

  /**
   * The listing of attestations of a digest (repository or organisation), filtered by predicate_type as
   * GitHub does; each was posted through the API by a workflow, so its initiator is "user".
   */
  const attestationsOf = (
    where: (a: GhcrEmulator['attestations'][number]) => boolean,
    digest: string,
    url?: URL
  ): unknown => {
    // predicate_type: provenance, sbom and release name families of types; anything else is a type itself.
    const type = url?.searchParams.get('predicate_type');
    const families: Record<string, RegExp> = {
      provenance: /^https:\/\/slsa\.dev\/provenance\//,
      sbom: /^https:\/\/(spdx\.dev\/Document|cyclonedx\.org\/bom)/,
      release: /^https:\/\/in-toto\.io\/attestation\/release\//
    };
    const matches = (t = ''): boolean => !type || (families[type] ? families[type].test(t) : t === type);
    return {
      attestations: emu.attestations
        .filter(a => where(a) && a.subjects.includes(digest) && matches(a.predicateType))
        .map(a => ({bundle: a.bundle, repository_id: 1296269, initiator: 'user'}))
    };
  };

  const handleApi = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', emu.url);
    const path = url.pathname.replace(/^\/api/, '');
    const method = req.method ?? 'GET';
    const exhausted = emu.rateRemaining <= 0;
    emu.rateRemaining = Math.max(0, emu.rateRemaining - 1);
    const rl = {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(emu.rateRemaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': String(5000 - emu.rateRemaining)
    };
    /** Every answer goes through here: recorded, and checked against GitHub's API description. */
    const answer = (s: number, body: unknown, headers: Record<string, string> = {}, exception?: string): void => {
      emu.calls.push({method, path: `${path}${url.search}`, status: s});
      const problems = api.check(method, path, s, body, exception);
      emu.violations.push(...problems);
      if (body === undefined) {
        res.writeHead(s, {...rl, ...headers});
        res.end();
      } else json(res, s, body, {...rl, ...headers});
    };
    const basicError = (message: string): unknown => ({
      message,
      documentation_url: 'https://docs.github.com/rest'
    });
    if (exhausted) {
      answer(403, basicError('API rate limit exceeded for installation.'), {}, 'primary rate limit');
      return;
    }
    if (req.headers.authorization !== `token ${GH_TOKEN}` && req.headers.authorization !== `Bearer ${GH_TOKEN}`) {
      answer(401, basicError('Bad credentials'));
      return;
    }
    const fault = emu.faults.find(
      f =>
        f.times > 0 && (!f.method || f.method === method) && f.path.test(path) && (!f.query || f.query.test(url.search))
    );
    if (fault) {
      fault.times--;
      answer(fault.status, basicError(fault.message ?? 'fault'), fault.headers);
      return;
    }
    let m = path.match(/^\/users\/([^/]+)$/);
    if (m) {
      answer(200, user(m[1], emu.orgs.has(m[1])));
      return;
    }
    m = path.match(/^\/(users|orgs)\/([^/]+)\/packages$/);
    if (m) {
      if (emu.listingForbidden) {
        answer(403, basicError('Resource not accessible by integration'));
        return;
      }
      const owner = m[2].toLowerCase();
      const names = [...emu.versions.keys()].filter(k => k.startsWith(`${owner}/`)).map(k => k.slice(owner.length + 1));
      answer(
        200,
        names.map(n => pkgView(m?.[2] as string, n))
      );
      return;
    }
    m = path.match(/^\/repos\/([^/]+)\/([^/]+)\/attestations(?:\/([^/]+))?$/);
    if (m) {
      const repository = `${m[1]}/${m[2]}`.toLowerCase();
      if (method === 'POST' && !m[3]) {
        if (emu.attestationsForbidden) {
          answer(403, basicError('Resource not accessible by integration'));
          return;
        }
        const parsed = JSON.parse((await readBody(req)).toString('utf8') || '{}') as {bundle?: Record<string, unknown>};
        const envelope = parsed.bundle?.dsseEnvelope as {payload?: string} | undefined;
        if (!parsed.bundle || !envelope?.payload) {
          answer(422, basicError('Invalid bundle'));
          return;
        }
        const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
          subject?: Array<{digest?: Record<string, string>}>;
          predicateType?: string;
        };
        const subjects = (statement.subject ?? []).flatMap(x =>
          Object.entries(x.digest ?? {}).map(([a, h]) => `${a}:${h}`)
        );
        const id = emu.attestations.length + 1;
        emu.attestations.push({
          id,
          repository,
          bundle: parsed.bundle,
          subjects,
          predicateType: statement.predicateType
        });
        answer(201, {id});
        return;
      }
      if (method === 'GET' && m[3]) {
        answer(
          200,
          attestationsOf(a => a.repository === repository, decodeURIComponent(m[3]), url)
        );
        return;
      }
    }
    // What gh attestation verify --owner asks: an organisation's attestations of a digest.
    m = path.match(/^\/orgs\/([^/]+)\/attestations\/([^/]+)$/);
    if (m && method === 'GET') {
      const org = m[1].toLowerCase();
      answer(
        200,
        attestationsOf(a => a.repository.split('/')[0] === org, decodeURIComponent(m[2]), url)
      );
      return;
    }
    m = path.match(/^\/repos\/([^/]+)\/([^/]+)\/(pulls|branches)$/);
    if (m) {
      // GitHub's pulls listing honours state (open by default, closed, all); head.repo is the repository
      // the branch lives in.
      const state = url.searchParams.get('state') ?? 'open';
      const full = `${m[1]}/${m[2]}`;
      const pulls = [
        ...(state === 'closed' ? [] : emu.openPulls.map(n => pullView(full, n, 'open', `pr-branch-${n}`))),
        ...(state === 'open' ? [] : emu.closedPulls.map(p => pullView(full, p.number, 'closed', p.head)))
      ];
      answer(200, m[3] === 'pulls' ? pulls : emu.branches.map(branchView));
      return;
    }
    m = path.match(/^\/(users|orgs)\/([^/]+)\/packages\/container\/([^/]+)\/versions(?:\/(\d+)(\/restore)?)?$/);
    if (!m) {
      answer(404, basicError('Not Found'));
      return;
    }
    const [, kind, owner, rawPkg, id, restore] = m;
    if ((kind === 'orgs') !== emu.orgs.has(owner)) {
      answer(404, basicError('Not Found'));
      return;
    }
    const k = key(owner, decodeURIComponent(rawPkg));
    const all = emu.versions.get(k);
    if (!all) {
      answer(404, basicError('Package not found.'));
      return;
    }
    const view = (v: EmuVersion): unknown => ({
      ...api.example<Array<Record<string, unknown>>>('package-versions-for-org')[0],
      id: v.id,
      name: v.name,
      url: `${emu.apiUrl}/${kind}/${owner}/packages/container/${rawPkg}/versions/${v.id}`,
      package_html_url: `${emu.url}/${owner}/packages/container/package/${rawPkg}`,
      html_url: `${emu.url}/${owner}/packages/container/${rawPkg}/${v.id}`,
      created_at: v.created_at,
      updated_at: v.updated_at,
      metadata: {package_type: 'container', container: {tags: v.tags}}
    });
    if (!id && method === 'GET') {
      const perPage = Math.min(emu.maxPerPage, Number(url.searchParams.get('per_page') ?? 30));
      const page = Number(url.searchParams.get('page') ?? 1);
      const wanted = url.searchParams.get('state') === 'deleted';
      const list = all
        .filter(v => v.deleted === wanted)
        .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
      const last = Math.max(1, Math.ceil(list.length / perPage));
      const link = (p: number, rel: string): string => {
        const u = new URL(`${emu.apiUrl}${path}`);
        url.searchParams.forEach((v, n) => u.searchParams.set(n, v));
        u.searchParams.set('page', String(p));
        return `<${u}>; rel="${rel}"`;
      };
      const links = [
        ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
        ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : [])
      ];
      answer(
        200,
        list.slice((page - 1) * perPage, page * perPage).map(view),
        links.length ? {link: links.join(', ')} : {}
      );
      return;
    }
    const v = all.find(x => x.id === Number(id));
    if (!v || (v.deleted && !restore)) {
      answer(404, basicError('Package version not found.'));
      return;
    }
    if (method === 'GET') {
      answer(200, view(v));
      return;
    }
    if (method === 'DELETE') {
      // GitHub's two refusals (docs: "Delete a package version"), absent from the API description.
      const refusal = 'a refusal GitHub documents in prose, not in its API description';
      if (v.downloads > 5000) {
        answer(
          400,
          basicError('Publicly visible package versions with more than 5000 downloads cannot be deleted.'),
          {},
          refusal
        );
        return;
      }
      if (v.tags.length && all.filter(x => !x.deleted && x.tags.length).length === 1) {
        answer(
          400,
          basicError('You cannot delete the last tagged version of a package. You must delete the package instead.'),
          {},
          refusal
        );
        return;
      }
      const del = await fetch(`${registry.url}/v2/${v.repo}/manifests/${v.name}`, {method: 'DELETE'});
      await del.body?.cancel();
      v.deleted = true;
      answer(204, undefined);
      return;
    }
    if (method === 'POST' && restore) {
      const put = await fetch(`${registry.url}/v2/${v.repo}/manifests/${v.tags[0] ?? v.name}`, {
        method: 'PUT',
        headers: {'content-type': v.mediaType},
        body: v.body
      });
      await put.body?.cancel();
      v.deleted = false;
      answer(204, undefined);
      return;
    }
    answer(404, basicError('Not Found'));
  };

  const server = http.createServer((req, res) => {
    const hook = async (): Promise<void> => {
      if (!emu.onRequest || (req.url ?? '').startsWith('/token')) return;
      const url = new URL(req.url ?? '/', emu.url);
      await emu.onRequest({method: req.method ?? 'GET', url, headers: req.headers, body: Buffer.alloc(0)});
    };
    const route = hook().then(() =>
      (req.url ?? '').startsWith('/v2/')
        ? handleRegistry(req, res)
        : (req.url ?? '').startsWith('/token')
          ? handleToken(req, res)
          : handleApi(req, res)
    );
    route.catch(err => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  emu.host = `127.0.0.1:${port}`;
  emu.url = `http://${emu.host}`;
  emu.apiUrl = `${emu.url}/api`;
  return emu;
}
