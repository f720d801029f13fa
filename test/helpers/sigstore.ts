import {ChildProcess, execFile, spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {freePort, ownsPort} from './registry.js';
import {requireTool} from './tools.js';

/**
 * A real Sigstore on loopback for keyless tests: an OIDC issuer of ours speaking the runner's ID-token
 * protocol, Fulcio (ephemeral CA) that checks its tokens, a CT log that signs SCTs, Rekor v2 (POSIX
 * backend) and a timestamp authority; trusted root and signing config made by cosign itself.
 * Requests to Fulcio and Rekor pass through counting proxies, so tests can count certificates and entries.
 */

/** The claims a GitHub Actions ID token carries (those Fulcio's github-workflow issuer type requires). */
export function workflowClaims(over: Record<string, string> = {}): Record<string, string> {
  const repo = over.repository ?? 'acme/app';
  const ref = over.ref ?? 'refs/heads/main';
  const workflow = `${repo}/.github/workflows/release.yml@${ref}`;
  return {
    sub: `repo:${repo}:ref:${ref}`,
    repository: repo,
    repository_id: '1296269',
    repository_owner: repo.split('/')[0],
    repository_owner_id: '9919',
    repository_visibility: 'public',
    ref,
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha: '0f3c9a2e5b7d4c1a8e6f0b2d4c6a8e0f1b3d5c7a',
    event_name: 'push',
    workflow: 'release',
    workflow_ref: workflow,
    workflow_sha: '0f3c9a2e5b7d4c1a8e6f0b2d4c6a8e0f1b3d5c7a',
    job_workflow_ref: workflow,
    job_workflow_sha: '0f3c9a2e5b7d4c1a8e6f0b2d4c6a8e0f1b3d5c7a',
    run_id: '4242',
    run_number: '7',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    actor: 'octocat',
    ...over
  };
}

export interface OidcIssuer {
  url: string;
  /** The runner's token endpoint and bearer, as ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN. */
  requestUrl: string;
  requestToken: string;
  /** Claims of the next tokens (merged over workflowClaims()). */
  claims: Record<string, string>;
  /** Tokens issued so far. */
  issued: number;
  token(audience: string): string;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export async function startOidcIssuer(): Promise<OidcIssuer> {
  const {privateKey, publicKey} = crypto.generateKeyPairSync('rsa', {modulusLength: 2048});
  const kid = crypto.randomBytes(8).toString('hex');
  const jwk = {...(publicKey.export({format: 'jwk'}) as Record<string, string>), kid, alg: 'RS256', use: 'sig'};
  const requestToken = crypto.randomBytes(16).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const issuer: OidcIssuer = {
    url,
    requestUrl: `${url}/token?api-version=2.0`,
    requestToken,
    claims: workflowClaims(),
    issued: 0,
    token: (audience: string) => {
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({alg: 'RS256', typ: 'JWT', kid}));
      const body = b64url(
        JSON.stringify({...issuer.claims, iss: url, aud: audience, iat: now, nbf: now - 5, exp: now + 600})
      );
      const sig = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${body}`), privateKey);
      issuer.issued++;
      return `${header}.${body}.${b64url(sig)}`;
    },
    close: () => new Promise(r => server.close(() => r()))
  };
  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, {'content-type': 'application/json'});
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', url);
    if (u.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer: url,
        jwks_uri: `${url}/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        claims_supported: Object.keys(issuer.claims)
      });
    }
    if (u.pathname === '/jwks') return json(res, 200, {keys: [jwk]});
    if (u.pathname === '/token') {
      // The runner's protocol: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=…, bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN.
      if (
        req.headers.authorization !== `Bearer ${requestToken}` &&
        req.headers.authorization !== `bearer ${requestToken}`
      )
        return json(res, 401, {message: 'bad request token'});
      return json(res, 200, {value: issuer.token(u.searchParams.get('audience') ?? 'sigstore')});
    }
    json(res, 404, {message: 'not found'});
  });
  await new Promise<void>(r => server.listen(port, '127.0.0.1', r));
  return issuer;
}

