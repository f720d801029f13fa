import fs from 'node:fs';
import path from 'node:path';
import {UserError} from '../errors.js';
import {ExecResult, exec} from '../exec.js';
import {Credential} from '../registry/auth.js';
import {dockerConfigJson} from '../registry/docker-config.js';
import {NotationTrust, STORE, pemCertificates, signingKeys, trustPolicy} from './config.js';

/**
 * A private Notation configuration for one run (NOTATION_CONFIG, NOTATION_LIBEXEC, NOTATION_CACHE under
 * the run's temporary directory, removed with it): registry logins and plain-HTTP registries in its
 * config.json, the signing key (mode 0600) and its chain, the trust policy and trust store, plugins.
 * The child gets a clean environment: nothing of the user's NOTATION_* or docker config leaks in.
 */
export class NotationHome {
  readonly config: string;
  readonly libexec: string;

  constructor(
    readonly notation: string,
    readonly dir: string,
    private readonly baseEnv: NodeJS.ProcessEnv
  ) {
    this.config = path.join(dir, 'config');
    this.libexec = path.join(dir, 'libexec');
    for (const d of [this.config, this.libexec, path.join(dir, 'cache')])
      fs.mkdirSync(d, {recursive: true, mode: 0o700});
  }

  get env(): NodeJS.ProcessEnv {
    return {
      PATH: this.baseEnv.PATH ?? '',
      HOME: this.dir,
      NOTATION_CONFIG: this.config,
      NOTATION_LIBEXEC: this.libexec,
      NOTATION_CACHE: path.join(this.dir, 'cache'),
      ...(this.baseEnv.HTTPS_PROXY ? {HTTPS_PROXY: this.baseEnv.HTTPS_PROXY} : {}),
      ...(this.baseEnv.NO_PROXY ? {NO_PROXY: this.baseEnv.NO_PROXY} : {})
    };
  }

  /** Registry logins (docker config format, which Notation reads from its config.json) and plain-HTTP hosts. */
  registries(credentials: Map<string, Credential>, insecure: string[]): void {
    const config = JSON.parse(dockerConfigJson(credentials)) as Record<string, unknown>;
    fs.writeFileSync(
      path.join(this.config, 'config.json'),
      `${JSON.stringify({...config, insecureRegistries: insecure}, null, 2)}\n`,
      {mode: 0o600}
    );
  }

  /** A local signing key and its certificate chain (PEM), as the default key `release`. */
  signingKey(keyPem: string, chainPem: string): void {
    const dir = path.join(this.config, 'localkeys');
    fs.mkdirSync(dir, {recursive: true, mode: 0o700});
    const key = path.join(dir, 'release.key');
    const cert = path.join(dir, 'release.crt');
    fs.writeFileSync(key, keyPem.endsWith('\n') ? keyPem : `${keyPem}\n`, {mode: 0o600});
    fs.writeFileSync(cert, pemCertificates(chainPem).join(''), {mode: 0o600});
    fs.writeFileSync(path.join(this.config, 'signingkeys.json'), signingKeys(key, cert), {mode: 0o600});
  }

  /** trustpolicy.json and the trust store for the trust given. */
  trust(t: NotationTrust): void {
    fs.writeFileSync(path.join(this.config, 'trustpolicy.json'), trustPolicy(t));
    const store = (kind: string, pems: string[]): void => {
      if (!pems.length) return;
      const dir = path.join(this.config, 'truststore', 'x509', kind, STORE);
      fs.mkdirSync(dir, {recursive: true});
      pems.flatMap(pemCertificates).forEach((pem, i) => fs.writeFileSync(path.join(dir, `${kind}-${i + 1}.pem`), pem));
    };
    store('ca', t.ca);
    store('signingAuthority', t.signingAuthority);
    store('tsa', t.tsa);
  }

  /** The user's own trustpolicy.json and trust store directory (its x509/<type>/<store>/ tree). */
  userTrust(policyFile: string, storeDir?: string): void {
    fs.copyFileSync(policyFile, path.join(this.config, 'trustpolicy.json'));
    if (storeDir) fs.cpSync(storeDir, path.join(this.config, 'truststore'), {recursive: true});
  }

  /** Installs a plugin from a file (a binary or its archive), checked against the SHA-256 given. */
  async installPlugin(source: {file?: string; url?: string; sha256: string}, input: string): Promise<void> {
    const args = [
      'plugin',
      'install',
      ...(source.file ? ['--file', source.file] : ['--url', source.url as string]),
      '--sha256sum',
      source.sha256,
      '--force'
    ];
    const res = await this.run(args);
    if (res.code !== 0)
      throw new UserError(`${input}: the plugin could not be installed: ${res.stderr.trim() || res.stdout.trim()}`);
  }

  run(args: string[]): Promise<ExecResult> {
    return exec({command: this.notation, args, env: this.env, timeoutMs: 300_000});
  }
}
