import http from 'node:http';
import net from 'node:net';

/**
 * The GitHub Actions cache service (v2) on loopback: the Twirp JSON API the runner's results service
 * speaks (CreateCacheEntry, FinalizeCacheEntryUpload, GetCacheEntryDownloadURL) and the signed blob
 * URLs it hands out (an Azure Blob "Put Blob" for uploads, a plain GET for downloads). Entries are
 * matched as the service does: the exact key first, then each restore key as a prefix, newest first,
 * and only for the same version.
 */
export interface ActionsCache {
  url: string;
  /** Environment a job needs to use it (as the runner sets it). */
  env: Record<string, string>;
  entries: Array<{key: string; version: string; size: number; finalized: boolean; data?: Buffer}>;
  log: string[];
  stop(): Promise<void>;
}

const SERVICE = '/twirp/github.actions.results.api.v1.CacheService/';

export async function startActionsCache(): Promise<ActionsCache> {
  const entries: ActionsCache['entries'] = [];
  const log: string[] = [];
  const token = 'runtime-token-for-tests';
  let base = '';
  const blobPath = (i: number): string => `/devstoreaccount1/actions-cache/entry-${i}`;
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, {'content-type': 'application/json'});
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      const body = Buffer.concat(chunks);
      if (url.pathname.startsWith(SERVICE)) {
        const method = url.pathname.slice(SERVICE.length);
        log.push(method);
        if (req.headers.authorization !== `Bearer ${token}`) {
          json(res, 401, {code: 'unauthenticated', msg: 'no runtime token'});
          return;
        }
        const input = JSON.parse(body.toString('utf8') || '{}') as {
          key?: string;
          version?: string;
          restore_keys?: string[];
          size_bytes?: string;
        };
        if (method === 'CreateCacheEntry') {
          if (entries.some(e => e.key === input.key && e.version === input.version)) {
            json(res, 200, {ok: false, message: `cache entry ${input.key} already exists`});
            return;
          }
          entries.push({key: input.key ?? '', version: input.version ?? '', size: 0, finalized: false});
          json(res, 200, {ok: true, signed_upload_url: `${base}${blobPath(entries.length - 1)}?sig=upload`});
          return;
        }
        if (method === 'FinalizeCacheEntryUpload') {
          const i = entries.findIndex(e => e.key === input.key && e.version === input.version && !e.finalized);
          if (i < 0 || !entries[i].data || entries[i].data?.length !== Number(input.size_bytes)) {
            json(res, 200, {ok: false, message: 'no upload of that size for this entry'});
            return;
          }
          entries[i].finalized = true;
          entries[i].size = Number(input.size_bytes);
          json(res, 200, {ok: true, entry_id: String(i + 1)});
          return;
        }
        if (method === 'GetCacheEntryDownloadURL') {
          const usable = entries
            .map((e, i) => ({e, i}))
            .filter(({e}) => e.finalized && e.version === input.version)
            .reverse();
          const hit =
            usable.find(({e}) => e.key === input.key) ??
            (input.restore_keys ?? []).map(k => usable.find(({e}) => e.key.startsWith(k))).find(Boolean);
          json(
            res,
            200,
            hit
              ? {ok: true, signed_download_url: `${base}${blobPath(hit.i)}?sig=download`, matched_key: hit.e.key}
              : {ok: false}
          );
          return;
        }
        json(res, 404, {code: 'bad_route', msg: method});
        return;
      }
      const m = url.pathname.match(/^\/devstoreaccount1\/actions-cache\/entry-(\d+)$/);
      const entry = m ? entries[Number(m[1])] : undefined;
      if (!entry) {
        res.writeHead(404).end();
        return;
      }
      if (req.method === 'PUT' && req.headers['x-ms-blob-type'] === 'BlockBlob' && url.searchParams.get('sig')) {
        log.push(`PUT blob ${body.length}`);
        entry.data = body;
        res.writeHead(201, {etag: `"0x${entries.indexOf(entry)}"`, 'last-modified': new Date().toUTCString()});
        res.end();
        return;
      }
      if (req.method === 'GET' && entry.finalized && entry.data) {
        log.push(`GET blob ${entry.data.length}`);
        res.writeHead(200, {'content-length': entry.data.length, 'content-type': 'application/octet-stream'});
        res.end(entry.data);
        return;
      }
      res.writeHead(400).end();
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: `${base}/`,
    env: {ACTIONS_CACHE_SERVICE_V2: 'true', ACTIONS_RESULTS_URL: `${base}/`, ACTIONS_RUNTIME_TOKEN: token},
    entries,
    log,
    stop: () =>
      new Promise(r => {
        server.closeAllConnections();
        server.close(() => r());
      })
  };
}
