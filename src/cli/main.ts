import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import * as core from '@actions/core';
import {ActionIO} from '../shared/action/io.js';
import {describeFailure} from '../shared/action/run.js';
import {main as tagMain} from '../actions/tag/main.js';
import {main as pushMain} from '../actions/push-multi/main.js';
import {main as signMain} from '../actions/sign/main.js';
import {main as scanMain} from '../actions/scan/main.js';
import {main as cleanupMain} from '../actions/ghcr-cleanup/main.js';
import {main as syncMain} from '../actions/sync/main.js';
import {main as auditMain} from '../actions/audit/main.js';
import {COMMANDS, InputSpec, UsageError, commandHelp, isSecretInput, parseArgs, resolveInputs, usage} from './args.js';
import {detectCi} from './ci.js';
import {StatusLine} from './status-line.js';

const MAINS: Record<string, (io: ActionIO) => Promise<void>> = {
  tag: tagMain,
  'push-multi': pushMain,
  sign: signMain,
  scan: scanMain,
  'ghcr-cleanup': cleanupMain,
  sync: syncMain,
  audit: auditMain
};

/** The repository root (dist/cli/ or lib/cli/ are two levels down), where each action.yml lives. */
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** The version, from the package.json this tool ships with. */
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {version: string}).version;

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
  process.env.RUNNER_TEMP ??= tmp;
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

  // The action's main runs with an ActionIO of the terminal's: inputs from the flags and environment,
  // outputs collected, the log as plain lines (errors and warnings on stderr; with --json all of it),
  // and on a terminal the copy's progress as one status line redrawn every second.
  const write = (s: string): boolean => process.stdout.write(s);
  const status =
    process.stdout.isTTY && !parsed.json
      ? new StatusLine(
          s => write(s),
          () => process.stdout.columns || 80
        )
      : undefined;
  if (status) process.env.REGISTRY_ACTIONS_PROGRESS_SECONDS ??= '1';
  // Secrets stay masked: every line printed is redacted, outputs included.
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
  const toErr = (text: string): void => {
    status?.clear();
    process.stderr.write(`${redact(text)}\n`);
  };
  const toOut = (text: string): void => {
    if (parsed.json) return toErr(text);
    if (status) status.line(redact(text));
    else write(`${redact(text)}\n`);
  };
  const given: Record<string, string> = {};
  const io: ActionIO = {
    input: (name, opts) => {
      const v = values[name] ?? '';
      return opts?.trimWhitespace === false ? v : v.trim();
    },
    output: (name, value) => {
      given[name] = value;
    },
    mask: secret => {
      if (secret.length >= 4) masks.add(secret);
    },
    log: {
      info: toOut,
      warning: m => toErr(`warning: ${m}`),
      error: m => toErr(`error: ${m}`),
      debug: m => {
        if (parsed.verbose) toErr(`debug: ${m}`);
      },
      group: async (name, fn) => {
        toOut(`▸ ${name}`);
        return fn();
      }
    },
    raw: chunk => {
      status?.clear();
      (parsed.json ? process.stderr : process.stdout).write(redact(chunk));
    },
    summary: parsed.summaryFile
      ? async html => fs.promises.appendFile(parsed.summaryFile as string, redact(html))
      : undefined,
    // No post step outside Actions: the main step removes its own private files.
    saveState: () => undefined,
    exportVariable: (name, value) => {
      process.env[name] = value;
    },
    getIdToken: audience => core.getIDToken(audience)
  };
  let failed = false;
  try {
    await MAINS[spec.action](io);
  } catch (err) {
    failed = true;
    const f = describeFailure(err);
    if (f.debug && parsed.verbose) toErr(`debug: ${f.debug}`);
    if (f.stack) toErr(f.stack);
    toErr(`error: ${f.message}`);
  }
  status?.clear();
  const result = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, redact(v)]));
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
