import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import {runAction} from '../shared/action/run.js';
import {main as tagMain} from '../actions/tag/main.js';
import {main as pushMain} from '../actions/push-multi/main.js';
import {main as signMain} from '../actions/sign/main.js';
import {main as scanMain} from '../actions/scan/main.js';
import {main as cleanupMain} from '../actions/ghcr-cleanup/main.js';
import {COMMANDS, InputSpec, UsageError, commandHelp, isSecretInput, parseArgs, resolveInputs, usage} from './args.js';
import {detectCi} from './ci.js';
import {StatusLine} from './status-line.js';

const MAINS: Record<string, () => Promise<void>> = {
  tag: tagMain,
  'push-multi': pushMain,
  sign: signMain,
  scan: scanMain,
  'ghcr-cleanup': cleanupMain
};

const VERSION = '1.0.0';

/** The repository root (dist/cli/ or lib/cli/ are two levels down), where each action.yml lives. */
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function actionSpec(action: string): {inputs: InputSpec[]; outputs: InputSpec[]} {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, action, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, {description?: string; default?: string; required?: boolean}>;
    outputs?: Record<string, {description?: string}>;
  };
  const list = (
    o: Record<string, {description?: string; default?: string; required?: boolean}> | undefined
  ): InputSpec[] =>
    Object.entries(o ?? {}).map(([name, v]) => ({
      name,
      description: v.description ?? '',
      default: v.default,
      required: v.required
    }));
  return {inputs: list(doc.inputs), outputs: list(doc.outputs)};
}

/** Workflow commands become terminal text: errors and warnings on stderr, groups as headings, masks dropped. */
function translate(
  line: string,
  verbose: boolean,
  json: boolean
): {text?: string; stream: 'out' | 'err'; mask?: string} {
  const unescape = (s: string): string => s.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
  const m = line.match(/^::([a-z-]+)(?: [^:]*)?::(.*)$/);
  const normal = json ? 'err' : 'out';
  if (!m) return {text: line, stream: normal};
  const [, cmd, msg] = m;
  if (cmd === 'add-mask') return {stream: normal, mask: unescape(msg)};
  if (cmd === 'error') return {text: `error: ${unescape(msg)}`, stream: 'err'};
  if (cmd === 'warning') return {text: `warning: ${unescape(msg)}`, stream: 'err'};
  if (cmd === 'notice') return {text: `notice: ${unescape(msg)}`, stream: normal};
  if (cmd === 'group') return {text: `▸ ${unescape(msg)}`, stream: normal};
  if (cmd === 'debug') return verbose ? {text: `debug: ${unescape(msg)}`, stream: 'err'} : {stream: 'err'};
  return {stream: normal};
}

function parseOutputFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const h = lines[i].match(/^([^=<]+)<<(.+)$/);
    if (!h) continue;
    const v: string[] = [];
    for (i++; i < lines.length && lines[i] !== h[2]; i++) v.push(lines[i]);
    out[h[1]] = v.join('\n');
  }
  return out;
}

export async function cli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${usage(VERSION)}\n`);
    return 0;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const spec = COMMANDS.find(c => c.command === command);
  if (!spec) {
    process.stderr.write(`registry-actions: unknown command "${command}"\n\n${usage(VERSION)}\n`);
    return 2;
  }
  const {inputs, outputs} = actionSpec(spec.action);
  let parsed;
  try {
    parsed = parseArgs(rest, inputs, command);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`registry-actions: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(`${commandHelp(spec, inputs, outputs)}\n`);
    return 0;
  }
  for (const [name, file] of Object.entries(parsed.secretFiles)) {
    try {
      parsed.values[name] = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      process.stderr.write(`registry-actions: --${name}-file: cannot read ${file} (${(err as Error).message})\n`);
      return 2;
    }
  }
  const values = resolveInputs(inputs, parsed.values, process.env, spec.fixed);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-actions-'));
  const files = {
    GITHUB_OUTPUT: path.join(tmp, 'output'),
    GITHUB_ENV: path.join(tmp, 'env'),
    GITHUB_STEP_SUMMARY: path.join(tmp, 'summary.md'),
    GITHUB_STATE: path.join(tmp, 'state')
  };
  for (const f of Object.values(files)) fs.writeFileSync(f, '');
  Object.assign(process.env, files, {RUNNER_TEMP: process.env.RUNNER_TEMP ?? tmp});
  if (spec.action === 'tag') {
    const ci = detectCi(process.env);
    // On a laptop the context is the git checkout (unless --context says otherwise).
    if (ci.system === 'git' && !parsed.values.context && !process.env.REGISTRY_ACTIONS_CONTEXT) values.context = 'git';
    if (ci.system === 'git') process.env.REGISTRY_ACTIONS_NO_GITHUB_API = 'true';
    if (ci.system !== 'github' && ci.system !== 'git') {
      Object.assign(process.env, ci.env);
      const event = path.join(tmp, 'event.json');
      fs.writeFileSync(event, JSON.stringify(ci.payload ?? {}));
      process.env.GITHUB_EVENT_PATH = event;
    }
  }
  for (const [k, v] of Object.entries(values)) process.env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;

  // The actions speak workflow commands on stdout; a terminal gets plain lines, and the copy's progress
  // as one status line redrawn every second.
  const write = process.stdout.write.bind(process.stdout);
  const status =
    process.stdout.isTTY && !parsed.json
      ? new StatusLine(
          s => write(s),
          () => process.stdout.columns || 80
        )
      : undefined;
  if (status) process.env.REGISTRY_ACTIONS_PROGRESS_SECONDS ??= '1';
  let pending = '';
  // Secrets the action masked stay masked here: every line printed is redacted, outputs included.
  const masks = new Set<string>(
    [...inputs.filter(i => isSecretInput(i.name)).map(i => values[i.name]), process.env.GITHUB_TOKEN].filter(
      (v): v is string => !!v && v.length >= 4
    )
  );
  const redact = (text: string): string => {
    let out = text;
    for (const m of masks) out = out.split(m).join('***');
    return out;
  };
  const emit = (line: string): void => {
    const t = translate(line, parsed.verbose, parsed.json);
    if (t.mask && t.mask.length >= 4) masks.add(t.mask);
    if (t.text === undefined) return;
    t.text = redact(t.text);
    if (t.stream === 'err') {
      status?.clear();
      process.stderr.write(`${t.text}\n`);
    } else if (status) status.line(t.text);
    else write(`${t.text}\n`);
  };
  process.stdout.write = ((chunk: string | Uint8Array, ...args: unknown[]): boolean => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) emit(l);
    const cb = args.find(a => typeof a === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  try {
    await runAction(MAINS[spec.action]);
  } finally {
    if (pending) emit(pending);
    status?.clear();
    process.stdout.write = write;
  }
  const failed = process.exitCode === 1;
  process.exitCode = 0;
  const result = Object.fromEntries(
    Object.entries(parseOutputFile(files.GITHUB_OUTPUT)).map(([k, v]) => [k, redact(v)])
  );
  if (parsed.json) {
    write(`${JSON.stringify({command, ok: !failed, outputs: result}, null, 2)}\n`);
  } else {
    for (const [k, v] of Object.entries(result)) {
      write(
        v.includes('\n')
          ? `${k}:\n${v
              .split('\n')
              .map(l => `  ${l}`)
              .join('\n')}\n`
          : `${k}: ${v}\n`
      );
    }
  }
  fs.rmSync(tmp, {recursive: true, force: true});
  if (spec.action === 'scan' && result.result === 'fail') return 3;
  return failed ? 1 : 0;
}
