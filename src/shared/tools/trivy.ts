import fs from 'node:fs';
import path from 'node:path';
import {execOk} from '../exec.js';
import {ToolSpec} from './install.js';

/** The trivy release the scan action pins by default (input trivy-version overrides it). */
export const TRIVY_VERSION = 'v0.76.0';

const ARCH: Record<string, string> = {x64: '64bit', arm64: 'ARM64', arm: 'ARM', ppc64: 'PPC64LE', s390x: 's390x'};
const OS: Record<string, string> = {linux: 'Linux', darwin: 'macOS', freebsd: 'FreeBSD', win32: 'windows'};

export const TRIVY: ToolSpec = {
  name: 'trivy',
  versionInput: 'trivy-version',
  pathInput: 'trivy-path',
  // JSON schema 2 with Status and the --download-db-only / repository-list flags we rely on.
  minimum: '0.50.0',
  releasesUrl: 'https://github.com/aquasecurity/trivy/releases/download',
  releasesUrlEnv: 'REGISTRY_ACTIONS_TRIVY_RELEASES_URL',
  asset: (version, platform, arch) => {
    const v = version.replace(/^v/, '');
    const ext = platform === 'win32' ? 'zip' : 'tar.gz';
    return {
      file: `trivy_${v}_${OS[platform] ?? platform}-${ARCH[arch] ?? arch}.${ext}`,
      checksums: `trivy_${v}_checksums.txt`,
      binaryInArchive: 'trivy'
    };
  },
  version: async (binary, env) => {
    const out = (await execOk({command: binary, args: ['version', '--format', 'json'], env, timeoutMs: 30000})).stdout;
    const v = (JSON.parse(out) as {Version?: string}).Version;
    if (!v) throw new Error('trivy version printed no Version');
    return v;
  }
};

/** Flags that keep trivy from reaching out on its own: we manage the DB, checks and telemetry. */
export const OFFLINE_FLAGS = [
  '--skip-db-update',
  '--skip-java-db-update',
  '--skip-check-update',
  '--skip-version-check',
  '--disable-telemetry'
];

/**
 * A working directory of trivy's own, with an empty config file and an empty ignore file named
 * explicitly, so nothing in the workspace (a .trivyignore, .trivyignore.yaml or trivy.yaml that trivy
 * would read from its working directory) changes a scan behind the gate's back: only the action's
 * inputs and the ignore files it names decide. Returns the directory and the flags that point at it.
 */
export function isolateTrivy(workDir: string): {cwd: string; flags: string[]} {
  const cwd = path.join(workDir, 'trivy-isolated');
  fs.mkdirSync(cwd, {recursive: true});
  const config = path.join(cwd, 'trivy-config.yaml');
  const ignore = path.join(cwd, 'no-ignores');
  fs.writeFileSync(config, '# registry-actions: trivy is configured by flags only\n');
  fs.writeFileSync(ignore, '');
  return {cwd, flags: ['--config', config, '--ignorefile', ignore]};
}

export interface TrivyScanArgs {
  /** A registry reference (repo@digest) or an OCI layout directory (input: true). */
  target: string;
  input: boolean;
  cacheDir: string;
  output: string;
  scanners: string[];
  insecure: boolean;
  timeout: string;
  /** isolateTrivy's flags. */
  isolation: string[];
}

/**
 * `trivy image` arguments, offline, to one output file: `extra` flags (scanners, timeout) before the
 * quiet and isolation flags, then the target (a registry reference, or a layout directory with input). Pure.
 */
export function trivyImageArgs(o: {
  format: string;
  output: string;
  cacheDir: string;
  insecure: boolean;
  isolation: string[];
  target: string;
  input?: boolean;
  extra?: string[];
}): string[] {
  return [
    'image',
    '--format',
    o.format,
    '--output',
    o.output,
    '--cache-dir',
    o.cacheDir,
    ...OFFLINE_FLAGS,
    '--offline-scan',
    ...(o.extra ?? []),
    '--quiet',
    ...o.isolation,
    ...(o.insecure ? ['--insecure'] : []),
    ...(o.input ? ['--input', path.resolve(o.target)] : [o.target])
  ];
}

/** `trivy image` arguments: one scan to JSON, every severity, no gate (ours decides). Pure. */
export function trivyScanArgs(o: TrivyScanArgs): string[] {
  return trivyImageArgs({...o, format: 'json', extra: ['--scanners', o.scanners.join(','), '--timeout', o.timeout]});
}

/** `trivy image --download-db-only` from one repository. Pure. */
export function trivyDownloadArgs(o: {
  cacheDir: string;
  repository: string;
  java: boolean;
  insecure: boolean;
  isolation: string[];
}): string[] {
  return [
    'image',
    o.java ? '--download-java-db-only' : '--download-db-only',
    o.java ? '--java-db-repository' : '--db-repository',
    o.repository,
    '--cache-dir',
    o.cacheDir,
    '--skip-check-update',
    '--skip-version-check',
    '--disable-telemetry',
    '--quiet',
    ...o.isolation,
    ...(o.insecure ? ['--insecure'] : [])
  ];
}
