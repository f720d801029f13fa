import {execFile, spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import YAML from 'yaml';
import {COMMANDS, parseArgs, resolveInputs} from '../../src/cli/args.js';
import {detectCi, repositoryFromUrl} from '../../src/cli/ci.js';
import {StatusLine} from '../../src/cli/status-line.js';
import {startProxy} from '../helpers/proxy.js';
import {multiPlatformFixture} from '../helpers/images.js';
import {Registry, manifestDigest, startRegistry} from '../helpers/registry.js';
import {ROOT} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';

const SHA = '90dd6032fac8bda1b6c4436a2e65de27961ed071';

function cli(
  args: string[],
  env: Record<string, string> = {}
): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'registry-actions.js'), ...args], {
      env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', SOURCE_DATE_EPOCH: '1767225600', ...env},
      cwd: ROOT
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => (stdout += d));
    child.stderr.on('data', d => (stderr += d));
    child.on('close', code => resolve({code: code ?? 1, stdout, stderr}));
  });
}

const TAG_ARGS = [
  'tag',
  '--images',
  'ghcr.io/acme/app',
  '--tags',
  'type=semver,pattern={{version}}',
  '--tags',
  'type=semver,pattern={{major}}.{{minor}}',
  '--tags',
  'type=ref,event=branch',
  '--tags',
  'type=ref,event=pr',
  '--tags',
  'type=sha',
  '--json'
];

