import {execFile} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {promisify} from 'node:util';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {gitRepo, releaseCopy, runAct} from '../helpers/act.js';
import {LayoutBuilder} from '../helpers/images.js';
import {Registry, startRegistry} from '../helpers/registry.js';
import {ROOT} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';
import {alpineFiles, pushDb} from '../helpers/trivy-db.js';

/**
 * The actions under a runner implementation we did not write: nektos/act (self-hosted mode, built by
 * scripts/setup.sh) runs test/fixtures/act/release.yml, the release example's chain with
 * `uses: org/registry-actions/<action>@v1` resolved to this checkout by --local-repository, against a
 * loopback registry. Checked: every step ran, the outputs passed between steps, the registry's contents,
 * the job summaries act prints per step. act lacks an OIDC token and GITHUB_WORKFLOW_REF: signing uses
 * a key, and what the workflow needs comes through --env.
 */
const act = requireTool('act');
const cosign = requireTool('cosign');
const trivy = requireTool('trivy');
const ready = !!act && !!cosign && !!trivy && !!requireTool('docker-registry');
const maybe = ready ? test : test.skip;
const KEY_PASSWORD = 'act-key-pass';

let reg: Registry;
let work: string;

beforeAll(async () => {
  if (!ready) return;
  reg = (await startRegistry('none')) as Registry;
  await pushDb(reg.host, 'trivy-db');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'act-'));
  await promisify(execFile)(cosign as string, ['generate-key-pair'], {
    cwd: work,
    env: {PATH: process.env.PATH ?? '', HOME: work, COSIGN_PASSWORD: KEY_PASSWORD}
  });
}, 60000);
afterAll(async () => reg?.stop());

describe('the release chain under nektos/act', () => {
  maybe(
    'tag → push-multi → scan → sign → verify → cleanup dry run: each step runs, outputs travel, the registry holds the signed image',
    async () => {
      const b = new LayoutBuilder();
      const index = b.index([
        b.imageWithFiles({os: 'linux', architecture: 'amd64'}, alpineFiles('3.1.5-r0')),
        b.imageWithFiles({os: 'linux', architecture: 'arm64'}, alpineFiles('3.1.5-r0'))
      ]);
      b.tag(index, 'v1');
      // The workflow in a repository of its own, as act expects (it reads the event's commit from git).
      const repo = await gitRepo(path.join(work, 'repo'), {
        '.github/workflows/release.yml': fs.readFileSync(
          path.join(ROOT, 'test', 'fixtures', 'act', 'release.yml'),
          'utf8'
        )
      });
      const env: Record<string, string> = {
        REGISTRY: reg.host,
        LAYOUT: b.dir,
        TRIVY: trivy as string,
        COSIGN: cosign as string,
        RELEASE_KEY: fs.readFileSync(path.join(work, 'cosign.key'), 'utf8'),
        RELEASE_PUB: fs.readFileSync(path.join(work, 'cosign.pub'), 'utf8'),
        RELEASE_KEY_PASSWORD: KEY_PASSWORD,
        // act sets no GITHUB_WORKFLOW_REF; the provenance and annotations read it.
        GITHUB_WORKFLOW_REF: 'acme/app/.github/workflows/release.yml@refs/heads/main'
      };
      const {ok, log} = await runAct(act as string, repo, {
        event: 'push',
        payload: {ref: 'refs/heads/main'},
        workflow: '.github/workflows/release.yml',
        env,
        localRepositories: {'org/registry-actions@v1': releaseCopy(path.join(work, 'registry-actions'))}
      });
      expect({ok, tail: ok ? '' : log.slice(-4000)}).toEqual({ok: true, tail: ''});
      expect(log).toContain('Job succeeded');
      expect(log).toMatch(/release chain: ok sha256:[a-f0-9]{64}/);
      // Each action's job summary, as act shows it per step.
      for (const heading of ['tag: ', 'push-multi: ', 'scan passed', 'sign: ', 'verify: ', 'ghcr-cleanup (dry run)'])
        expect(log).toContain(heading);
      // The registry: both tags on the pushed index, signed (the signature is a referrer in the fallback index).
      const tags = ((await (await fetch(`${reg.url}/v2/acme/app/tags/list`)).json()) as {tags: string[]}).tags;
      const digest = log.match(/release chain: ok (sha256:[a-f0-9]{64})/)?.[1] as string;
      expect(tags).toEqual(expect.arrayContaining(['1.2.3', digest.replace(':', '-')]));
      expect(tags.some(t => /^sha-[a-f0-9]{7}$/.test(t))).toBe(true);
    },
    360000
  );
});
