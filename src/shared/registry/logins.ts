/** Registry logins: the one parser of login lines and the one place their secrets are read. */
import {UserError, inputError} from '../errors.js';
import {Mask, RegistryLogin} from './credentials.js';
import {parseFields, parseSize} from '../inputs.js';
import {MIN_CHUNK} from './client.js';

export const PROVIDERS = [
  'auto',
  'docker-config',
  'ghcr',
  'basic',
  'anonymous',
  'ecr',
  'ecr-public',
  'acr',
  'gar'
] as const;
export type Provider = (typeof PROVIDERS)[number];

/**
 * One registry login as a line gives it (push-multi's destinations, the logins input of sign, scan
 * and ghcr-cleanup): `<registry>[,username=…][,password-env=…][,provider=…][,insecure=true]…`.
 */
export interface LoginEntry {
  line: string;
  registry: string;
  /** What reports call it: the registry, or registry/repository for a destination. */
  name: string;
  provider: Provider;
  username?: string;
  /** Name of the environment variable holding the password or token. */
  passwordEnv?: string;
  password?: string;
  insecure?: boolean;
  /** Upload blobs larger than this in chunks (for registries behind a request size limit). */
  chunkSize?: number;
  /** Cloud provider settings: region, role (AWS); tenant, client-id (Azure); workload-identity-provider, service-account, location (Google). */
  options: Record<string, string>;
}

const PROVIDER_KEYS = [
  'region',
  'role',
  'tenant',
  'client-id',
  'workload-identity-provider',
  'service-account',
  'location'
];
const KEYS = ['username', 'password', 'password-env', 'provider', 'insecure', 'chunk-size', ...PROVIDER_KEYS];

/** Applies `key=value` login options (username, password-env, provider, cloud settings) to an entry. */
export function applyLoginOptions(d: LoginEntry, fields: string[], input: string): void {
  const line = d.line;
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim();
    if (eq <= 0 || !KEYS.includes(key)) {
      throw inputError(input, line, `unknown option "${field}"`, `Allowed options: ${KEYS.join(', ')}.`);
    }
    if (key === 'username') d.username = value;
    else if (key === 'password') d.password = value;
    else if (key === 'password-env') d.passwordEnv = value;
    else if (key === 'insecure') d.insecure = value === 'true';
    else if (key === 'chunk-size') {
      try {
        d.chunkSize = parseSize('chunk-size', value, MIN_CHUNK);
      } catch {
        throw inputError(
          input,
          line,
          `chunk-size "${value}" is not a size of at least 256KiB`,
          'Write a number with an optional unit, such as 16MiB or 100MB.'
        );
      }
    } else if (PROVIDER_KEYS.includes(key)) d.options[key] = value;
    else if (key === 'provider') {
      if (!(PROVIDERS as readonly string[]).includes(value)) {
        throw inputError(input, line, `unknown provider "${value}"`, `Allowed providers: ${PROVIDERS.join(', ')}.`);
      }
      d.provider = value as Provider;
    }
  }
}

/**
 * Parses registry login lines (sign, scan and cleanup inputs): `<registry>[,username=…][,password-env=…][,provider=…]`
 * with the same options as a destination.
 */
export function parseLogins(lines: string[], input: string): LoginEntry[] {
  const out: LoginEntry[] = [];
  for (const line of lines) {
    const fields = parseFields(line);
    const registry = (fields[0] ?? '')
      .trim()
      .replace(/^https?:\/\//, '')
      .replace(/\/+$/, '');
    if (!registry || registry.includes('=') || registry.includes('/')) {
      throw inputError(
        input,
        line,
        'the line must start with a registry host',
        'Write <registry>[,username=…][,password-env=…][,provider=…], for example ghcr.io or 123456789012.dkr.ecr.eu-west-1.amazonaws.com,provider=ecr.'
      );
    }
    const d: LoginEntry = {line, registry, name: registry, provider: 'auto', options: {}};
    applyLoginOptions(d, fields.slice(1), input);
    if (out.some(o => o.registry === registry)) throw inputError(input, line, `${registry} is listed twice`);
    out.push(d);
  }
  return out;
}

/**
 * One login per registry from login lines (destinations, or the logins input of the other actions):
 * password-env read and masked, two different credentials for one registry refused.
 */
export function loginMap(
  entries: LoginEntry[],
  env: NodeJS.ProcessEnv,
  mask: Mask,
  input: string
): Map<string, RegistryLogin> {
  const map = new Map<string, RegistryLogin>();
  for (const d of entries) {
    if (d.registry === 'oci') continue;
    let password = d.password;
    if (d.passwordEnv) {
      password = env[d.passwordEnv];
      if (!password) {
        throw new UserError(
          `${input}: ${d.name} reads its password from $${d.passwordEnv}, which is empty or unset. Set it from a secret (env: ${d.passwordEnv}: \${{ secrets.… }}).`
        );
      }
    }
    if (password) mask(password);
    const prev = map.get(d.registry);
    if (prev?.password && password && prev.password !== password) {
      throw new UserError(
        `${input}: ${d.registry} is given two different credentials; one registry takes one login per run.`
      );
    }
    map.set(d.registry, {
      provider: d.provider !== 'auto' ? d.provider : (prev?.provider ?? 'auto'),
      username: d.username ?? prev?.username,
      password: password ?? prev?.password,
      insecure: d.insecure ?? prev?.insecure,
      chunkSize: d.chunkSize ?? prev?.chunkSize,
      options: {...prev?.options, ...d.options}
    });
  }
  return map;
}

/** The logins input of an action: parsed, passwords read from their variables and masked. */
export function readLogins(
  lines: string[],
  input: string,
  env: NodeJS.ProcessEnv,
  mask: Mask
): Map<string, RegistryLogin> {
  return loginMap(parseLogins(lines, input), env, mask, input);
}
