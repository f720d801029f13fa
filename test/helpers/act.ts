import {execFile} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {promisify} from 'node:util';
import {YAMLMap, isMap, isSeq, parseDocument} from 'yaml';
import {ROOT} from './run-action.js';
import {NODE24} from './tools.js';

/**
 * Running workflows under nektos/act (a runner implementation we did not write; scripts/setup.sh
 * builds it), self-hosted mode: the steps run on this machine, `uses: org/registry-actions/<action>@v1`
 * resolves through --local-repository to a copy of what a release holds.
 */

/** What `uses: org/registry-actions/<action>@v1` fetches from a release: each action folder, dist/, package.json. */
export function releaseCopy(dir: string): string {
  for (const name of fs.readdirSync(ROOT))
    if (name === 'dist' || fs.existsSync(path.join(ROOT, name, 'action.yml')))
      fs.cpSync(path.join(ROOT, name), path.join(dir, name), {recursive: true});
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return dir;
}

/** A git repository holding `files` (act reads the commit, and the repository's name from origin). */
export async function gitRepo(
  dir: string,
  files: Record<string, string>,
  opts: {remote?: string; tag?: string} = {}
): Promise<string> {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), {recursive: true});
    fs.writeFileSync(path.join(dir, name), text);
  }
  const git = (...args: string[]): Promise<unknown> =>
    promisify(execFile)('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {cwd: dir});
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'workflow');
  if (opts.remote) await git('remote', 'add', 'origin', opts.remote);
  if (opts.tag) await git('tag', opts.tag);
  return dir;
}

export interface ActRun {
  ok: boolean;
  log: string;
}

export interface ActOptions {
  /** Event name and its payload (act's -e file). */
  event: string;
  payload: object;
  /** The workflow file, relative to the repository. */
  workflow: string;
  /** The runner's environment (--env): what act does not set itself. */
  env?: Record<string, string>;
  /** Secrets: passed to act through its environment (`-s NAME`), never on its command line. */
  secrets?: Record<string, string>;
  /** owner/repo@ref → directory, for `uses:` of actions not fetched from GitHub. */
  localRepositories: Record<string, string>;
  actor?: string;
  /** Only the matrix combinations with these values (act's --matrix key:value). */
  matrix?: string[];
}

/** The actions declare node24, as GitHub's runners run them: act runs the `node` first on PATH. */
function runnerPath(): string {
  const node24 = fs.existsSync(NODE24) ? [path.dirname(NODE24)] : [];
  return [...node24, process.env.PATH ?? ''].join(path.delimiter);
}