/** A reverse proxy that counts requests by method and path before passing them on. */
interface Counter {
  url: string;
  counts: Map<string, number>;
  count(pattern: RegExp): number;
  close(): Promise<void>;
}

async function countingProxy(target: string): Promise<Counter> {
  const port = await freePort();
  const t = new URL(target);
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const key = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const headers = {...req.headers, host: t.host};
    const up = http.request({host: t.hostname, port: t.port, method: req.method, path: req.url, headers}, r => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', err => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(up);
  });
  await new Promise<void>(r => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    count: (p: RegExp) => [...counts].filter(([k]) => p.test(k)).reduce((n, [, v]) => n + v, 0),
    close: () => new Promise(r => server.close(() => r()))
  };
}

export interface Sigstore {
  oidc: OidcIssuer;
  /** Trusted root (Fulcio, CT log, Rekor, TSA) for --trusted-root / the trusted-root input. */
  trustedRoot: string;
  /** Signing config with Fulcio, Rekor v2 and the TSA. */
  signingConfig: string;
  /** Signing config without a transparency log (Fulcio and the TSA only). */
  signingConfigNoTlog: string;
  /** Certificates Fulcio issued (requests to its signing endpoint, counted at the proxy). */
  certificates(): number;
  /** Entries written to Rekor (counted at the proxy). */
  rekorEntries(): number;
  /** Environment of a job with `id-token: write`: the runner's token endpoint. */
  env: Record<string, string>;
  dir: string;
  /** The services' recent output, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

/** The Sigstore services' binaries (scripts/setup.sh builds them); undefined outside CI when missing. */
export function sigstoreTools(): Record<'fulcio' | 'rekor' | 'tsa' | 'ctlog', string> | undefined {
  const t = {
    fulcio: requireTool('fulcio'),
    rekor: requireTool('rekor-posix'),
    tsa: requireTool('timestamp-server'),
    ctlog: requireTool('ctlog')
  };
  return Object.values(t).every(Boolean) ? (t as Record<'fulcio' | 'rekor' | 'tsa' | 'ctlog', string>) : undefined;
}

async function waitFor(url: string, child: ChildProcess, name: string, log: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${log().slice(-2000)}`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      // an answer from another process that took the port first is not this one's
      if (res.status < 500 && ownsPort(child.pid, Number(new URL(url).port))) return;
    } catch {
      // not yet
    }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`${name} did not answer at ${url}: ${log().slice(-2000)}`);
}

/**
 * timestamp-server's metrics port is fixed (:2112): taken, no retry helps. Most often a timestamp-server
 * left behind by a test run that was killed; say so instead of "address already in use".
 */
function metricsPortTaken(out: string): Error | undefined {
  if (!/:2112\b[\s\S]*address already in use|address already in use[\s\S]*:2112\b/.test(out)) return undefined;
  const holders = fs
    .readdirSync('/proc')
    .filter(d => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter(d => {
      try {
        return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('timestamp-server');
      } catch {
        return false;
      }
    });
  return new Error(
    `timestamp-server cannot bind its fixed metrics port :2112: ${holders.length ? `timestamp-server process(es) ${holders.join(', ')} still run (left by a killed test run?); stop them (kill ${holders.join(' ')}) and run again` : 'another process holds it; free it and run again'}.`
  );
}

/**
 * Waits for this process's turn to run a timestamp authority: a lock file naming the holder's pid (a
 * holder that died leaves a lock the next one takes over). Returns what frees it.
 */
function readLock(lock: string): number | undefined {
  try {
    return Number(fs.readFileSync(lock, 'utf8'));
  } catch {
    return undefined;
  }
}

async function tsaTurn(): Promise<() => void> {
  const lock = path.join(os.tmpdir(), 'registry-actions-timestamp-server.lock');
  for (let waited = 0; ; waited += 250) {
    try {
      fs.writeFileSync(lock, String(process.pid), {flag: 'wx'});
      return () => {
        if (readLock(lock) === process.pid) fs.rmSync(lock, {force: true});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(lock);
      // Gone meanwhile: try again; empty: its holder is still writing its pid.
      if (holder === undefined) continue;
      if (!holder) {
        await new Promise(r => setTimeout(r, 50));
        continue;
      }
      let alive = holder !== process.pid;
      try {
        if (alive) process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (!alive) fs.rmSync(lock, {force: true});
      else if (waited > 15 * 60_000)
        throw new Error(`timestamp-server: ${lock} held by pid ${holder} for 15 minutes`, {cause: err});
      else await new Promise(r => setTimeout(r, 250));
    }
  }
}

export async function startSigstore(cosign: string): Promise<Sigstore> {
  const tools = sigstoreTools();
  if (!tools) throw new Error('Sigstore services missing: run scripts/setup.sh');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigstore-'));
  const children: ChildProcess[] = [];
  let releaseTsa: (() => void) | undefined;
  const outputs = new Map<string, () => string>();
  const closers: Array<() => Promise<void>> = [];
  /**
   * Starts a service on `count` fresh loopback ports. A port picked free can be taken by another test
   * process before the service binds it: then the service is started again on other ports.
   */
  const serve = async (
    name: string,
    bin: string,
    count: number,
    make: (ports: number[]) => {args: string[]; probe: string}
  ): Promise<number[]> => {
    for (let attempt = 1; ; attempt++) {
      const ports = await Promise.all(Array.from({length: count}, () => freePort()));
      const {args, probe} = make(ports);
      const child = spawn(bin, args, {stdio: ['ignore', 'pipe', 'pipe'], cwd: dir});
      let out = '';
      child.stdout?.on('data', d => (out = (out + d).slice(-20000)));
      child.stderr?.on('data', d => (out = (out + d).slice(-20000)));
      children.push(child);
      outputs.set(name, () => out);
      try {
        await waitFor(probe, child, name, () => out);
        return ports;
      } catch (err) {
        const taken = metricsPortTaken(out);
        if (taken) throw taken;
        if (attempt >= 5 || !/address already in use/.test(out)) throw err;
      }
    }
  };
  try {
    const oidc = await startOidcIssuer();
    closers.push(oidc.close);

    const ctPub = path.join(dir, 'ctlog.pub');
    const [ct] = await serve('ctlog', tools.ctlog, 1, ([port]) => ({
      args: ['-addr', `127.0.0.1:${port}`, '-prefix', '/test', '-public-key-out', ctPub],
      probe: `http://127.0.0.1:${port}/stats`
    }));

    fs.writeFileSync(
      path.join(dir, 'fulcio.json'),
      JSON.stringify({OIDCIssuers: {[oidc.url]: {IssuerURL: oidc.url, ClientID: 'sigstore', Type: 'github-workflow'}}})
    );
    const [fulcioPort] = await serve('fulcio', tools.fulcio, 3, ([fulcioPort, fulcioGrpc, fulcioMetrics]) => ({
      args: [
        'serve',
        '--ca',
        'ephemeralca',
        '--config-path',
        path.join(dir, 'fulcio.json'),
        '--host',
        '127.0.0.1',
        '--port',
        String(fulcioPort),
        '--grpc-host',
        '127.0.0.1',
        '--grpc-port',
        String(fulcioGrpc),
        '--metrics-port',
        String(fulcioMetrics),
        '--legacy-unix-domain-socket',
        `@fulcio-${process.pid}-${fulcioPort}`,
        '--ct-log-url',
        `http://127.0.0.1:${ct}/test`
      ],
      probe: `http://127.0.0.1:${fulcioPort}/api/v1/rootCert`
    }));
    const fulcioChain = path.join(dir, 'fulcio-chain.pem');
    fs.writeFileSync(fulcioChain, await (await fetch(`http://127.0.0.1:${fulcioPort}/api/v1/rootCert`)).text());

    const {privateKey, publicKey} = crypto.generateKeyPairSync('ed25519');
    const rekorKey = path.join(dir, 'rekor-key.pem');
    const rekorPub = path.join(dir, 'rekor.pub');
    fs.writeFileSync(rekorKey, privateKey.export({format: 'pem', type: 'pkcs8'}));
    fs.writeFileSync(rekorPub, publicKey.export({format: 'pem', type: 'spki'}));
    fs.mkdirSync(path.join(dir, 'rekor'));
    const [rekorPort] = await serve('rekor', tools.rekor, 3, ([rekorPort, rekorGrpc, rekorMetrics]) => ({
      args: [
        'serve',
        '--http-address',
        '127.0.0.1',
        '--http-port',
        String(rekorPort),
        '--grpc-port',
        String(rekorGrpc),
        '--http-metrics-port',
        String(rekorMetrics),
        '--hostname',
        '127.0.0.1',
        '--storage-dir',
        path.join(dir, 'rekor'),
        '--signer-filepath',
        rekorKey,
        '--checkpoint-interval',
        '1s',
        '--batch-max-age',
        '100ms'
      ],
      probe: `http://127.0.0.1:${rekorPort}/healthz`
    }));

    // timestamp-server binds its metrics to :2112 whatever it is told: one per machine at a time, so
    // test files running in parallel take turns with their Sigstore (a lock file, freed on stop).
    releaseTsa = await tsaTurn();
    const [tsaPort] = await serve('timestamp-server', tools.tsa, 1, ([tsaPort]) => ({
      args: [
        'serve',
        '--timestamp-signer',
        'memory',
        '--disable-ntp-monitoring',
        '--host',
        '127.0.0.1',
        '--port',
        String(tsaPort)
      ],
      probe: `http://127.0.0.1:${tsaPort}/api/v1/timestamp/certchain`
    }));
    const tsaChain = path.join(dir, 'tsa-chain.pem');
    fs.writeFileSync(tsaChain, await (await fetch(`http://127.0.0.1:${tsaPort}/api/v1/timestamp/certchain`)).text());

    const fulcioProxy = await countingProxy(`http://127.0.0.1:${fulcioPort}`);
    const rekorProxy = await countingProxy(`http://127.0.0.1:${rekorPort}`);
    closers.push(fulcioProxy.close, rekorProxy.close);

    const cosignRun = (args: string[]): Promise<unknown> =>
      promisify(execFile)(cosign, args, {env: {PATH: process.env.PATH ?? '', HOME: dir}});
    const trustedRoot = path.join(dir, 'trusted-root.json');
    await cosignRun([
      'trusted-root',
      'create',
      '--fulcio',
      `url=${fulcioProxy.url},certificate-chain=${fulcioChain}`,
      '--ctfe',
      `url=http://127.0.0.1:${ct}/test,public-key=${ctPub},start-time=2024-01-01T00:00:00Z`,
      '--rekor',
      `url=${rekorProxy.url},public-key=${rekorPub},origin=127.0.0.1,start-time=2024-01-01T00:00:00Z`,
      '--tsa',
      `url=http://127.0.0.1:${tsaPort}/api/v1/timestamp,certificate-chain=${tsaChain}`,
      '--out',
      trustedRoot
    ]);
    const signingConfig = (file: string, tlog: boolean): Promise<unknown> =>
      cosignRun([
        'signing-config',
        'create',
        '--fulcio',
        `url=${fulcioProxy.url},api-version=1,start-time=2024-01-01T00:00:00Z,operator=test`,
        '--oidc-provider',
        `url=${oidc.url},api-version=1,start-time=2024-01-01T00:00:00Z,operator=test`,
        ...(tlog
          ? [
              '--rekor',
              `url=${rekorProxy.url},api-version=2,start-time=2024-01-01T00:00:00Z,operator=test`,
              '--rekor-config',
              'ANY'
            ]
          : []),
        '--tsa',
        `url=http://127.0.0.1:${tsaPort}/api/v1/timestamp,api-version=1,start-time=2024-01-01T00:00:00Z,operator=test`,
        '--tsa-config',
        'ANY',
        '--out',
        file
      ]);
    const withTlog = path.join(dir, 'signing-config.json');
    const noTlog = path.join(dir, 'signing-config-no-tlog.json');
    await signingConfig(withTlog, true);
    await signingConfig(noTlog, false);

    return {
      oidc,
      trustedRoot,
      signingConfig: withTlog,
      signingConfigNoTlog: noTlog,
      certificates: () => fulcioProxy.count(/^POST \/api\/v2\/signingCert/),
      rekorEntries: () => rekorProxy.count(/^POST \/api\/v2\/log\/entries/),
      env: {ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken},
      dir,
      logs: () => [...outputs].map(([name, out]) => `--- ${name}\n${out().slice(-3000)}`).join('\n'),
      stop: async () => {
        for (const c of children) c.kill('SIGTERM');
        await Promise.all(closers.map(c => c()));
        await Promise.all(children.map(c => (c.exitCode !== null ? undefined : new Promise(r => c.once('exit', r)))));
        releaseTsa?.();
        fs.rmSync(dir, {recursive: true, force: true});
      }
    };
  } catch (err) {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(closers.map(c => c().catch(() => undefined)));
    await Promise.all(children.map(c => (c.exitCode !== null ? undefined : new Promise(r => c.once('exit', r)))));
    releaseTsa?.();
    throw err;
  }
}

