import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {execOk} from '../exec.js';
import {Logger} from '../log.js';
import {Mask} from '../registry/credentials.js';
import {IssuedCertificate, requestCertificate} from './fulcio.js';

/** Fulcio certificates live 10 minutes; one older than this is replaced before the next signature. */
export const CERTIFICATE_REUSE_MS = 7 * 60_000;

/** What cosign signs with: an ephemeral key it reads encrypted, and the Fulcio certificate for it. */
export interface CertifiedKey {
  keyRef: string;
  /** Unlocks keyRef (COSIGN_PASSWORD). */
  password: string;
  certificate: string;
}

/**
 * Keyless signing with one Fulcio certificate for a whole run, where cosign would ask Fulcio once per
 * digest: one ephemeral P-256 key made here, imported for cosign (encrypted with a random password),
 * and certified once; a new token and certificate only when the certificate nears its 10 minutes.
 */
export class CertificateSession {
  private key = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey;
  private imported?: Promise<{keyRef: string; password: string}>;
  private current?: {file: string; at: number; pending: Promise<IssuedCertificate>};
  /** Certificates requested from Fulcio in this run. */
  requested = 0;

  constructor(
    private readonly opts: {
      cosign: string;
      dir: string;
      fulcio: string;
      token: () => Promise<string>;
      env: NodeJS.ProcessEnv;
      mask: Mask;
      log: Logger;
      now?: () => number;
    }
  ) {}

  /** The key and a certificate valid for at least three more minutes. */
  async certified(): Promise<CertifiedKey> {
    const now = (this.opts.now ?? Date.now)();
    if (!this.current || now - this.current.at > CERTIFICATE_REUSE_MS) {
      const file = path.join(this.opts.dir, `certificate-${this.requested + 1}.pem`);
      this.requested++;
      const pending = this.opts.token().then(async token => {
        this.opts.mask(token);
        const issued = await requestCertificate(this.opts.fulcio, token, this.key);
        fs.writeFileSync(file, issued.certificate, {mode: 0o600});
        this.opts.log.info(`Fulcio (${this.opts.fulcio}) issued the run's signing certificate`);
        return issued;
      });
      this.current = {file, at: now, pending};
    }
    const current = this.current;
    const [{keyRef, password}] = await Promise.all([this.importKey(), current.pending]);
    return {keyRef, password, certificate: current.file};
  }

  /** cosign reads only its own encrypted key format: the PKCS#8 key goes through `cosign import-key-pair`. */
  private importKey(): Promise<{keyRef: string; password: string}> {
    this.imported ??= (async () => {
      const password = crypto.randomBytes(24).toString('base64url');
      this.opts.mask(password);
      const dir = fs.mkdtempSync(path.join(this.opts.dir, 'ephemeral-'));
      const pkcs8 = path.join(dir, 'key.pem');
      fs.writeFileSync(pkcs8, this.key.export({format: 'pem', type: 'pkcs8'}), {mode: 0o600});
      try {
        await execOk({
          command: this.opts.cosign,
          args: ['import-key-pair', '--key', pkcs8, '--output-key-prefix', path.join(dir, 'ephemeral'), '--yes'],
          env: {...this.opts.env, COSIGN_PASSWORD: password},
          timeoutMs: 30_000
        });
      } finally {
        fs.rmSync(pkcs8, {force: true});
      }
      return {keyRef: path.join(dir, 'ephemeral.key'), password};
    })();
    return this.imported;
  }
}
