import {Logger} from '../log.js';
import {TokenCache} from './auth.js';
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

  get(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) {
      const login = this.logins.get(registry) ?? {provider: 'auto'};
      const ctx = {env: this.opts.env, mask: this.opts.mask, log: this.opts.log, getIdToken: this.opts.getIdToken};
      c = new RegistryClient({
        registry,
        credential: () => resolveCredential(registry, login, ctx),
        insecure: login.insecure,
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
