/**
 * A mistake the user can fix: bad input, a missing permission, a missing tool. Entry points print its
 * message without a stack trace; anything else is our bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Formats a user error about one input, quoting the offending line and saying what is allowed. */
export function inputError(input: string, line: string, problem: string, allowed?: string): UserError {
  const quoted = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  return new UserError(`${input}: ${problem} in "${quoted}".${allowed ? ` ${allowed}` : ''}`);
}

/** An error's message; a network failure ("fetch failed") also says its cause (connection refused, DNS, TLS). */
export function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const net = networkCause(err);
  if (!net || message.includes(net)) return message;
  return `${message === 'fetch failed' ? 'the request failed' : message}: ${net}`;
}

const NETWORK_CAUSES: Array<[RegExp, string]> = [
  [/^ECONNREFUSED$/, 'connection refused: nothing listens there'],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/, 'DNS: the host name does not resolve'],
  [/^(ECONNRESET|UND_ERR_SOCKET|EPIPE)$/, 'the connection was reset'],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/, 'timed out'],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, 'the network cannot reach the host'],
  [/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/, 'TLS'],
  [/^ERR_INVALID_URL$/, 'not a valid URL']
];

/** What a network failure was, from the error and its causes ("fetch failed" says nothing). */
export function networkCause(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as {cause?: unknown}).cause, depth++) {
    const code = (e as {code?: unknown}).code;
    if (typeof code !== 'string') continue;
    for (const [re, what] of NETWORK_CAUSES) {
      if (re.test(code)) return what === 'TLS' ? `TLS: ${code} (${(e as Error).message})` : `${what} (${code})`;
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/^bad port$/i.test(message)) return 'the port is one that HTTP clients refuse to use (bad port)';
  return undefined;
}

/**
 * A failure of something outside this project (a registry or API answer, the network, an external
 * tool) as a message a user can act on, or undefined when it is our own bug. Such failures are
 * reported as an error without a stack trace.
 */
export function externalFailure(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'RegistryError')
    return `${err.message}. The registry refused or failed the request; check the reference and credentials, or retry if it is a server error.`;
  const status = (err as {status?: unknown}).status;
  if (err.name === 'HttpError' && typeof status === 'number') {
    const net = status === 500 ? networkCause(err) : undefined;
    if (net) return `the GitHub API could not be reached: ${net}. Check github-api-url and the network.`;
    return `the GitHub API answered ${status}: ${err.message}. Check the token's permissions and the names given.`;
  }
  if (err.name === 'ToolError') return err.message;
  if (networkCause(err)) return `${errorMessage(err)}.`;
  return undefined;
}

/** An external tool (docker buildx, cosign, trivy, tar) failed: its own message, no stack. */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}