describe('registry-actions command-line tool', () => {
  test('help lists every command, and each command every input of its action.yml', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(`  ${c.command}`);
    for (const c of COMMANDS) {
      const res = await cli([c.command, '--help']);
      expect(res.code).toBe(0);
      const doc = YAML.parse(fs.readFileSync(path.join(ROOT, c.action, 'action.yml'), 'utf8')) as {
        inputs: object;
        outputs: object;
      };
      for (const input of Object.keys(doc.inputs)) {
        if (c.fixed && input in c.fixed) expect(res.stdout).not.toContain(`--${input} `);
        else expect(res.stdout).toContain(`--${input}`);
      }
      for (const output of Object.keys(doc.outputs)) expect(res.stdout).toContain(`  ${output}:`);
    }
  });

  test('--summary writes the job summary to a file, as the action writes it for GitHub', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-summary-'));
    const file = path.join(dir, 'summary.html');
    const res = await cli([...TAG_ARGS, '--summary', file], {
      CI_COMMIT_TAG: 'v1.2.3',
      CI_COMMIT_SHA: SHA,
      GITLAB_CI: 'true'
    });
    expect(res.code).toBe(0);
    const summary = fs.readFileSync(file, 'utf8');
    expect(summary).toContain('<h3>tag: 4 reference(s)</h3>');
    expect(summary).toContain('<code>ghcr.io/acme/app:1.2.3</code>');
    expect((await cli(['tag', '--summary'])).stderr).toContain('--summary needs a file path');
    fs.rmSync(dir, {recursive: true, force: true});
  });

  test('usage errors exit 2 and say what to do', async () => {
    expect(await cli(['deploy'])).toEqual(
      expect.objectContaining({code: 2, stderr: expect.stringContaining('unknown command "deploy"')})
    );
    const bad = await cli(['tag', '--image', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown option --image (did you mean --images');
  });

  test.each([
    [
      'a release tag',
      {
        GITHUB: {GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/tags/v1.2.3'},
        GITLAB: {CI_COMMIT_TAG: 'v1.2.3'},
        AZURE: {BUILD_SOURCEBRANCH: 'refs/tags/v1.2.3', BUILD_REASON: 'IndividualCI'},
        JENKINS: {TAG_NAME: 'v1.2.3'}
      },
      ['1.2.3', '1.2', 'sha-90dd603', 'latest']
    ],
    [
      'the main branch',
      {
        GITHUB: {GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main'},
        GITLAB: {CI_COMMIT_BRANCH: 'main'},
        AZURE: {BUILD_SOURCEBRANCH: 'refs/heads/main', BUILD_REASON: 'IndividualCI'},
        JENKINS: {BRANCH_NAME: 'main'}
      },
      ['main', 'sha-90dd603']
    ],
    [
      'pull request 42',
      {
        GITHUB: {GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/42/merge'},
        GITLAB: {
          CI_MERGE_REQUEST_IID: '42',
          CI_PIPELINE_SOURCE: 'merge_request_event',
          CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main'
        },
        AZURE: {
          BUILD_REASON: 'PullRequest',
          SYSTEM_PULLREQUEST_PULLREQUESTNUMBER: '42',
          SYSTEM_PULLREQUEST_TARGETBRANCH: 'refs/heads/main',
          BUILD_SOURCEBRANCH: 'refs/pull/42/merge'
        },
        JENKINS: {CHANGE_ID: '42', CHANGE_TARGET: 'main', BRANCH_NAME: 'PR-42'}
      },
      ['pr-42', 'sha-90dd603']
    ]
  ])(
    'tag gives the same answer in GitHub Actions, GitLab CI, Azure DevOps and Jenkins: %s',
    async (_n, ctx, expected) => {
      const event = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'event-')), 'event.json');
      fs.writeFileSync(
        event,
        JSON.stringify({repository: {default_branch: 'main'}, number: 42, pull_request: {number: 42, head: {sha: SHA}}})
      );
      const systems: Record<string, Record<string, string>> = {
        github: {
          GITHUB_ACTIONS: 'true',
          GITHUB_SHA: SHA,
          GITHUB_REPOSITORY: 'acme/app',
          GITHUB_EVENT_PATH: event,
          GITHUB_API_URL: 'http://127.0.0.1:9',
          ...ctx.GITHUB
        },
        gitlab: {
          GITLAB_CI: 'true',
          CI_COMMIT_SHA: SHA,
          CI_PROJECT_PATH: 'acme/app',
          CI_DEFAULT_BRANCH: 'main',
          CI_SERVER_URL: 'https://gitlab.example',
          ...ctx.GITLAB
        },
        azure: {
          TF_BUILD: 'True',
          BUILD_SOURCEVERSION: SHA,
          BUILD_REPOSITORY_NAME: 'acme/app',
          REGISTRY_ACTIONS_DEFAULT_BRANCH: 'main',
          ...ctx.AZURE
        },
        jenkins: {
          JENKINS_URL: 'https://ci.example/',
          GIT_COMMIT: SHA,
          GIT_URL: 'https://git.example/acme/app.git',
          REGISTRY_ACTIONS_DEFAULT_BRANCH: 'main',
          ...ctx.JENKINS
        }
      };
      const answers: Record<string, string[]> = {};
      for (const [system, env] of Object.entries(systems)) {
        const res = await cli(TAG_ARGS, env);
        expect({system, code: res.code, stderr: res.stderr.split('\n').filter(l => l.startsWith('error'))}).toEqual({
          system,
          code: 0,
          stderr: []
        });
        answers[system] = (JSON.parse(res.stdout) as {outputs: {'tag-names': string}}).outputs['tag-names'].split('\n');
      }
      for (const system of Object.keys(systems))
        expect({system, tags: answers[system]}).toEqual({system, tags: expected});
      fs.rmSync(path.dirname(event), {recursive: true, force: true});
    }
  );

  test.each([
    ['sign', '--key-password', 'REGISTRY_ACTIONS_KEY_PASSWORD'],
    ['push', '--source-password', 'REGISTRY_ACTIONS_SOURCE_PASSWORD'],
    ['cleanup', '--token', 'REGISTRY_ACTIONS_TOKEN'],
    ['tag', '--github-token', 'REGISTRY_ACTIONS_GITHUB_TOKEN'],
    ['sign', '--notation-key', 'REGISTRY_ACTIONS_NOTATION_KEY']
  ])(
    '%s %s: a secret as a flag is refused (exit 2) naming the variable, and never echoed',
    async (command, flag, variable) => {
      const res = await cli([command, flag, 'hunter2-secret-value']);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(`${flag} is a secret`);
      expect(res.stderr).toContain(variable);
      expect(res.stdout + res.stderr).not.toContain('hunter2-secret-value');
      const eq = await cli([command, `${flag}=hunter2-secret-value`]);
      expect(eq.code).toBe(2);
    }
  );

  test('a private key as flag text is refused; a secret from a file or the environment is masked in every line', async () => {
    const pem = await cli(['sign', '--images', 'r/x@sha256:00', '--key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nabc']);
    expect(pem.code).toBe(2);
    expect(pem.stderr).toContain('--key is a secret');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-secret-'));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'file-secret-0123\n');
    // A secret read from a file is masked wherever it would appear (here: echoed back in a label).
    const tag = await cli([
      'tag',
      '--images',
      'r.example/app',
      '--labels',
      'leak=file-secret-0123',
      '--github-token-file',
      file
    ]);
    expect(tag.code).toBe(0);
    expect(tag.stdout + tag.stderr).not.toContain('file-secret-0123');
    expect(tag.stdout).toContain('leak=***');
    // A network failure names its cause and is not reported as a bug of ours.
    const down = await cli(
      [
        'cleanup',
        '--owner',
        'acme',
        '--packages',
        'x',
        '--keep-n-tagged',
        '1',
        '--github-api-url',
        'http://127.0.0.1:2'
      ],
      {REGISTRY_ACTIONS_TOKEN: 't0ken-value'}
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('connection refused');
    expect(down.stderr).not.toContain('this is a bug');
    expect(down.stderr).not.toMatch(/^\s+at /m);
    fs.rmSync(dir, {recursive: true, force: true});
  });

  test('inputs from REGISTRY_ACTIONS_* variables; flags win; action.yml defaults apply', () => {
    const inputs = [
      {name: 'images', description: ''},
      {name: 'flavor', description: '', default: 'latest=auto'},
      {name: 'token', description: '', default: '${{ github.token }}'}
    ];
    expect(resolveInputs(inputs, {}, {REGISTRY_ACTIONS_IMAGES: 'a/b', GITHUB_TOKEN: 't'})).toEqual({
      images: 'a/b',
      flavor: 'latest=auto',
      token: 't'
    });
    expect(resolveInputs(inputs, {images: 'c/d'}, {REGISTRY_ACTIONS_IMAGES: 'a/b'}).images).toBe('c/d');
    expect(
      parseArgs(
        ['--images', 'a', '--images=b', '--dry-run', '--json'],
        [
          {name: 'images', description: ''},
          {name: 'dry-run', description: ''}
        ],
        'x'
      )
    ).toEqual({
      values: {images: 'a\nb', 'dry-run': 'true'},
      secretFiles: {},
      json: true,
      verbose: false,
      help: false
    });
  });

  test.each([
    [
      {GITLAB_CI: 'true', CI_COMMIT_SHA: 's', CI_PIPELINE_SOURCE: 'schedule', CI_COMMIT_BRANCH: 'main'},
      'gitlab',
      'schedule',
      'refs/heads/main'
    ],
    [
      {TF_BUILD: 'True', BUILD_SOURCEVERSION: 's', BUILD_REASON: 'Schedule', BUILD_SOURCEBRANCH: 'refs/heads/main'},
      'azure',
      'schedule',
      'refs/heads/main'
    ],
    [{JENKINS_URL: 'x', GIT_COMMIT: 's', GIT_BRANCH: 'origin/dev'}, 'jenkins', 'push', 'refs/heads/dev'],
    [{}, 'git', undefined, undefined]
  ])('CI detection %#', (env, system, event, ref) => {
    const c = detectCi(env as NodeJS.ProcessEnv);
    expect([c.system, c.env.GITHUB_EVENT_NAME, c.env.GITHUB_REF]).toEqual([system, event, ref]);
  });
  test('repository from a remote URL', () => {
    expect(repositoryFromUrl('git@github.com:acme/app.git')).toBe('acme/app');
    expect(repositoryFromUrl('https://git.example/acme/app')).toBe('acme/app');
  });
});

describe('registry-actions push against a real registry', () => {
  const ready = !!requireTool('docker-registry') && !!requireTool('skopeo');
  let reg: Registry | undefined;
  beforeAll(async () => {
    if (ready) reg = await startRegistry('none');
  });
  afterAll(async () => reg?.stop());
  (ready ? test : test.skip)(
    'copies a layout by digest and prints the outputs; a failing push exits 1 with a plain error line',
    async () => {
      const fixture = multiPlatformFixture({seed: 'cli'});
      const res = await cli([
        'push',
        '--source',
        `oci:${fixture.dir}:v1`,
        '--destinations',
        `${reg?.host}/cli/app`,
        '--tags',
        'v1'
      ]);
      expect({code: res.code, stderr: res.stderr}).toEqual({code: 0, stderr: ''});
      expect(res.stdout).toContain(`digest: ${fixture.digest}`);
      expect(await manifestDigest(`${reg?.host}/cli/app:v1`)).toBe(fixture.digest);
      const bad = await cli(['push', '--source', `oci:${fixture.dir}:v1`, '--destinations', 'no such thing']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^error: destinations: /m);
      expect(bad.stdout).not.toContain('::');
    }
  );

  (ready && requireTool('script') ? test : test.skip)(
    'on a terminal the copy shows one status line redrawn in place, then the results',
    async () => {
      const fixture = multiPlatformFixture({seed: 'cli-tty', layers: 1, layerSize: 5000000});
      const slow = await startProxy(reg?.host as string, {bandwidth: 2097152});
      try {
        const command = [process.execPath, path.join(ROOT, 'bin', 'registry-actions.js'), 'push', '--source']
          .concat([`oci:${fixture.dir}:v1`, '--destinations', `${slow.host}/cli/tty`, '--tags', 'v1'])
          .map(a => `'${a}'`)
          .join(' ');
        // script(1) gives the command a pseudo-terminal and records what it drew.
        const drawn = await new Promise<string>((resolve, reject) =>
          execFile(
            'script',
            ['-qfec', command, '/dev/null'],
            {env: {PATH: process.env.PATH ?? '', HOME: os.tmpdir(), REGISTRY_ACTIONS_PROGRESS_SECONDS: '0.05'}},
            (err, out) => (err ? reject(err) : resolve(out))
          )
        );
        expect(drawn).toMatch(
          new RegExp(`\\r\\x1b\\[K${slow.host.replace(/\./g, '\\.')}/cli/tty \\d+% \\d+/\\d+ blobs \\d+ MiB/s`)
        );
        expect(drawn).not.toContain('MiB sent,');
        expect(drawn).toContain(`digest: ${fixture.digest}`);
        expect(await manifestDigest(`${reg?.host}/cli/tty:v1`)).toBe(fixture.digest);
      } finally {
        await slow.stop();
      }
    }
  );
});

describe('terminal status line', () => {
  test('progress lines redraw one line; other lines print above it; a finished destination leaves it', () => {
    let out = '';
    const s = new StatusLine(
      t => (out += t),
      () => 60
    );
    s.line('r.example/a: 10.0 of 100.0 MiB sent, 1 of 8 blobs done (20 MiB/s)');
    s.line('r.example/b: 50.0 of 100.0 MiB sent, 4 of 8 blobs done (30 MiB/s)');
    s.line('a log line');
    s.line('▸ r.example/a: copied, 100.0 MiB sent in 5.0 s');
    s.clear();
    expect(out.split('\r\x1b[K')).toEqual([
      '',
      'r.example/a 10% 1/8 blobs 20 MiB/s',
      'r.example/a 10% 1/8 blobs 20 MiB/s · r.example/b 50% 4/8 b…',
      'a log line\n',
      'r.example/a 10% 1/8 blobs 20 MiB/s · r.example/b 50% 4/8 b…',
      '▸ r.example/a: copied, 100.0 MiB sent in 5.0 s\n',
      'r.example/b 50% 4/8 blobs 30 MiB/s',
      ''
    ]);
  });
});
