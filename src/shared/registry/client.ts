import {Readable} from 'node:stream';
import {UserError} from '../errors.js';
import {Logger} from '../log.js';
import {
  Challenge,
  Credential,
  TokenCache,
  basicHeader,
  fetchToken,
  mergeScopes,
  parseChallenge,
  scope
} from './auth.js';
import {chunksOf} from './chunks.js';
import {sha256} from './digest.js';
import {headRequest, httpFetch, rawBody, streamRequest} from '../http.js';
import {RegistryError, registryError} from './errors.js';
import {Limiter} from './limit.js';
import {Descriptor, MANIFEST_ACCEPT, MEDIA} from './media.js';
import {apiHost, isLoopback} from './reference.js';
import {
  DEFAULT_RETRY,
  RETRYABLE_STATUS,
  RetryPolicy,
  backoffMs,
  isRetryableError,
  retryAfterMs,
  sleep
} from './retry.js';

export interface RequestStats {
  requests: number;
  bytesSent: number;
  bytesReceived: number;
  retries: number;
  tokenRequests: number;
  /** Manifest GETs, each one pull of Docker Hub's budget (HEADs and blob GETs are not counted there). */
  manifestGets: number;
  /** Docker Hub's ratelimit-remaining, as last reported. */
  rateLimitRemaining?: string;
}

export interface ClientOptions {
  registry: string;
  /** Resolved lazily, on the first request that needs it. */
  credential: () => Promise<Credential>;
  /** Use http:// (loopback registries are http by default). */
  insecure?: boolean;
  retry?: RetryPolicy;
  /** Requests in flight to this registry at once. */
  concurrency?: number;
  log?: Logger;
  /** Token cache, shared between clients of one run. */
  tokens?: TokenCache;
  /** For tests: called before every HTTP request with its method and URL. */
  onRequest?: (method: string, url: string, headers: Record<string, string>) => void;
  /** Upload blobs in chunks of this many bytes (PATCH), for registries that refuse large requests. */
  chunkSize?: number;
}

/** What every view of one registry's client shares: the challenge, the credential, the limit, the upload mode. */
interface Session {
  limiter: Limiter;
  tokens: TokenCache;
  challenge?: Challenge;
  /** Challenges of other origins (upload locations, redirects): answered without this registry's credentials. */
  foreign: Map<string, Challenge>;
  credential?: Promise<Credential>;
  /** Chunk size for uploads: from the chunk-size option, or learned from a 413. */
  chunkSize?: number;
  /** The registry's OCI-Chunk-Min-Length, when it announced one. */
  minChunk?: number;
  /** Whole-blob uploads cut off by the other side while being sent. */
  cutOff?: number;
  /**
   * The first request to the registry, in flight: the others wait for it, so that its challenge (or
   * its absence) is learned once rather than by one 401 per concurrent request.
   */
  probing?: Promise<void>;
  probed?: boolean;
  /** The registry answered a referrers query as not implemented: later queries are not sent. */
  noReferrersApi?: boolean;
  /** Repositories this run will read: their pull scopes ride along on the next token requests. */
  pullHints?: string[];
}

/** Repositories asked for at most in one token request along with the one a request needs. */
const HINTS_PER_TOKEN = 24;

/** Chunk size chosen when a registry first refuses a whole blob in one request. */
export const DEFAULT_CHUNK = 16 * 1048576;
/** Below this, a registry that still answers 413 is refused with an error rather than trickled into. */
export const MIN_CHUNK = 256 * 1024;

type Body = Buffer | string | (() => Readable);

export interface RegistryRequest {
  method: string;
  /** Repository the path belongs to (scopes and URL). */
  repository: string;
  /** Path after /v2/<repository>/, or a full URL (upload locations). */
  path: string;
  scopes: string[];
  headers?: Record<string, string>;
  body?: Body;
  /** Statuses that are not errors (besides 2xx). */
  ok?: number[];
  /** Keep a successful body as a node stream (rawBody): blob downloads. */
  raw?: boolean;
}

