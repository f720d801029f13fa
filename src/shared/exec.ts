import {spawn} from 'node:child_process';
import {ToolError, UserError} from './errors.js';

/**
 * The one funnel through which every external tool runs: arguments as an array (never a shell
 * string), secrets through stdin or env (never argv), stderr kept for the error message.
 * Spawned here rather than through @actions/exec: that package takes stdin and an environment too,
 * but gives no handle on the child, so a hung credential helper or trivy DB download could not be
 * killed after its timeout; it also echoes the command line unless silenced.
 */
export interface Command {
  command: string;
  args: string[];
  /** Written to the child's stdin, then closed (secrets go here). */
  input?: string | Buffer;
  /** The child's whole environment (not merged with ours unless the caller does so). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the child after this many milliseconds. */
  timeoutMs?: number;
  /** Called with each chunk of output as it arrives (progress, live logs). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function describe(cmd: Pick<Command, 'command' | 'args'>): string {
  return [cmd.command, ...cmd.args].map(a => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Runs a command and resolves with its exit code and output, whatever the code. */
export function exec(cmd: Command): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.command, cmd.args, {
      env: cmd.env ?? process.env,
      cwd: cmd.cwd,
      stdio: ['pipe', 'pipe', 'pipe']
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (cmd.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), cmd.timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      cmd.onOutput?.(d, 'stdout');
    });
    child.stderr.on('data', (d: string) => {
      stderr += d;
      cmd.onOutput?.(d, 'stderr');
    });
    child.on('error', err => {
      if (timer) clearTimeout(timer);
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT')
        reject(new UserError(`${cmd.command} was not found on PATH: install it or give its path.`));
      else reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({code: code ?? (signal ? 128 : 1), stdout, stderr});
    });
    child.stdin.on('error', () => undefined);
    if (cmd.input !== undefined) child.stdin.end(cmd.input);
    else child.stdin.end();
  });
}

/** Runs a command and throws with its stderr when it exits non-zero. */
export async function execOk(cmd: Command): Promise<ExecResult> {
  const res = await exec(cmd);
  if (res.code !== 0) {
    const detail = (res.stderr || res.stdout).trim().split('\n').slice(-15).join('\n');
    throw new ToolError(`${describe(cmd)} failed with exit code ${res.code}${detail ? `:\n${detail}` : ''}`);
  }
  return res;
}

/** What any tool needs from the job's environment: paths, locale, TLS roots and proxies. */
const BASE_ENV = [
  'PATH',
  'HOME',
  'TMPDIR',
  'TMP',
  'TEMP',
  'LANG',
  'LC_ALL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SYSTEMROOT'
];

/**
 * An environment built from scratch for an external tool: the basics above, the named variables and
 * prefixes, nothing else, so no stray setting of the job (COSIGN_*, TRIVY_*) changes the tool's flags. Pure.
 */
export function toolEnv(env: NodeJS.ProcessEnv, also: {names?: string[]; prefixes?: string[]} = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (BASE_ENV.includes(k) || also.names?.includes(k) || also.prefixes?.some(p => k.startsWith(p))) out[k] = v;
  }
  return out;
}