/** An RFC 3161 timestamp authority alone (Sigstore's timestamp-server), for Notation's timestamping. */
export interface TimestampAuthority {
  /** The RFC 3161 endpoint. */
  url: string;
  /** Its root certificate (PEM file): the last of its chain. */
  root: string;
  stop(): Promise<void>;
}

/**
 * Starts Sigstore's timestamp-server with an in-memory signer, answering with its certificate chain in
 * each response (Notation needs it: "certificate signed by unknown authority" otherwise). One timestamp
 * authority runs per machine at a time (its metrics port is fixed): it takes the same turn as startSigstore.
 */
export async function startTimestampAuthority(): Promise<TimestampAuthority> {
  const bin = sigstoreTools()?.tsa;
  if (!bin) throw new Error('timestamp-server missing: run scripts/setup.sh');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsa-'));
  const release = await tsaTurn();
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawn(
        bin,
        [
          'serve',
          '--timestamp-signer',
          'memory',
          '--include-chain-in-response',
          '--disable-ntp-monitoring',
          '--host',
          '127.0.0.1',
          '--port',
          String(port)
        ],
        {stdio: ['ignore', 'pipe', 'pipe'], cwd: dir}
      );
      let out = '';
      child.stdout?.on('data', d => (out = (out + d).slice(-20000)));
      child.stderr?.on('data', d => (out = (out + d).slice(-20000)));
      const base = `http://127.0.0.1:${port}/api/v1/timestamp`;
      try {
        await waitFor(`${base}/certchain`, child, 'timestamp-server', () => out);
      } catch (err) {
        child.kill('SIGKILL');
        const taken = metricsPortTaken(out);
        if (taken) throw taken;
        if (attempt >= 5 || !/address already in use/.test(out)) throw err;
        continue;
      }
      const chain = await (await fetch(`${base}/certchain`)).text();
      const certs = [...chain.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(m => m[0]);
      const root = path.join(dir, 'tsa-root.pem');
      fs.writeFileSync(root, `${certs[certs.length - 1]}\n`);
      return {
        url: base,
        root,
        stop: async () => {
          child.kill('SIGTERM');
          await new Promise(r => child.once('exit', r));
          release();
          fs.rmSync(dir, {recursive: true, force: true});
        }
      };
    }
  } catch (err) {
    release();
    throw err;
  }
}