/** Runs one workflow of `repo` under act; `ok` is act's exit status, `log` everything it printed. */
export async function runAct(act: string, repo: string, o: ActOptions): Promise<ActRun> {
  const eventFile = path.join(repo, '..', `${path.basename(repo)}-event.json`);
  fs.writeFileSync(eventFile, JSON.stringify(o.payload));
  const args = [
    o.event,
    '-W',
    o.workflow,
    '-e',
    eventFile,
    '-P',
    'ubuntu-latest=-self-hosted',
    '--actor',
    o.actor ?? 'octocat',
    ...Object.entries(o.localRepositories).flatMap(([k, v]) => ['--local-repository', `${k}=${v}`]),
    ...Object.entries(o.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...Object.keys(o.secrets ?? {}).flatMap(k => ['-s', k]),
    ...(o.matrix ?? []).flatMap(m => ['--matrix', m])
  ];
  try {
    const {stdout, stderr} = await promisify(execFile)(act, args, {
      cwd: repo,
      env: {...process.env, ...o.secrets, PATH: runnerPath(), HOME: process.env.HOME ?? repo},
      maxBuffer: 64 << 20,
      timeout: 300_000
    });
    return {ok: true, log: `${stdout}${stderr}`};
  } catch (err) {
    const e = err as {stdout?: string; stderr?: string};
    return {ok: false, log: `${e.stdout ?? ''}${e.stderr ?? ''}`};
  }
}

/**
 * What an example workflow needs to run offline, and nothing else: the example's steps, ids, expressions
 * and inputs stay as users copy them.
 */
export interface Offline {
  /** Text replacements in the workflow and the files it reads (public hosts → loopback ones), in order. */
  replace: Array<[string, string]>;
  /** Inputs added to every step of an action: where a default reaches the internet (tool downloads, public Sigstore, trivy's DB). */
  add?: Record<string, Record<string, string>>;
  /** push-multi's `build: true` copies this OCI layout instead (no BuildKit daemon here). */
  layout?: string;
}

export function replaceAll(text: string, o: Offline): string {
  return o.replace.reduce((t, [from, to]) => t.split(from).join(to), text);
}

/** The workflow with Offline's changes applied; `changes` lists each one, for the test's log. */
export function offlineWorkflow(text: string, o: Offline): {text: string; changes: string[]} {
  const changes: string[] = [];
  const doc = parseDocument(replaceAll(text, o));
  const jobs = doc.get('jobs');
  if (!isMap(jobs)) throw new Error('workflow without jobs');
  for (const job of jobs.items) {
    const steps = isMap(job.value) ? job.value.get('steps') : undefined;
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      if (!isMap(step)) continue;
      const action = /^org\/registry-actions\/([a-z-]+)@v1$/.exec(String(step.get('uses') ?? ''))?.[1];
      if (!action) continue;
      let inputs = step.get('with');
      if (!isMap(inputs)) {
        inputs = new YAMLMap();
        step.set('with', inputs);
      }
      const w = inputs as YAMLMap;
      const id = String(step.get('id') ?? action);
      if (action === 'push-multi' && String(w.get('build')) === 'true' && o.layout) {
        w.delete('build');
        w.delete('build-platforms');
        w.set('source', `oci:${o.layout}:v1`);
        changes.push(`${id}: build → source oci layout`);
      }
      for (const [k, v] of Object.entries(o.add?.[action] ?? {})) {
        if (w.has(k)) throw new Error(`${id}: the example already sets ${k}`);
        w.set(k, v);
        changes.push(`${id}: + ${k}`);
      }
    }
  }
  return {text: doc.toString(), changes};
}

/**
 * A stand-in for github/codeql-action/upload-sarif (code scanning cannot be reached offline): it
 * checks that what it is given is SARIF 2.1.0 and prints its result count.
 */
export function sarifUploadStandIn(dir: string): string {
  fs.mkdirSync(path.join(dir, 'upload-sarif'), {recursive: true});
  fs.writeFileSync(
    path.join(dir, 'upload-sarif', 'action.yml'),
    `name: upload-sarif (offline stand-in)
inputs:
  sarif_file:
    required: true
runs:
  using: composite
  steps:
    - shell: bash
      env:
        SARIF: \${{ inputs.sarif_file }}
      run: >-
        node -e "const s = JSON.parse(require('fs').readFileSync(process.env.SARIF, 'utf8'));
        if (s.version !== '2.1.0' || !Array.isArray(s.runs)) { console.log('not SARIF 2.1.0'); process.exit(1); }
        console.log('sarif received: ' + s.runs.reduce((n, r) => n + r.results.length, 0) + ' results')"
`
  );
  return dir;
}

/**
 * A stand-in for actions/upload-artifact (the artifact service cannot be reached offline): it checks that
 * every file the path names exists and prints each with its size.
 */
export function artifactUploadStandIn(dir: string): string {
  fs.mkdirSync(dir, {recursive: true});
  fs.writeFileSync(
    path.join(dir, 'action.yml'),
    `name: upload-artifact (offline stand-in)
inputs:
  name:
    required: true
  path:
    required: true
runs:
  using: composite
  steps:
    - shell: bash
      env:
        FILES: \${{ inputs.path }}
        NAME: \${{ inputs.name }}
      run: |
        set -e
        found=0
        for f in $FILES; do [ -f "$f" ] || continue; echo "artifact $NAME: $f $(wc -c < "$f") bytes"; found=1; done
        [ "$found" = 1 ] || { echo "artifact $NAME: no file matches $FILES"; exit 1; }
`
  );
  return dir;
}
