/** Command-line parsing for registry-actions: flags map one to one to the action inputs. Pure. */

export interface InputSpec {
  name: string;
  description: string;
  default?: string;
  required?: boolean;
}

export interface CommandSpec {
  command: string;
  action: string;
  summary: string;
  /** Inputs the command sets itself (verify = sign with verify: true). */
  fixed?: Record<string, string>;
}

export const COMMANDS: CommandSpec[] = [
  {command: 'tag', action: 'tag', summary: 'derive tags, labels and annotations from the CI context'},
  {command: 'push', action: 'push-multi', summary: 'copy an image, every platform by digest, to many registries'},
  {command: 'sign', action: 'sign', summary: 'sign images by digest with cosign'},
  {command: 'verify', action: 'sign', summary: 'verify cosign signatures of images', fixed: {verify: 'true'}},
  {command: 'scan', action: 'scan', summary: 'scan images with trivy and gate on the findings'},
  {command: 'cleanup', action: 'ghcr-cleanup', summary: 'apply retention policies to GHCR or any OCI registry'},
  {command: 'sync', action: 'sync', summary: 'mirror sets of upstream images into your registries, only what changed'},
  {
    command: 'audit',
    action: 'audit',
    summary: 'inventory, storage and compliance of your registries: a report, metrics and a summary'
  }
];

export class UsageError extends Error {}

export interface Parsed {
  values: Record<string, string>;
  /** Secret inputs given as --<name>-file <path>: read by the caller. */
  secretFiles: Record<string, string>;
  json: boolean;
  verbose: boolean;
  help: boolean;
  /** --summary <file>: the job summary (HTML, as GitHub Actions shows it) is appended there. */
  summaryFile?: string;
}

/** The environment variable that gives an input's default: REGISTRY_ACTIONS_SEVERITY_THRESHOLD. */
export const envName = (input: string): string => `REGISTRY_ACTIONS_${input.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** Inputs that carry secrets (passwords, tokens): never taken as flags, where shell history and process lists keep them. */
export function isSecretInput(name: string): boolean {
  return /(^|-)(password|token)$/.test(name) || name === 'notation-key';
}

function secretRefused(name: string, command: string): UsageError {
  return new UsageError(
    `${command}: --${name} is a secret and is not taken on the command line (shell history and process lists keep it). Set ${envName(name)} in the environment, or give --${name}-file <path>.`
  );
}

/**
 * Parses `--name value`, `--name=value`, and `--flag` alone (true) for a command's inputs. A repeated
 * flag adds a line (multi-line inputs: destinations, tags). Unknown flags are usage errors.
 */
export function parseArgs(argv: string[], inputs: InputSpec[], command: string): Parsed {
  const names = new Set(inputs.map(i => i.name));
  const out: Parsed = {values: {}, secretFiles: {}, json: false, verbose: false, help: false};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') out.json = true;
    else if (a === '--verbose' || a === '-v') out.verbose = true;
    else if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--summary' || a.startsWith('--summary=')) {
      const file = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!file || file.startsWith('--')) throw new UsageError(`${command}: --summary needs a file path`);
      out.summaryFile = file;
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const fileOf = name.endsWith('-file') ? name.slice(0, -5) : undefined;
      if (fileOf && names.has(fileOf) && isSecretInput(fileOf)) {
        const file = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (!file) throw new UsageError(`${command}: --${name} needs a path`);
        out.secretFiles[fileOf] = file;
        continue;
      }
      if (isSecretInput(name)) throw secretRefused(name, command);
      if (!names.has(name)) {
        const near = [...names].filter(n => n.includes(name) || name.includes(n)).slice(0, 3);
        throw new UsageError(
          `${command}: unknown option --${name}${near.length ? ` (did you mean ${near.map(n => `--${n}`).join(', ')}?)` : ''}; see registry-actions ${command} --help`
        );
      }
      let value: string;
      if (eq > 0) value = a.slice(eq + 1);
      else if (i + 1 < argv.length && (!argv[i + 1].startsWith('--') || argv[i + 1].startsWith('-----')))
        value = argv[++i];
      else value = 'true';
      // A private key's text (rather than a path, env:// or KMS reference) is a secret too.
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) throw secretRefused(name, command);
      out.values[name] = out.values[name] !== undefined ? `${out.values[name]}\n${value}` : value;
    } else {
      throw new UsageError(`${command}: unexpected argument "${a}"; options are written --name value`);
    }
  }
  return out;
}

/** The inputs an action receives: flags, then REGISTRY_ACTIONS_* variables, then action.yml defaults. Pure. */
export function resolveInputs(
  inputs: InputSpec[],
  given: Record<string, string>,
  env: NodeJS.ProcessEnv,
  fixed: Record<string, string> = {}
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of inputs) {
    const fromEnv = env[envName(i.name)];
    let v = given[i.name] ?? fromEnv;
    if (v === undefined && i.default !== undefined) {
      // Workflow expressions have no meaning outside Actions: ${{ github.token }} becomes $GITHUB_TOKEN.
      v = /\$\{\{\s*github\.token\s*\}\}/.test(i.default) ? (env.GITHUB_TOKEN ?? '') : i.default;
    }
    if (v !== undefined) out[i.name] = v;
  }
  return {...out, ...fixed};
}

/** `--help` text for one command, from the action's inputs. Pure. */
export function commandHelp(spec: CommandSpec, inputs: InputSpec[], outputs: InputSpec[]): string {
  const lines = [
    `registry-actions ${spec.command}: ${spec.summary}`,
    '',
    `Usage: registry-actions ${spec.command} [--<input> <value>]… [--json] [--verbose] [--summary <file>]`,
    '',
    'Options (each also read from the environment variable shown):'
  ];
  for (const i of inputs.filter(x => !(spec.fixed && x.name in spec.fixed))) {
    const flag = isSecretInput(i.name) ? `--${i.name}-file <path> (secret: no --${i.name})` : `--${i.name}`;
    lines.push(
      `  ${flag}${i.required ? ' (required)' : ''}  [${envName(i.name)}]${i.default !== undefined && i.default !== '' ? ` default: ${i.default}` : ''}`
    );
    lines.push(`      ${i.description}`);
  }
  lines.push('', 'Outputs (printed; with --json as one JSON object):');
  for (const o of outputs) lines.push(`  ${o.name}: ${o.description}`);
  lines.push(
    '',
    'A repeated option adds a line (multi-line inputs). Exit codes: 0 ok, 1 failed, 2 usage error, 3 scan gate failed (findings).'
  );
  return lines.join('\n');
}

export function usage(version: string): string {
  return [
    `registry-actions ${version}: tag, publish, sign, scan and clean up container images in any CI or on a laptop`,
    '',
    'Usage: registry-actions <command> [--<input> <value>]… [--json] [--verbose] [--summary <file>]',
    '',
    'Commands:',
    ...COMMANDS.map(c => `  ${c.command.padEnd(8)} ${c.summary}`),
    '',
    "registry-actions <command> --help lists the command's options: the inputs of the GitHub Action of the same job.",
    '--summary <file> appends the job summary (HTML, as GitHub Actions shows it) to the file, for CI systems that publish one.',
    'CI context is read from GitHub Actions, GitLab CI, Azure DevOps, Jenkins or plain git.',
    'Exit codes: 0 ok, 1 failed, 2 usage error, 3 scan gate failed (findings).'
  ].join('\n');
}
