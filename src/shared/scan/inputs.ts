import fs from 'node:fs';
import {ActionIO} from '../action/io.js';
import {withRenamedInputs} from '../action/renamed.js';
import {getItems, getMultiline} from '../action/run.js';
import {UserError} from '../errors.js';
import {parseBoolean, parseInteger} from '../inputs.js';
import {RegistryLogin} from '../registry/credentials.js';
import {readLogins} from '../registry/logins.js';
import {cannotFire, gatesThatCannotFire} from './gate.js';
import {IgnoreRule, parseIgnoreYaml, parseTrivyIgnore} from './ignore.js';
import {FindingKind, SEVERITIES, Severity} from './report.js';

/** The scan action's inputs, read and validated in one place; errors name the input. */
export interface ScanInputs {
  targets: string[];
  platforms: string[];
  threshold: Severity;
  failOn: FindingKind[];
  scanners: string[];
  ignores: IgnoreRule[];
  ignoreUnfixed: boolean;
  logins: Map<string, RegistryLogin>;
  summaryFindings: number;
  trivyVersion: string;
  trivyPath?: string;
  cacheDir?: string;
  reportDir?: string;
  /** Keep the DB in the GitHub Actions cache. */
  cache: boolean;
  dbRepositories: string[];
  javaDb: boolean;
  javaDbRepositories: string[];
  timeout: string;
  tlsInsecure: boolean;
}

const KINDS: Record<string, FindingKind> = {
  vulnerabilities: 'vulnerability',
  vuln: 'vulnerability',
  secrets: 'secret',
  secret: 'secret',
  misconfigurations: 'misconfiguration',
  misconfig: 'misconfiguration'
};

function readIgnores(io: ActionIO): IgnoreRule[] {
  const given = getItems(io, 'ignore-files');
  const files = given.length
    ? given
    : ['.trivyignore', '.trivyignore.yaml', '.trivyignore.yml'].filter(f => fs.existsSync(f));
  const rules: IgnoreRule[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (err) {
      throw new UserError(
        `ignore-files: ${f} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); fix the path or remove it.`
      );
    }
    rules.push(...(/\.ya?ml$/i.test(f) ? parseIgnoreYaml(text, f) : parseTrivyIgnore(text, f)));
  }
  return rules;
}

/** Where trivy's databases come from when db-repository / java-db-repository are not given (action.yml's defaults). */
const DB_REPOSITORIES = ['mirror.gcr.io/aquasec/trivy-db:2', 'ghcr.io/aquasecurity/trivy-db:2'];
const JAVA_DB_REPOSITORIES = ['mirror.gcr.io/aquasec/trivy-java-db:1', 'ghcr.io/aquasecurity/trivy-java-db:1'];

/** Reads every scan input through `io` (the runner's or the command line's). */
export function readScanInputs(given: ActionIO, env: NodeJS.ProcessEnv): ScanInputs {
  const io = withRenamedInputs(given, 'scan');
  const threshold = io.input('severity-threshold').trim().toUpperCase() || 'HIGH';
  if (!(SEVERITIES as readonly string[]).includes(threshold)) {
    throw new UserError(
      `severity-threshold: "${io.input('severity-threshold')}" is not one of ${SEVERITIES.join(', ')}.`
    );
  }
  const failOnInput = getItems(io, 'fail-on');
  const failOn: FindingKind[] = [];
  for (const k of failOnInput.length ? failOnInput : ['vulnerabilities', 'secrets']) {
    if (k === 'none') continue;
    const kind = KINDS[k];
    if (!kind) throw new UserError(`fail-on: "${k}" is not one of vulnerabilities, secrets, misconfigurations, none.`);
    failOn.push(kind);
  }
  const scanners = getItems(io, 'scanners').length ? getItems(io, 'scanners') : ['vuln', 'secret'];
  for (const s of scanners) {
    if (!['vuln', 'secret', 'misconfig', 'license'].includes(s))
      throw new UserError(`scanners: "${s}" is not one of vuln, secret, misconfig.`);
  }
  // A fail-on the user chose that can never fire is a configuration error; with none given, the
  // default (vulnerabilities, secrets) follows the scanners.
  const silent = gatesThatCannotFire(failOn, scanners);
  if (silent.length && failOnInput.length) throw new UserError(`fail-on: ${silent.map(cannotFire).join('; ')}.`);
  if (!failOnInput.length) failOn.splice(0, failOn.length, ...failOn.filter(k => !silent.includes(k)));
  const ignores = readIgnores(io);
  const logins = readLogins(getMultiline(io, 'logins'), 'logins', env, s => io.mask(s));
  const targets = getItems(io, 'images');
  if (targets.length === 0) throw new UserError('images: give at least one image or oci:<layout> to scan.');
  const summaryFindings = parseInteger('summary-findings', io.input('summary-findings'), 10, 0, 1000);

  return {
    targets,
    platforms: getItems(io, 'platforms', ['all']),
    threshold: threshold as Severity,
    failOn,
    scanners,
    ignores,
    ignoreUnfixed: parseBoolean('ignore-unfixed', io.input('ignore-unfixed'), false),
    logins,
    summaryFindings,
    trivyVersion: io.input('trivy-version'),
    trivyPath: io.input('trivy-path') || undefined,
    cacheDir: io.input('cache-dir') || undefined,
    reportDir: io.input('report-dir') || undefined,
    cache: parseBoolean('cache', io.input('cache'), true),
    dbRepositories: getItems(io, 'db-repository', DB_REPOSITORIES),
    javaDb: parseBoolean('java-db', io.input('java-db'), false),
    javaDbRepositories: getItems(io, 'java-db-repository', JAVA_DB_REPOSITORIES),
    timeout: io.input('timeout') || '10m',
    tlsInsecure: parseBoolean('tls-insecure', io.input('tls-insecure'), false)
  };
}
