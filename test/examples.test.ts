import fs from 'node:fs';
import path from 'node:path';
import {describe, expect, test} from '@jest/globals';
import YAML from 'yaml';
import {COMMANDS} from '../src/cli/args.js';
import {parsePolicy} from '../src/shared/policy/policy.js';
import {parseSyncConfig} from '../src/shared/sync/config.js';
import {ROOT} from './helpers/run-action.js';

interface ActionYml {
  inputs?: Record<string, {required?: boolean; default?: string}>;
  outputs?: Record<string, unknown>;
}
const action = (name: string): ActionYml =>
  YAML.parse(fs.readFileSync(path.join(ROOT, name, 'action.yml'), 'utf8')) as ActionYml;

function files(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), {withFileTypes: true})
    .flatMap(e => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
}

describe('example workflows use only inputs and outputs that exist', () => {
  const workflows = [...files('examples/github'), '.github/workflows/release.yml', '.github/workflows/ci.yml'];
  test.each(workflows)('%s', file => {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as {jobs: Record<string, {steps: Step[]}>};
    expect(Object.keys(doc.jobs).length).toBeGreaterThan(0);
    for (const job of Object.values(doc.jobs)) {
      const actions = new Map<string, string>();
      for (const step of job.steps) {
        const m = step.uses?.match(/^(?:org\/registry-actions\/|\.\/)([a-z-]+)(?:@v1)?$/);
        if (!m) continue;
        const spec = action(m[1]);
        if (step.id) actions.set(step.id, m[1]);
        for (const key of Object.keys(step.with ?? {}))
          expect({file, action: m[1], input: key, known: key in (spec.inputs ?? {})}).toEqual(
            expect.objectContaining({known: true})
          );
        for (const [name, i] of Object.entries(spec.inputs ?? {})) {
          if (i.required)
            expect({file, action: m[1], required: name, given: name in (step.with ?? {})}).toEqual(
              expect.objectContaining({given: true})
            );
        }
        // steps.<id>.outputs.<name> must name an output of that step's action.
        for (const v of Object.values(step.with ?? {})) {
          for (const ref of String(v).matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
            const source = actions.get(ref[1]);
            if (source)
              expect({file, ref: ref[0], known: ref[2] in (action(source).outputs ?? {})}).toEqual(
                expect.objectContaining({known: true})
              );
          }
        }
      }
    }
  });

  test.each([...files('examples/gitlab'), ...files('examples/azure'), ...files('examples/jenkins')])(
    '%s: every registry-actions flag is an input of its command',
    file => {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      if (file.endsWith('Jenkinsfile')) {
        // A declarative pipeline: its blocks balanced, a stage per job, the tool run from sh steps.
        const code = text.replace(/'''[\s\S]*?'''|'[^'\n]*'|"[^"\n]*"|\/\/[^\n]*/g, '');
        expect(code.split('{').length).toBe(code.split('}').length);
        expect(text).toMatch(/^pipeline \{/m);
        expect(text).toMatch(/stage\('release'\)/);
      } else YAML.parse(text);
      const calls = [...text.matchAll(/(?:registry-actions|\$REGISTRY_ACTIONS) (\w+)([^\n]*)/g)].filter(c =>
        COMMANDS.some(x => x.command === c[1])
      );
      expect(calls.length).toBeGreaterThan(0);
      for (const [, command, rest] of calls) {
        const spec = COMMANDS.find(c => c.command === command);
        const inputs = action(spec?.action as string).inputs ?? {};
        for (const flag of rest.matchAll(/ --([a-z-]+)/g)) {
          expect({
            file,
            command,
            flag: flag[1],
            known: flag[1] in inputs || ['json', 'verbose', 'help'].includes(flag[1])
          }).toEqual(expect.objectContaining({known: true}));
        }
      }
    }
  );
});

describe("the project's own workflows", () => {
  interface Job {
    permissions?: Record<string, string>;
    needs?: string | string[];
    steps: Array<{uses?: string; run?: string; with?: Record<string, unknown>}>;
  }
  const load = (file: string): {permissions?: unknown; jobs: Record<string, Job>} =>
    YAML.parse(fs.readFileSync(path.join(ROOT, '.github/workflows', file), 'utf8')) as {
      permissions?: unknown;
      jobs: Record<string, Job>;
    };

  test('release: install, build and test run without write access; only the publish job writes', () => {
    const wf = load('release.yml');
    expect(wf.permissions).toEqual({});
    for (const [name, job] of Object.entries(wf.jobs)) {
      const writes = Object.values(job.permissions ?? {}).includes('write');
      const runsCode = job.steps.some(s => /setup\.sh|npm (test|install|ci|run)/.test(s.run ?? ''));
      expect({name, writesAndRunsCode: writes && runsCode}).toEqual({name, writesAndRunsCode: false});
      if (writes) expect(job.needs).toBeDefined();
    }
  });

  test.each(['release.yml', 'ci.yml'])(
    '%s: third-party actions pinned by commit; checkout keeps no credentials',
    file => {
      for (const job of Object.values(load(file).jobs)) {
        for (const step of job.steps) {
          if (!step.uses || step.uses.startsWith('./')) continue;
          expect(step.uses).toMatch(/@[0-9a-f]{40}$/);
          if (step.uses.startsWith('actions/checkout@')) expect(step.with?.['persist-credentials']).toBe(false);
        }
      }
    }
  );
});

test.each(files('examples/policy'))('%s: a promotion policy that parses, with a signer and attestations', file => {
  const policy = parsePolicy(fs.readFileSync(path.join(ROOT, file), 'utf8'), file);
  expect(policy.attestations.map(a => a.name)).toEqual(['provenance', 'sbom', 'vuln']);
});

describe('example sync configurations parse', () => {
  test.each(files('examples/sync'))('%s', file => {
    const entries = parseSyncConfig(fs.readFileSync(path.join(ROOT, file), 'utf8'), file);
    expect(entries.length).toBeGreaterThan(0);
  });
});

test("README's sync workflow: its inputs exist and its configuration parses", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## sync\n'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const doc = YAML.parse(block) as {jobs: Record<string, {steps: Step[]}>};
  const step = Object.values(doc.jobs)[0].steps.find(st => st.uses === 'org/registry-actions/sync@v1') as Step;
  const inputs = action('sync').inputs ?? {};
  for (const key of Object.keys(step.with ?? {})) expect({key, known: key in inputs}).toEqual({key, known: true});
  expect(parseSyncConfig(String(step.with?.config), 'README').map(e => e.name)).toEqual([
    'docker.io/library/nginx',
    'docker.io/library/alpine',
    'registry.k8s.io/pause',
    'registry.k8s.io/coredns/coredns'
  ]);
});
