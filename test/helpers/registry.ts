import {ChildProcess, execFile, execFileSync, spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {requireTool} from './tools.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Whether process `pid` holds a socket listening on `port` (Linux: /proc/net/tcp and tcp6 name the
 * listening socket's inode, /proc/<pid>/fd links to it). A free port found by freePort can be taken by
 * another process before ours binds it; an answer on the port then is not ours.
 */
export function ownsPort(pid: number | undefined, port: number): boolean {
  if (pid === undefined) return false;
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set(
    ['/proc/net/tcp', '/proc/net/tcp6']
      .flatMap(f => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(1) : []))
      .map(l => l.trim().split(/\s+/))
      .filter(f => f[1]?.endsWith(hexPort) && f[3] === '0A')
      .map(f => `socket:[${f[9]}]`)
  );
  if (inodes.size === 0) return false;
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some(fd => {
      try {
        return inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

export interface TokenServer {
  url: string;
  service: string;
  certFile: string;
  /** Every token request: its scopes and whether it carried credentials. */
  requests: Array<{scopes: string[]; user?: string}>;
  stop(): Promise<void>;
}

export const USER = 'ci-user';
export const PASSWORD = 'ci-password-7d1f';

/**
 * A token server as distribution's token auth expects: RS256 JWTs with the signing certificate in
 * x5c, granting what each user may do (anonymous: pull; USER/PASSWORD: pull and push).
 */
export async function startTokenServer(
  opts: {anonymousPull?: boolean; refreshTokens?: Record<string, string>} = {}
): Promise<TokenServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-'));
  const key = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      certFile,
      '-subj',
      '/CN=registry-token',
      '-days',
      '2'
    ],
    {stdio: 'pipe'}
  );
  const privateKey = crypto.createPrivateKey(fs.readFileSync(key));
  const der = new crypto.X509Certificate(fs.readFileSync(certFile)).raw.toString('base64');
  const service = 'test-registry';
  const requests: TokenServer['requests'] = [];
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const form = new URLSearchParams(req.method === 'POST' ? body : '');
    const scopes = [...url.searchParams.getAll('scope'), ...form.getAll('scope')]
      .flatMap(s => s.split(' '))
      .filter(Boolean);
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (req.method === 'POST') {
      // OAuth2 refresh-token grant (identity tokens, ACR).
      user = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
      if (form.get('grant_type') !== 'refresh_token' || !user) {
        res.statusCode = 401;
        res.end('{"details":"invalid refresh token"}');
        return;
      }
    } else if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== USER || p !== PASSWORD) {
        res.statusCode = 401;
        res.end('{"details":"invalid credentials"}');
        return;
      }
      user = u;
    }
    requests.push({scopes, user});
    const access = scopes.map(s => {
      const i = s.lastIndexOf(':');
      const [type, ...name] = s.slice(0, i).split(':');
      const wanted = s.slice(i + 1).split(',');
      const allowed = user ? wanted : opts.anonymousPull === false ? [] : wanted.filter(a => a === 'pull');
      return {type, name: name.join(':'), actions: allowed};
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64({alg: 'RS256', typ: 'JWT', x5c: [der]});
    const claims = b64({
      iss: 'test-issuer',
      sub: user ?? '',
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access
    });
    const sig = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), privateKey).toString('base64url');
    const token = `${header}.${claims}.${sig}`;
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify(
        req.method === 'POST'
          ? {access_token: token, expires_in: 300}
          : {token, expires_in: 300, issued_at: new Date().toISOString()}
      )
    );
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', d => (body += d));
    req.on('end', () => answer(req, res, body));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/token`;
  return {url, service, certFile, requests, stop: () => new Promise(r => server.close(() => r()))};
}

export interface Registry {
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Registry implementations the tests run against, none of them ours: Debian's docker-registry
 * (distribution 2.8), CNCF distribution v3 (no referrers API) and olareg (the OCI 1.1 referrers API,
 * answers OCI-Subject). scripts/setup.sh builds the two Go ones into .tools/bin.
 */
export const IMPLEMENTATIONS = ['distribution-2.8', 'distribution-3', 'olareg'] as const;
export type Implementation = (typeof IMPLEMENTATIONS)[number];
export const BINARY: Record<Implementation, string> = {
  'distribution-2.8': 'docker-registry',
  'distribution-3': 'distribution3',
  olareg: 'olareg'
};

/** Whether every registry implementation is installed (in CI a missing one fails: requireTool). */
export function allImplementations(): boolean {
  return IMPLEMENTATIONS.every(i => !!requireTool(BINARY[i]));
}

/** Starts a registry on a loopback port: Debian's docker-registry (distribution 2.8) unless `impl` says otherwise. */
export async function startRegistry(
  auth: 'none' | 'htpasswd' | {users: Array<[string, string]>} | {token: TokenServer} = 'none',
  impl: Implementation = 'distribution-2.8',
  /** Where ports come from (a test of this helper hands it one that is taken). */
  pickPort: () => Promise<number> = freePort
): Promise<Registry | undefined> {
  const bin = requireTool(BINARY[impl]);
  if (!bin) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  if (impl === 'olareg' && auth !== 'none') throw new Error('olareg has no authentication: use it with auth none');
  let authYaml = '';
  const users: Array<[string, string]> | undefined =
    auth === 'htpasswd' ? [[USER, PASSWORD]] : typeof auth === 'object' && 'users' in auth ? auth.users : undefined;
  if (users) {
    const lines = users.map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], {encoding: 'utf8'}).trim());
    fs.writeFileSync(path.join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${path.join(dir, 'htpasswd')}\n`;
  } else if (typeof auth === 'object' && 'token' in auth) {
    authYaml = `auth:\n  token:\n    realm: ${auth.token.url}\n    service: ${auth.token.service}\n    issuer: test-issuer\n    rootcertbundle: ${auth.token.certFile}\n`;
  }
  const argsFor = (port: number): string[] => {
    if (impl === 'olareg')
      return ['serve', '--addr', '127.0.0.1', '--port', String(port), '--store-type', 'mem', '--api-delete'];
    fs.writeFileSync(
      path.join(dir, 'config.yml'),
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:${port}\n${authYaml}`
    );
    return ['serve', path.join(dir, 'config.yml')];
  };
  return spawnRegistry(bin, argsFor, dir, pickPort);
}

/**
 * Starts the registry on a free port. Another process may take that port before the registry binds it:
 * the registry then exits (address already in use) or, worse, the readiness probe is answered by the
 * other process; either way it is started again on another port.
 */
async function spawnRegistry(
  bin: string,
  argsFor: (port: number) => string[],
  dir: string,
  pickPort: () => Promise<number>
): Promise<Registry> {
  for (let attempt = 1; ; attempt++) {
    const port = await pickPort();
    const child: ChildProcess = spawn(bin, argsFor(port), {stdio: ['ignore', 'ignore', 'pipe']});
    let stderr = '';
    child.stderr?.on('data', d => (stderr += d));
    const url = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 200 && !ready && child.exitCode === null; i++) {
      try {
        const res = await fetch(`${url}/v2/`);
        await res.body?.cancel();
        ready = ownsPort(child.pid, port);
      } catch {
        // not yet
      }
      if (!ready) await new Promise(r => setTimeout(r, 50));
    }
    if (ready) return registryHandle(child, port, url, dir);
    child.kill('SIGKILL');
    if (attempt >= 5 || (child.exitCode !== null && !/address already in use/.test(stderr)))
      throw new Error(`${path.basename(bin)} did not start on port ${port}: ${stderr.slice(-2000)}`);
  }
}

function registryHandle(child: ChildProcess, port: number, url: string, dir: string): Registry {
  return {
    host: `127.0.0.1:${port}`,
    url,
    dir,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise(r => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, {recursive: true, force: true});
    }
  };
}

/**
 * Runs skopeo. Asynchronous on purpose: the token server lives in the test process and must keep
 * answering while skopeo runs.
 */
export async function skopeo(args: string[]): Promise<string> {
  const bin = requireTool('skopeo');
  if (!bin) throw new Error('skopeo missing');
  const {stdout} = await promisify(execFile)(bin, args, {encoding: 'utf8', maxBuffer: 64 << 20});
  return stdout;
}

/** The digest of the manifest a reference names, read with skopeo (an independent client). */
export async function manifestDigest(ref: string, creds?: string): Promise<string> {
  const args = ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : [])];
  const raw = await skopeo([...args, `docker://${ref}`]);
  return `sha256:${crypto.createHash('sha256').update(raw).digest('hex')}`;
}

/** Every tag of a repository and the digest it names ({} when the repository does not exist). */
export async function tagDigests(reg: {url: string}, repo: string, auth?: string): Promise<Record<string, string>> {
  const headers: Record<string, string> = auth ? {authorization: `Basic ${Buffer.from(auth).toString('base64')}`} : {};
  const res = await fetch(`${reg.url}/v2/${repo}/tags/list`, {headers});
  if (!res.ok) return {};
  const out: Record<string, string> = {};
  for (const t of ((await res.json()) as {tags?: string[] | null}).tags ?? []) {
    const head = await fetch(`${reg.url}/v2/${repo}/manifests/${t}`, {
      method: 'HEAD',
      headers: {
        ...headers,
        accept: 'application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json'
      }
    });
    out[t] = head.headers.get('docker-content-digest') ?? '';
  }
  return out;
}
