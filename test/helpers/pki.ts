import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * A certificate authority and code-signing leaves made with openssl, as a team's PKI issues them for
 * Notation: an EC P-256 root (CA:TRUE, keyCertSign) and leaves with keyUsage digitalSignature,
 * extendedKeyUsage codeSigning and a subject carrying C, ST and O (Notation requires them).
 */
export interface Ca {
  dir: string;
  /** The root certificate (PEM file). */
  cert: string;
  key: string;
  subject: string;
}

export interface Leaf {
  /** Private key (unencrypted PKCS#8 PEM file). */
  key: string;
  /** The chain, leaf first, ending at the root (PEM file). */
  chain: string;
  /** The leaf's subject as Notation compares it. */
  subject: string;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, {cwd, stdio: 'pipe'});
};

/** `openssl req` with a new EC P-256 key (unencrypted) for `subject`, writing `key` and `out`. */
const newKeyRequest = (key: string, out: string, subject: string, extra: string[] = []): string[] => [
  'req',
  ...extra,
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:P-256',
  '-nodes',
  '-keyout',
  key,
  '-out',
  out,
  '-subj',
  subject
];

export function makeCa(dir: string, name: string): Ca {
  fs.mkdirSync(dir, {recursive: true});
  const subject = `/C=US/ST=WA/O=${name}/CN=${name} Root`;
  openssl(
    [
      ...newKeyRequest(`${name}-ca.key`, `${name}-ca.crt`, subject, ['-x509', '-days', '30']),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign'
    ],
    dir
  );
  return {dir, cert: path.join(dir, `${name}-ca.crt`), key: path.join(dir, `${name}-ca.key`), subject};
}

/** A code-signing leaf issued by `ca` for the subject C=US, ST=WA, O=<org>, CN=<cn>. */
export function makeLeaf(ca: Ca, org: string, cn: string): Leaf {
  const base = path.join(ca.dir, `${org}-${cn}`.replace(/[^A-Za-z0-9-]/g, '_'));
  fs.writeFileSync(
    `${base}.ext`,
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n'
  );
  openssl(newKeyRequest(`${base}.key`, `${base}.csr`, `/C=US/ST=WA/O=${org}/CN=${cn}`), ca.dir);
  // Issued with `openssl ca` to backdate it an hour (x509 -req starts validity now, and an RFC 3161
  // timestamp's accuracy window may then begin before the certificate does).
  const db = path.join(ca.dir, 'db');
  fs.mkdirSync(path.join(db, 'new'), {recursive: true});
  if (!fs.existsSync(path.join(db, 'index.txt'))) {
    fs.writeFileSync(path.join(db, 'index.txt'), '');
    fs.writeFileSync(path.join(db, 'serial'), '1000\n');
  }
  fs.writeFileSync(
    path.join(db, 'ca.cnf'),
    `[ca]\ndefault_ca = ca\n[ca]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}/new\nserial = ${db}/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\ncopy_extensions = none\n[any]\ncountryName = optional\nstateOrProvinceName = optional\norganizationName = optional\ncommonName = supplied\n`
  );
  const fmt = (d: Date): string => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
  openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      path.join(db, 'ca.cnf'),
      '-cert',
      ca.cert,
      '-keyfile',
      ca.key,
      '-in',
      `${base}.csr`,
      '-out',
      `${base}.crt`,
      '-startdate',
      fmt(new Date(Date.now() - 3_600_000)),
      '-enddate',
      fmt(new Date(Date.now() + 7 * 86_400_000)),
      '-extfile',
      `${base}.ext`
    ],
    ca.dir
  );
  fs.writeFileSync(`${base}.chain.pem`, fs.readFileSync(`${base}.crt`, 'utf8') + fs.readFileSync(ca.cert, 'utf8'));
  return {key: `${base}.key`, chain: `${base}.chain.pem`, subject: `C=US, ST=WA, O=${org}, CN=${cn}`};
}

/** A TLS server certificate for `host` (subjectAltName DNS), issued by `ca`: key and certificate PEM files. */
export function makeServerCert(ca: Ca, host: string): {key: string; cert: string} {
  const base = path.join(ca.dir, `tls-${host.replace(/[^A-Za-z0-9.-]/g, '_')}`);
  fs.writeFileSync(
    `${base}.ext`,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${net.isIP(host) ? 'IP' : 'DNS'}:${host}\n`
  );
  openssl(newKeyRequest(`${base}.key`, `${base}.csr`, `/C=US/ST=WA/O=Test/CN=${host}`), ca.dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-out',
      `${base}.crt`,
      '-days',
      '7',
      '-extfile',
      `${base}.ext`
    ],
    ca.dir
  );
  return {key: `${base}.key`, cert: `${base}.crt`};
}