export {isLoopback};

/**
 * Whether a redirect may carry the Authorization along: only to the same origin (scheme, host and
 * port); another host, another port, or https to http never sees it. Pure.
 */
export function keepsAuthorization(from: string, to: string): boolean {
  return new URL(from).origin === new URL(to, from).origin;
}

/**
 * An upload location that names the registry's own host over plain http while the registry is spoken
 * to over https (a registry behind a TLS proxy that does not know it) is taken over https, on the
 * registry's port: otherwise the upload would go out in clear, and without credentials. Pure.
 */
export function upgradeLocation(location: URL, base: URL): URL {
  if (base.protocol !== 'https:' || location.protocol !== 'http:' || location.hostname !== base.hostname)
    return location;
  return new URL(`${location.pathname}${location.search}`, base.origin);
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

/** One registry's OCI distribution API, with auth, retries, redirects and accounting. */
export class RegistryClient {
  readonly stats: RequestStats = {
    requests: 0,
    bytesSent: 0,
    bytesReceived: 0,
    retries: 0,
    tokenRequests: 0,
    manifestGets: 0
  };
  readonly base: string;
  private readonly retry: RetryPolicy;
  private readonly session: Session;

  constructor(
    readonly opts: ClientOptions,
    session?: Session,
    private readonly parent?: RegistryClient
  ) {
    const host = apiHost(opts.registry);
    const insecure = opts.insecure ?? isLoopback(host);
    this.base = `${insecure ? 'http' : 'https'}://${host}`;
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.session = session ?? {
      limiter: new Limiter(opts.concurrency ?? 8),
      tokens: opts.tokens ?? new TokenCache(),
      foreign: new Map(),
      chunkSize: opts.chunkSize
    };
  }

  /**
   * The same client (credential, tokens, request limit) counting its own requests, so that two
   * destinations in one registry each report what they cost; the counts also add up here.
   */
  view(): RegistryClient {
    return new RegistryClient(this.opts, this.session, this);
  }

  private count(
    key: 'requests' | 'bytesSent' | 'bytesReceived' | 'retries' | 'tokenRequests' | 'manifestGets',
    n = 1
  ): void {
    this.stats[key] += n;
    this.parent?.count(key, n);
  }

  private noteRateLimit(remaining: string): void {
    this.stats.rateLimitRemaining = remaining;
    this.parent?.noteRateLimit(remaining);
  }

  get registry(): string {
    return this.opts.registry;
  }

  /** Repositories the run will read from this registry: their pull scopes join the next token requests. */
  hintPull(repositories: string[]): void {
    this.session.pullHints = [...new Set([...(this.session.pullHints ?? []), ...repositories])];
  }

  private cred(): Promise<Credential> {
    this.session.credential ??= this.opts.credential();
    return this.session.credential;
  }

  private url(req: RegistryRequest): string {
    if (/^https?:\/\//.test(req.path)) return req.path;
    if (req.path.startsWith('/')) return new URL(req.path, this.base).toString();
    return `${this.base}/v2/${req.repository}/${req.path}`;
  }

  /**
   * The Authorization for a request to `origin`. This registry's credentials go only to its own origin
   * (scheme, host and port) and to the token realm its own challenge names; another origin (an upload
   * location or a Link elsewhere) is answered for its own challenge, anonymously.
   */
  private async authHeader(origin: string, scopes: string[]): Promise<string | undefined> {
    const own = origin === new URL(this.base).origin;
    const c = own ? this.session.challenge : this.session.foreign.get(origin);
    if (!c) return undefined;
    const cred: Credential = own ? await this.cred() : {kind: 'anonymous'};
    if (c.scheme === 'basic') return basicHeader(cred);
    if (c.scheme !== 'bearer') return undefined;
    if (cred.kind === 'bearer') return `Bearer ${cred.token}`;
    let wanted = mergeScopes([...scopes]);
    const key = own ? this.registry : origin;
    const cached = this.session.tokens.find(key, wanted);
    if (cached) return `Bearer ${cached}`;
    // A pull token asks for the next hinted repositories too, so reading many repositories (a mirror
    // run) costs one token request per batch rather than one per repository.
    const hints = this.session.pullHints;
    if (own && hints?.length && wanted.scopes.every(x => x.endsWith(':pull'))) {
      wanted = mergeScopes([...wanted.scopes, ...hints.splice(0, HINTS_PER_TOKEN).map(r => scope(r, ['pull']))]);
    }
    this.count('tokenRequests');
    const token = await fetchToken(
      c,
      wanted.scopes,
      cred,
      (u, init) => this.send(init.method ?? 'GET', u, init),
      this.registry,
      this.opts.insecure === true
    );
    this.session.tokens.set(`${key} ${wanted.key}`, token);
    return `Bearer ${token.token}`;
  }

  /** One HTTP exchange with manual redirects: Authorization never follows to another origin. */
  private async send(method: string, url: string, init: RequestInit, raw = false): Promise<Response> {
    let current = url;
    let headers = {...(init.headers as Record<string, string>)};
    for (let hop = 0; hop < 6; hop++) {
      this.count('requests');
      this.opts.onRequest?.(method, current, headers);
      const res =
        init.body instanceof Readable || raw
          ? await streamRequest(method, current, headers, init.body as Readable | undefined, raw)
          : method === 'HEAD'
            ? await headRequest(current, headers)
            : await httpFetch(current, {...init, method, headers, redirect: 'manual'} as RequestInit);
      const remaining = res.headers.get('ratelimit-remaining');
      if (remaining) this.noteRateLimit(remaining);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && res.status !== 304 && location) {
        await res.body?.cancel();
        const next = new URL(location, current);
        if (!keepsAuthorization(current, next.toString())) {
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
        }
        current = next.toString();
        if (res.status === 303) method = 'GET';
        continue;
      }
      return res;
    }
    throw new Error(`${method} ${url}: too many redirects`);
  }

  /**
   * Sends a request, authenticating on 401 and retrying on 408/429/5xx and connection failures
   * (replayable bodies only; a streamed body fails at once and the caller retries the whole copy).
   */
  async request(req: RegistryRequest): Promise<Response> {
    const url = this.url(req);
    const origin = new URL(url).origin;
    const own = origin === new URL(this.base).origin;
    const replayable = typeof req.body !== 'function';
    let probe: (() => void) | undefined;
    if (own && !this.session.probed) {
      if (this.session.probing) await this.session.probing;
      else this.session.probing = new Promise(resolve => (probe = resolve));
    }
    try {
      return await this.exchange(req, url, origin, own, replayable);
    } finally {
      if (probe) {
        this.session.probed = true;
        probe();
      }
    }
  }

  private async exchange(
    req: RegistryRequest,
    url: string,
    origin: string,
    own: boolean,
    replayable: boolean
  ): Promise<Response> {
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {'user-agent': 'registry-actions', ...(req.headers ?? {})};
      const auth = await this.authHeader(origin, req.scopes);
      if (auth) headers.authorization = auth;
      let body: Buffer | string | Readable | undefined;
      if (typeof req.body === 'function') body = req.body();
      else body = req.body;
      if (Buffer.isBuffer(body) || typeof body === 'string') this.count('bytesSent', Buffer.byteLength(body));
      let res: Response;
      try {
        res = await this.session.limiter.run(() =>
          this.send(
            req.method,
            url,
            {
              headers,
              body: body as RequestInit['body'],
              duplex: body instanceof Readable ? 'half' : undefined
            } as RequestInit,
            req.raw
          )
        );
      } catch (err) {
        if (replayable && attempt < this.retry.retries && isRetryableError(err)) {
          this.count('retries');
          await sleep(backoffMs(attempt, this.retry));
          continue;
        }
        throw err;
      }
      if (res.status === 401 && !authRetried) {
        const challenge = parseChallenge(res.headers.get('www-authenticate'));
        if (challenge && (challenge.scheme === 'bearer' || challenge.scheme === 'basic')) {
          await res.body?.cancel();
          const extra = challenge.params.scope ? challenge.params.scope.split(' ') : [];
          req = {...req, scopes: [...req.scopes, ...extra]};
          if (own) this.session.challenge = challenge;
          else this.session.foreign.set(origin, challenge);
          authRetried = true;
          // A streamed body is spent: the caller replays the whole transfer, now authenticated.
          if (!replayable) throw new StreamAuthRetry();
          continue;
        }
        throw await this.unauthorized(res, req);
      }
      if (res.status === 401 || res.status === 403) throw await this.unauthorized(res, req);
      if (RETRYABLE_STATUS.has(res.status) && replayable && attempt < this.retry.retries) {
        const wait = retryAfterMs(res.headers.get('retry-after'), this.retry.maxMs) ?? backoffMs(attempt, this.retry);
        await res.body?.cancel();
        this.count('retries');
        this.opts.log?.debug(`${req.method} ${url}: ${res.status}, retrying in ${wait} ms`);
        await sleep(wait);
        continue;
      }
      if (res.ok || req.ok?.includes(res.status)) return res;
      throw await registryError(res, req.method, url);
    }
  }

  private async unauthorized(res: Response, req: RegistryRequest): Promise<UserError> {
    const err = await registryError(res, req.method, this.url(req));
    const origin = new URL(this.url(req)).origin;
    if (origin !== new URL(this.base).origin) {
      return new UserError(
        `${this.registry}/${req.repository}: the registry sent ${req.method} to ${origin}, which asks for credentials (HTTP ${res.status}); ${this.registry}'s credentials are never sent to another origin. Ask the registry's operator why it hands out locations elsewhere, or copy through a registry that does not.`
      );
    }
    const cred = await this.cred();
    const who = cred.kind === 'anonymous' ? 'no credentials were found for it' : 'the credentials were refused';
    return new UserError(
      `${this.registry}/${req.repository}: ${res.status === 403 ? 'access denied' : 'authentication required'} (${err.detail || err.code || res.status}); ${who}. Give a username and token for ${this.registry} (a line "${this.registry},username=…,password-env=…" in the destinations or logins input, or docker login) that may ${req.scopes.some(s => s.includes('push')) ? 'push to' : 'pull from'} ${req.repository}.`
    );
  }

  private async json<T>(res: Response): Promise<T> {
    const buf = Buffer.from(await res.arrayBuffer());
    this.count('bytesReceived', buf.length);
    return JSON.parse(buf.toString('utf8')) as T;
  }

  pull(repository: string): string[] {
    return [scope(repository, ['pull'])];
  }
  push(repository: string): string[] {
    return [scope(repository, ['pull', 'push'])];
  }

  async headManifest(repository: string, ref: string): Promise<ManifestInfo | undefined> {
    const res = await this.request({
      method: 'HEAD',
      repository,
      path: `manifests/${ref}`,
      scopes: this.pull(repository),
      headers: {accept: MANIFEST_ACCEPT},
      ok: [404]
    });
    if (res.status === 404) return undefined;
    const digest = res.headers.get('docker-content-digest');
    if (!digest) {
      // Some registries omit the digest on HEAD: fall back to a GET.
      const m = await this.getManifest(repository, ref);
      return m && {digest: m.digest, mediaType: m.mediaType, size: m.body.length};
    }
    return {
      digest,
      mediaType: res.headers.get('content-type') ?? '',
      size: Number(res.headers.get('content-length') ?? 0)
    };
  }

  async getManifest(
    repository: string,
    ref: string
  ): Promise<{body: Buffer; digest: string; mediaType: string} | undefined> {
    const res = await this.request({
      method: 'GET',
      repository,
      path: `manifests/${ref}`,
      scopes: this.pull(repository),
      headers: {accept: MANIFEST_ACCEPT},
      ok: [404]
    });
    this.count('manifestGets');
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    const body = Buffer.from(await res.arrayBuffer());
    this.count('bytesReceived', body.length);
    const digest = sha256(body);
    if (ref.startsWith('sha256:') && digest !== ref) {
      throw new UserError(
        `${this.registry}/${repository}@${ref}: the registry returned a manifest with digest ${digest}, not the one asked for; nothing was copied from it. Report it to the registry's operator.`
      );
    }
    let declared: string | undefined;
    try {
      declared = (JSON.parse(body.toString('utf8')) as {mediaType?: string}).mediaType;
    } catch {
      throw new UserError(
        `${this.registry}/${repository}:${ref}: the registry answered a manifest request with something that is not JSON (${res.headers.get('content-type') ?? 'no content type'}, ${body.length} bytes); check that ${this.registry} is a container registry and the reference is right.`
      );
    }
    return {body, digest, mediaType: declared ?? res.headers.get('content-type') ?? MEDIA.ociManifest};
  }

  /**
   * Writes a manifest. `ociSubject` is the registry's OCI-Subject answer: set when it processed the
   * manifest's subject into its referrers API (distribution spec 1.1); when it is absent, keeping the
   * referrers fallback index is the client's job.
   */
  async putManifest(
    repository: string,
    ref: string,
    body: Buffer,
    mediaType: string
  ): Promise<{digest: string; ociSubject?: string}> {
    const res = await this.request({
      method: 'PUT',
      repository,
      path: `manifests/${ref}`,
      scopes: this.push(repository),
      headers: {'content-type': mediaType},
      body
    });
    await res.body?.cancel();
    return {
      digest: res.headers.get('docker-content-digest') ?? '',
      ociSubject: res.headers.get('oci-subject') ?? undefined
    };
  }

  /** Deletes a manifest by digest (and with it every tag on it): 'deleted', or 'gone' when it was not there. */
  async deleteManifest(repository: string, digest: string): Promise<'deleted' | 'gone'> {
    const res = await this.request({
      method: 'DELETE',
      repository,
      path: `manifests/${digest}`,
      scopes: [scope(repository, ['pull', 'push', 'delete'])],
      ok: [404, 405]
    });
    await res.body?.cancel();
    if (res.status === 405) {
      throw new UserError(
        `${this.registry}/${repository}: the registry does not allow deleting manifests (HTTP 405); enable deletes (distribution: storage.delete.enabled: true).`
      );
    }
    return res.status === 404 ? 'gone' : 'deleted';
  }

  /** The blob's size when the repository has it, undefined when not. */
  async headBlob(repository: string, digest: string, scopes?: string[]): Promise<number | undefined> {
    const res = await this.request({
      method: 'HEAD',
      repository,
      path: `blobs/${digest}`,
      scopes: scopes ?? this.pull(repository),
      ok: [404]
    });
    if (res.status === 404) return undefined;
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** A blob's bytes as they arrive (the caller verifies the digest). */
  async getBlob(repository: string, digest: string): Promise<Readable> {
    const res = await this.request({
      method: 'GET',
      repository,
      path: `blobs/${digest}`,
      scopes: this.pull(repository),
      raw: true
    });
    // A successful raw answer always carries its node stream; only a bodiless one has none.
    return rawBody(res) ?? Readable.from([]);
  }

  /**
   * Asks the registry to mount a blob from another repository. Returns true when mounted; otherwise
   * the upload location the registry opened instead (or undefined if the mount request failed).
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<true | string | undefined> {
    try {
      const res = await this.request({
        method: 'POST',
        repository,
        path: `blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
        scopes: [...this.push(repository), ...this.pull(from)],
        ok: [202]
      });
      await res.body?.cancel();
      if (res.status === 201) return true;
      return this.location(res);
    } catch (err) {
      this.opts.log?.debug(`mount of ${digest} from ${from} into ${repository} failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  private location(res: Response): string {
    const loc = res.headers.get('location');
    if (!loc) throw new Error(`${this.registry}: upload started without a Location header`);
    const min = Number(res.headers.get('oci-chunk-min-length'));
    if (min > 0) this.session.minChunk = Math.max(this.session.minChunk ?? 0, min);
    return upgradeLocation(new URL(loc, this.base), new URL(this.base)).toString();
  }

  async startUpload(repository: string): Promise<string> {
    const res = await this.request({
      method: 'POST',
      repository,
      path: 'blobs/uploads/',
      scopes: this.push(repository),
      ok: [202]
    });
    await res.body?.cancel();
    return this.location(res);
  }

  /** Bytes per chunk while this registry takes uploads in chunks; undefined while whole blobs go in one PUT. */
  get chunkSize(): number | undefined {
    const c = this.session.chunkSize;
    return c === undefined ? undefined : Math.max(c, this.session.minChunk ?? 0);
  }

  /**
   * The registry (or a proxy in front of it, such as nginx's client_max_body_size or a CDN's limit)
   * refused a request of `bytes` with 413: chunks from now on are at most half of that. Every view of
   * the registry learns it once.
   */
  private shrinkChunks(repository: string, bytes: number, why = 'was refused as too large (HTTP 413)'): number {
    const current = this.session.chunkSize ?? DEFAULT_CHUNK;
    const next = Math.min(current, Math.floor(bytes / 2 / 65536) * 65536);
    if (next < Math.max(MIN_CHUNK, this.session.minChunk ?? 0)) {
      throw new UserError(
        `${this.registry}/${repository}: the registry, or a proxy in front of it, refuses a request of ${bytes} bytes (HTTP 413) and smaller chunks are not worth sending; raise its request size limit (nginx: client_max_body_size) or set chunk-size= on the destination to a size it accepts.`
      );
    }
    if (next !== this.session.chunkSize) {
      this.session.chunkSize = next;
      this.opts.log?.info(`${this.registry}: a request of ${bytes} bytes ${why}; uploading in chunks of ${next} bytes`);
    }
    return next;
  }

  /**
   * Completes an upload with one streaming PUT (digest appended to the location's own query). A
   * refusal as too large (413) switches the registry to chunks; so does a second whole-blob upload
   * cut off mid-body, since some proxies answer 413 and close at once, and the answer is lost.
   */
  async putUpload(repository: string, location: string, digest: string, size: number, body: Body): Promise<void> {
    const u = new URL(location);
    u.searchParams.set('digest', digest);
    let res: Response;
    try {
      res = await this.request({
        method: 'PUT',
        repository,
        path: u.toString(),
        scopes: this.push(repository),
        headers: {'content-type': 'application/octet-stream', 'content-length': String(size)},
        body,
        ok: [413]
      });
    } catch (err) {
      const code = (err as {code?: string}).code;
      if (
        typeof body === 'function' &&
        size >= 2 * MIN_CHUNK &&
        ['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(code ?? '')
      ) {
        this.session.cutOff = (this.session.cutOff ?? 0) + 1;
        if (this.session.cutOff >= 2 && this.session.chunkSize === undefined) {
          this.shrinkChunks(repository, size, 'was cut off while being sent, the second such upload');
        }
      }
      throw err;
    }
    await res.body?.cancel();
    if (res.status === 413) {
      this.shrinkChunks(repository, size);
      throw new RestartUpload(`${this.registry} refused ${size} bytes in one request; starting again in chunks`);
    }
    if (typeof body === 'function') this.count('bytesSent', size);
  }

  /**
   * Uploads a blob in chunks read from the stream as it goes (PATCH with Content-Range, each to the
   * location the last answer gave), then completes it with an empty PUT naming the digest. An upload
   * the registry lost track of part way (a retried chunk it had already taken, an expired session) is
   * started again from the beginning by the caller.
   */
  async putUploadChunked(repository: string, location: string, digest: string, stream: Readable): Promise<void> {
    let offset = 0;
    let loc = location;
    try {
      for await (const chunk of chunksOf(stream, () => this.chunkSize ?? DEFAULT_CHUNK)) {
        loc = await this.patchChunk(repository, loc, offset, chunk);
        offset += chunk.length;
      }
    } catch (err) {
      if (offset > 0 && err instanceof RegistryError && [400, 404, 416].includes(err.status)) {
        throw new RestartUpload(`upload interrupted after ${offset} bytes: ${err.message}`);
      }
      throw err;
    }
    const u = new URL(loc);
    u.searchParams.set('digest', digest);
    const res = await this.request({
      method: 'PUT',
      repository,
      path: u.toString(),
      scopes: this.push(repository),
      headers: {'content-type': 'application/octet-stream'},
      body: Buffer.alloc(0)
    });
    await res.body?.cancel();
  }

  /** Sends bytes [offset, offset + chunk.length) of an upload; a 413 splits the chunk and teaches the new size. */
  private async patchChunk(repository: string, location: string, offset: number, chunk: Buffer): Promise<string> {
    const res = await this.request({
      method: 'PATCH',
      repository,
      path: location,
      scopes: this.push(repository),
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${offset}-${offset + chunk.length - 1}`
      },
      body: chunk,
      ok: [413]
    });
    await res.body?.cancel();
    if (res.status !== 413) return this.location(res);
    const size = this.shrinkChunks(repository, chunk.length);
    let loc = location;
    for (let i = 0; i < chunk.length; i += size) {
      loc = await this.patchChunk(repository, loc, offset + i, chunk.subarray(i, i + size));
    }
    return loc;
  }

  /** All tags, following Link pagination (order as the registry gives it; never assume sorted). */
  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let path = 'tags/list?n=1000';
    for (let page = 0; page < 10000; page++) {
      const res = await this.request({method: 'GET', repository, path, scopes: this.pull(repository), ok: [404]});
      if (res.status === 404) {
        await res.body?.cancel();
        return tags;
      }
      const link = res.headers.get('link');
      const body = await this.json<{tags?: string[] | null}>(res);
      tags.push(...(body.tags ?? []));
      const next = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
      if (!next) break;
      path = new URL(next[1], this.base).toString();
    }
    return [...new Set(tags)];
  }

  /** Referrers of a digest through the referrers API; undefined when the registry lacks the API. */
  async referrers(repository: string, digest: string): Promise<Descriptor[] | undefined> {
    if (this.session.noReferrersApi) return undefined;
    const res = await this.request({
      method: 'GET',
      repository,
      path: `referrers/${digest}`,
      scopes: this.pull(repository),
      headers: {accept: MEDIA.ociIndex},
      ok: [404, 400, 405]
    });
    if (res.status !== 200 || !(res.headers.get('content-type') ?? '').includes(MEDIA.ociIndex)) {
      // The distribution spec: a registry with the API never answers 404 to a referrers query (an empty
      // index when nothing refers to the digest); 404 means it has no API, for every repository.
      if (res.status === 404 || res.status === 405) this.session.noReferrersApi = true;
      await res.body?.cancel();
      return undefined;
    }
    const body = await this.json<{manifests?: Descriptor[]}>(res);
    return body.manifests ?? [];
  }
}

/** The blob upload has to start again from its first byte (with a fresh read of the source). */
export class RestartUpload extends Error {}

/** Thrown when a streamed request met its first auth challenge: the caller replays it once. */
export class StreamAuthRetry extends RestartUpload {
  constructor() {
    super('authentication challenge on a streamed request');
  }
}

export {RegistryError};
