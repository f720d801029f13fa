import {Logger} from '../log.js';
import {Credential, TokenCache} from './auth.js';
import {RegistryClient} from './client.js';
import {Mask, RegistryLogin, resolveCredential} from './credentials.js';
import {RetryPolicy} from './retry.js';

export interface ClientsOptions {
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  retry: RetryPolicy;
  concurrency: number;
  getIdToken?: (audience: string) => Promise<string>;
}

/** Registry clients, one per registry host, sharing a token cache. */
export class Clients {
  private readonly clients = new Map<string, RegistryClient>();
  readonly tokens = new TokenCache();
  constructor(
    private readonly opts: ClientsOptions,
    private readonly logins: Map<string, RegistryLogin> = new Map()
  ) {}

  private readonly credentials = new Map<string, Promise<Credential>>();

  /** The credential for a registry, resolved once per run (cloud exchanges are not repeated). */
  credential(registry: string): Promise<Credential> {
    let c = this.credentials.get(registry);
    if (!c) {
      const login = this.logins.get(registry) ?? {provider: 'auto'};
      const ctx = {env: this.opts.env, mask: this.opts.mask, log: this.opts.log, getIdToken: this.opts.getIdToken};
      c = resolveCredential(registry, login, ctx);
      this.credentials.set(registry, c);
    }
    return c;
  }

  /** Whether a registry is reached over plain http (loopback, or insecure=true). */
  insecure(registry: string): boolean {
    return this.get(registry).base.startsWith('http://');
  }

  get(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) {
      const login = this.logins.get(registry) ?? {provider: 'auto'};
      c = new RegistryClient({
        registry,
        credential: () => this.credential(registry),
        insecure: login.insecure,
        chunkSize: login.chunkSize,
        retry: this.opts.retry,
        concurrency: Math.max(8, this.opts.concurrency * 2),
        log: this.opts.log,
        tokens: this.tokens
      });
      this.clients.set(registry, c);
    }
    return c;
  }
}
