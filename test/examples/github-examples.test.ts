import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {
  Offline,
  artifactUploadStandIn,
  gitRepo,
  offlineWorkflow,
  releaseCopy,
  replaceAll,
  runAct,
  sarifUploadStandIn
} from '../helpers/act.js';
import {Clouds, startClouds} from '../helpers/clouds.js';
import {GH_TOKEN, GhcrEmulator, startGhcr} from '../helpers/ghcr.js';
import {GhcrImages} from '../helpers/ghcr-images.js';
import {LayoutBuilder, multiPlatformFixture} from '../helpers/images.js';
import {Registry, skopeo, startRegistry, tagDigests} from '../helpers/registry.js';
import {ROOT, runBundledAction} from '../helpers/run-action.js';
import {Sigstore, sigstoreTools, startSigstore, workflowClaims} from '../helpers/sigstore.js';
import {requireTool} from '../helpers/tools.js';
import {alpineFiles, dbWriter, pushDb} from '../helpers/trivy-db.js';

/**
 * The workflows of examples/github, as users copy them, under nektos/act (self-hosted mode) with
 * `uses: org/registry-actions/<action>@v1` resolved to a release copy of this checkout. What an
 * offline runner cannot reach is swapped, and only that (helpers/act.ts `Offline`, each change
 * printed): the public registries' hosts become loopback registries (GHCR, Docker Hub and ECR
 * registries, ECR's and STS's APIs through AWS_ENDPOINT_URL_*), the public Sigstore a local one (its
 * OIDC issuer is the runner's ID-token endpoint), tool downloads the built tools, trivy's DB a loopback
 * copy, `build: true` an OCI layout (no BuildKit daemon here), github/codeql-action/upload-sarif a
 * stand-in that checks the SARIF. act itself sets no GITHUB_WORKFLOW_REF and no RUNNER_ENVIRONMENT;
 * the test sets them as the runner would. act skips actions/checkout of the repository itself.
 */
const act = requireTool('act');
const cosign = requireTool('cosign');
const trivy = requireTool('trivy');
const ready =
  !!act &&
  !!cosign &&
  !!trivy &&
  !!dbWriter() &&
  !!sigstoreTools() &&
  !!requireTool('docker-registry') &&
  !!requireTool('skopeo') &&
  !!requireTool('olareg');
const maybe = ready ? test : test.skip;

const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const CLOUD_PASSWORD = 'ecr-registry-password-41';
const HUB_TOKEN = 'dckr_pat_examples_0123456789';
const VERSION = 'v1.2.3';

let sigstore: Sigstore;
let clouds: Clouds;
/** GHCR of the release (and promote's staging), Docker Hub, ECR, production GHCR (olareg: referrers API). */
let ghcr: Registry;
let hub: Registry;
let ecr: Registry;
let prod: Registry;
let work: string;
let release: string;
let sarif: string;
/** A two-platform Alpine-like image: amd64 carries a HIGH finding, arm64 none. */
let layout: string;
let released: string;

const read = (p: string): string => fs.readFileSync(path.join(ROOT, p), 'utf8');

/** A repository holding one example (rewritten for offline) and the files it reads. */
async function exampleRepo(
  name: string,
  o: Offline,
  files: Record<string, string> = {},
  tag?: string
): Promise<{dir: string; changes: string[]}> {
  const {text, changes} = offlineWorkflow(read(`examples/github/${name}.yml`), o);
  const dir = path.join(work, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  const rewritten = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, replaceAll(v, o)]));
  await gitRepo(
    dir,
    {[`.github/workflows/${name}.yml`]: text, ...rewritten},
    {remote: 'https://github.com/acme/app.git', tag}
  );
  return {dir, changes};
}

/** What a GitHub-hosted job has and act does not set, and where the clouds' APIs are. */
function runnerEnv(workflow: string, ref: string): Record<string, string> {
  return {
    ...sigstore.env,
    GITHUB_WORKFLOW_REF: `acme/app/.github/workflows/${workflow}.yml@${ref}`,
    RUNNER_ENVIRONMENT: 'github-hosted',
    AWS_ENDPOINT_URL_ECR: clouds.url,
    AWS_ENDPOINT_URL_STS: clouds.url,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'eu-west-1'
  };
}

const localRepositories = (): Record<string, string> => ({
  'org/registry-actions@v1': release,
  'github/codeql-action@v3': sarif
});

const tags = tagDigests;

const failure = (run: {ok: boolean; log: string}): string => (run.ok ? '' : run.log.slice(-5000));

beforeAll(async () => {
  if (!ready) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
  [sigstore, clouds, ghcr, hub, ecr, prod] = (await Promise.all([
    startSigstore(cosign as string),
    startClouds(CLOUD_PASSWORD),
    startRegistry(),
    startRegistry({users: [['acme', HUB_TOKEN]]}),
    startRegistry({users: [['AWS', CLOUD_PASSWORD]]}),
    startRegistry('none', 'olareg')
  ])) as [Sigstore, Clouds, Registry, Registry, Registry, Registry];
  await pushDb(ghcr.host, 'trivy-db');
  release = releaseCopy(path.join(work, 'registry-actions'));
  sarif = sarifUploadStandIn(path.join(work, 'codeql-action'));
  const b = new LayoutBuilder();
  const index = b.index([
    b.imageWithFiles({os: 'linux', architecture: 'amd64'}, alpineFiles('3.1.4-r0')),
    b.imageWithFiles({os: 'linux', architecture: 'arm64'}, alpineFiles('3.1.5-r0'))
  ]);
  b.tag(index, 'v1');
  layout = b.dir;
  released = index.digest;
}, 120000);

/** Services a test started, stopped after all of them. */
const after: Array<() => Promise<void>> = [];

afterAll(async () => {
  await Promise.all([sigstore, clouds, ghcr, hub, ecr, prod].filter(Boolean).map(s => s.stop()));
  await Promise.all(after.map(stop => stop()));
});

/** The offline swaps of the release and pull-request examples. */
function buildOffline(): Offline {
  return {
    replace: [
      [ECR, ecr.host],
      ['docker.io', hub.host],
      ['ghcr.io', ghcr.host]
    ],
    add: {
      scan: {'trivy-path': trivy as string, 'db-repository': `${ghcr.host}/trivy-db:2`},
      sign: {
        'signing-config': sigstore.signingConfig,
        'trusted-root': sigstore.trustedRoot,
        'cosign-path': cosign as string,
        'trivy-path': trivy as string
      }
    },
    layout
  };
}

/** An output of a step as act prints it (`::set-output:: name=value`, one line for our JSON outputs). */
function output(log: string, name: string): string | undefined {
  return new RegExp(`::set-output:: ${name}=(.*)`).exec(log)?.[1];
}

describe('examples/github under nektos/act', () => {
  maybe(
    'release.yml on a published release, then promote.yml: tags derived from the release, the image in GHCR, Docker Hub and ECR, scanned, SARIF handed on, signed keyless with SBOM, provenance and scan results; promotion checks the policy and carries the evidence',
    async () => {
      sigstore.oidc.claims = workflowClaims({ref: `refs/tags/${VERSION}`, event_name: 'release'});
      const {dir, changes} = await exampleRepo('release', buildOffline(), {}, VERSION);
      expect(changes).toEqual([
        'push: build → source oci layout',
        'scan: + trivy-path',
        'scan: + db-repository',
        'sign: + signing-config',
        'sign: + trusted-root',
        'sign: + cosign-path',
        'sign: + trivy-path'
      ]);
      const certs = sigstore.certificates();
      // GitHub's API (the attestation store) is the emulator's.
      const github = (await startGhcr()) as GhcrEmulator;
      after.push(() => github.stop());
      const run = await runAct(act as string, dir, {
        event: 'release',
        payload: {action: 'published', release: {tag_name: VERSION, name: VERSION}},
        workflow: '.github/workflows/release.yml',
        env: {...runnerEnv('release', `refs/tags/${VERSION}`), GITHUB_API_URL: github.apiUrl},
        secrets: {GITHUB_TOKEN: GH_TOKEN, DOCKERHUB_TOKEN: HUB_TOKEN},
        localRepositories: localRepositories()
      });
      expect({ok: run.ok, tail: failure(run)}).toEqual({ok: true, tail: ''});
      // Every registry holds the version, its minor line and the commit tag, on the built digest.
      const sha = /\bsha-([a-f0-9]{7})\b/.exec(run.log)?.[1];
      expect(sha).toBeDefined();
      const expected = {'1.2.3': released, '1.2': released, [`sha-${sha}`]: released};
      const held = [
        await tags(ghcr, 'acme/app'),
        await tags(hub, 'acme/app', `acme:${HUB_TOKEN}`),
        await tags(ecr, 'app', `AWS:${CLOUD_PASSWORD}`)
      ];
      for (const h of held) expect(h).toEqual(expect.objectContaining(expected));
      // ECR: the role assumed with the job's OIDC token, the repository created first.
      expect(clouds.requests.filter(r => r.action === 'AssumeRoleWithWebIdentity').length).toBeGreaterThan(0);
      expect(clouds.ecrRepositories.has('app')).toBe(true);
      // The SARIF reached the upload step (findings at the CRITICAL threshold: none), the gate passed.
      expect(run.log).toContain('sarif received: 0 results');
      expect(run.log).toContain('CVE-2026-1111');
      // One Fulcio certificate for the whole run; signatures (and attestations) beside the image everywhere.
      expect(sigstore.certificates() - certs).toBe(1);
      // The job summaries: 3 registries × 3 digests signed; SBOM and scan per platform, provenance per digest.
      expect(run.log).toContain('push-multi: 3 of 3 destination(s) done, none failed');
      expect(run.log).toContain('scan passed: 1 image(s), 2 target(s), threshold CRITICAL');
      expect(run.log).toContain('sign: 9 digest(s), 21 attestation(s)');
      // Each digest's attestations once in GitHub's store (3 provenance, 2 SBOMs, 2 scan results).
      const subjects = github.attestations.map(a => a.subjects[0]);
      expect({
        count: subjects.length,
        distinct: new Set(subjects).size,
        index: subjects.filter(d => d === released).length
      }).toEqual({count: 7, distinct: 3, index: 1});
      expect(new Set(github.attestations.map(a => a.repository))).toEqual(new Set(['acme/app']));
      expect(github.violations).toEqual([]);
      const sigTag = released.replace(':', '-');
      for (const h of held) expect(Object.keys(h).some(t => t.startsWith(sigTag))).toBe(true);

      // promote.yml: the release's GHCR repository is the staging one; production is a registry with the referrers API.
      const promote = async (digest: string) => {
        const o: Offline = {
          replace: [
            ['ghcr.io/acme/app-staging', `${ghcr.host}/acme/app`],
            [ECR, ecr.host],
            ['ghcr.io', prod.host],
            ['https://token.actions.githubusercontent.com', sigstore.oidc.url]
          ],
          add: {
            'push-multi': {'trusted-root': sigstore.trustedRoot, 'cosign-path': cosign as string},
            sign: {'trusted-root': sigstore.trustedRoot, 'cosign-path': cosign as string}
          }
        };
        const repo = await exampleRepo('promote', o, {
          'examples/policy/promotion.yml': read('examples/policy/promotion.yml')
        });
        return runAct(act as string, repo.dir, {
          event: 'workflow_dispatch',
          payload: {ref: 'refs/heads/main', inputs: {digest}},
          workflow: '.github/workflows/promote.yml',
          env: runnerEnv('promote', 'refs/heads/main'),
          secrets: {GITHUB_TOKEN: GH_TOKEN},
          localRepositories: localRepositories()
        });
      };
      const promoted = await promote(released);
      expect({ok: promoted.ok, tail: failure(promoted)}).toEqual({ok: true, tail: ''});
      expect(promoted.log).toContain('verify: 3 of 3 digest(s) verified');
      expect(await tags(prod, 'acme/app')).toEqual(expect.objectContaining({production: released}));
      expect((await tags(ecr, 'app', `AWS:${CLOUD_PASSWORD}`)).production).toBe(released);

      // An image nobody signed: the gate refuses it, nothing is copied, the annotation says why.
      const unsigned = multiPlatformFixture({seed: 'unsigned-candidate', platforms: ['linux/amd64', 'linux/arm64']});
      await skopeo([
        'copy',
        '--all',
        '--dest-tls-verify=false',
        `oci:${unsigned.dir}:v1`,
        `docker://${ghcr.host}/acme/app:candidate`
      ]);
      const refused = await promote(unsigned.digest);
      expect(refused.ok).toBe(false);
      expect(refused.log).toMatch(
        /::error::policy: .*acme\/app@sha256:[a-f0-9]{64} does not meet the policy, nothing was copied: index .*signature: no signature found/
      );
      expect((await tags(prod, 'acme/app')).production).toBe(released);
      expect((await tags(ecr, 'app', `AWS:${CLOUD_PASSWORD}`)).production).toBe(released);
    },
    600000
  );

  maybe(
    'pull-request.yml: the image built into an OCI layout under the pull request tag, then the HIGH gate fails the job on the planted finding, with an annotation naming it',
    async () => {
      const o = buildOffline();
      const {dir, changes} = await exampleRepo('pull-request', o);
      expect(changes).toEqual(['build: build → source oci layout', 'scan: + trivy-path', 'scan: + db-repository']);
      const run = await runAct(act as string, dir, {
        event: 'pull_request',
        payload: {number: 42, pull_request: {number: 42, head: {ref: 'feature/x'}, base: {ref: 'main'}}},
        workflow: '.github/workflows/pull-request.yml',
        env: runnerEnv('pull-request', 'refs/pull/42/merge'),
        localRepositories: localRepositories()
      });
      expect(run.ok).toBe(false);
      // The tag of the pull request reached push-multi, which wrote the layout the scan read.
      expect(run.log).toContain('::set-output:: tag-names=pr-42');
      expect(run.log).toContain('oci:./image-layout:pr-42');
      expect(run.log).toMatch(
        /::error::the scan found 1 finding\(s\) at or above HIGH .*\(linux\/amd64\): CVE-2026-1111 HIGH libcrypto3 3\.1\.4-r0 \(fixed in 3\.1\.5-r0\)/
      );
      expect(run.log).toContain('scan failed: 1 image(s), 2 target(s), threshold HIGH');
    },
    300000
  );

  maybe(
    'cleanup.yml: dispatched with dry-run true it deletes nothing and says what it would; the nightly run then deletes exactly that: closed pull requests, untagged leftovers, orphaned signatures, the oldest releases; every kept image still whole',
    async () => {
      const emu = (await startGhcr()) as GhcrEmulator;
      try {
        emu.orgs.add('acme');
        emu.openPulls = [7];
        const p = new GhcrImages(emu, 'acme', 'app');
        const releases = [];
        for (let i = 0; i < 34; i++)
          releases.push(
            await p.image(
              `rel${i}`,
              [`v1.${i}.0`, ...(i === 0 ? ['prod-2025'] : []), ...(i === 33 ? ['latest'] : [])],
              {
                attestations: i % 2 === 0
              }
            )
          );
        const closed = await p.image('pr3', ['pr-3']);
        const open = await p.image('pr7', ['pr-7']);
        const leftover = await p.image('leftover', []);
        const kept = releases[33];
        const signature = await p.legacySignature(kept.digest);
        const orphan = await p.legacySignature(`sha256:${'ab'.repeat(32)}`);
        const o: Offline = {replace: [], add: {'ghcr-cleanup': {'registry-url': emu.host}}};
        const {dir, changes} = await exampleRepo('cleanup', o);
        expect(changes).toEqual(['ghcr-cleanup: + registry-url']);
        const job = (event: string, payload: object) =>
          runAct(act as string, dir, {
            event,
            payload,
            workflow: '.github/workflows/cleanup.yml',
            env: {...runnerEnv('cleanup', 'refs/heads/main'), GITHUB_API_URL: emu.apiUrl},
            secrets: {GITHUB_TOKEN: GH_TOKEN},
            localRepositories: localRepositories()
          });
        const before = emu
          .active(p.repo)
          .map(v => v.name)
          .sort();
        const dry = await job('workflow_dispatch', {ref: 'refs/heads/main', inputs: {'dry-run': 'true'}});
        expect({ok: dry.ok, tail: failure(dry)}).toEqual({ok: true, tail: ''});
        expect(dry.log).toContain('ghcr-cleanup (dry run)');
        expect(emu.calls.filter(c => c.method === 'DELETE')).toEqual([]);
        expect(
          emu
            .active(p.repo)
            .map(v => v.name)
            .sort()
        ).toEqual(before);
        const planned = (JSON.parse(output(dry.log, 'deleted') ?? '[]') as Array<{digest: string}>).map(d => d.digest);

        const nightly = await job('schedule', {schedule: '17 3 * * *'});
        expect({ok: nightly.ok, tail: failure(nightly)}).toEqual({ok: true, tail: ''});
        const gone = (JSON.parse(output(nightly.log, 'deleted') ?? '[]') as Array<{digest: string}>).map(d => d.digest);
        expect(gone.sort()).toEqual([...planned].sort());
        const after = new Set(emu.active(p.repo).map(v => v.name));
        for (const d of [closed.digest, ...closed.children, leftover.digest, ...leftover.children, orphan.digest])
          expect({d, deleted: !after.has(d)}).toEqual({d, deleted: true});
        for (const img of [open, kept, releases[0], ...releases.slice(4)])
          for (const d of [img.digest, ...img.children]) expect({d, kept: after.has(d)}).toEqual({d, kept: true});
        expect(after.has(signature.digest)).toBe(true);
        // The oldest releases beyond the 30 newest tagged images went, the one tagged prod-* excepted.
        expect(releases.slice(1, 4).some(r => !after.has(r.digest))).toBe(true);
        for (const r of releases)
          if (!after.has(r.digest))
            for (const c of r.children) expect({c, gone: !after.has(c)}).toEqual({c, gone: true});
        expect(emu.violations).toEqual([]);
      } finally {
        await emu.stop();
      }
    },
    300000
  );

  maybe(
    'audit.yml (its GHCR job): the weekly audit lists both packages, verifies the v* tags with cosign against the release policy, writes and uploads the report and metrics, and fails on the unsigned releases',
    async () => {
      const emu = (await startGhcr()) as GhcrEmulator;
      try {
        emu.orgs.add('acme');
        const app = new GhcrImages(emu, 'acme', 'app');
        await app.image('app-1', ['v1.0.0'], {created: '2026-11-01T00:00:00Z'});
        await app.image('app-2', ['v1.1.0', 'latest'], {created: '2026-11-20T00:00:00Z'});
        await app.platform('app-leftover', 'linux/amd64', 4096);
        const worker = new GhcrImages(emu, 'acme', 'worker');
        await worker.image('worker-1', ['v2.0.0'], {created: '2026-11-10T00:00:00Z'});
        const o: Offline = {
          replace: [['ghcr.io', emu.host]],
          add: {audit: {'cosign-path': cosign as string, 'trusted-root': sigstore.trustedRoot}}
        };
        const {dir, changes} = await exampleRepo('audit', o, {
          '.github/release-policy.yml': read('examples/policy/promotion.yml')
        });
        expect(changes).toEqual(['audit: + cosign-path', 'audit: + trusted-root']);
        const run = await runAct(act as string, dir, {
          event: 'schedule',
          payload: {schedule: '41 4 * * 1'},
          workflow: '.github/workflows/audit.yml',
          env: {...runnerEnv('audit', 'refs/heads/main'), GITHUB_API_URL: emu.apiUrl},
          secrets: {GITHUB_TOKEN: GH_TOKEN},
          localRepositories: {
            ...localRepositories(),
            'actions/upload-artifact@v4': artifactUploadStandIn(path.join(work, 'upload-artifact'))
          },
          matrix: ['name:ghcr']
        });
        // The job fails on the unsigned releases (fail-on-noncompliant), after writing and uploading everything.
        expect(run.ok).toBe(false);
        expect(run.log).toMatch(/::error::3 of 3 served image\(s\) do not meet compliance-policy/);
        expect(run.log).toMatch(/artifact registry-audit-ghcr: audit-ghcr\.json \d+ bytes/);
        expect(run.log).toMatch(/artifact registry-audit-ghcr: audit-ghcr\.prom \d+ bytes/);
        // Verified with cosign against the local Sigstore's trusted root: no signature by the release workflow.
        expect(run.log).toMatch(/app:v1\.1\.0,latest \(sha256:[a-f0-9]{64}, verified\): signature: no signature/);
        expect(run.log).toMatch(
          /app: 2 tagged and 1 untagged image\(s\), 7 manifest\(s\); [\d.]+ MiB stored, [\d.]+ MiB reclaimable; 2 of 2 served image\(s\) non-compliant/
        );
        expect(run.log).toContain('worker: 1 tagged and 0 untagged image(s)');
        expect(run.log).toContain('xychart-beta horizontal');
        // No Pushgateway configured: that step is skipped.
        expect(run.log).not.toContain('curl --fail');
        // Read only: nothing deleted.
        expect(emu.calls.filter(c => c.method === 'DELETE')).toEqual([]);
        expect(emu.violations).toEqual([]);
      } finally {
        await emu.stop();
      }
    },
    300000
  );

  maybe(
    "cleanup-sharded.yml: act runs the matrix's four jobs; each cleans its own packages, together every package once",
    async () => {
      const emu = (await startGhcr()) as GhcrEmulator;
      try {
        emu.orgs.add('acme');
        const names = ['api', 'web', 'worker', 'cron', 'gateway', 'docs'];
        const kept = new Map<string, string>();
        for (const name of names) {
          const p = new GhcrImages(emu, 'acme', name);
          for (let i = 0; i < 26; i++) {
            const img = await p.image(`${name}-${i}`, [`v1.${i}.0`], {platforms: ['linux/amd64']});
            if (i === 25) kept.set(name, img.digest);
          }
        }
        const o: Offline = {replace: [], add: {'ghcr-cleanup': {'registry-url': emu.host}}};
        const {dir, changes} = await exampleRepo('cleanup-sharded', o);
        expect(changes).toEqual(['cleanup: + registry-url']);
        const run = await runAct(act as string, dir, {
          event: 'workflow_dispatch',
          payload: {ref: 'refs/heads/main'},
          workflow: '.github/workflows/cleanup-sharded.yml',
          env: {...runnerEnv('cleanup-sharded', 'refs/heads/main'), GITHUB_API_URL: emu.apiUrl},
          secrets: {PACKAGES_TOKEN: GH_TOKEN},
          localRepositories: localRepositories()
        });
        expect({ok: run.ok, tail: failure(run)}).toEqual({ok: true, tail: ''});
        // Each shard says which part it did; the parts add up to the six packages.
        const parts = [...run.log.matchAll(/shard (\d)\/4: (\d) of 6 package\(s\)/g)];
        expect(new Set(parts.map(m => m[1]))).toEqual(new Set(['1', '2', '3', '4']));
        const sizes = [...new Map(parts.map(m => [m[1], Number(m[2])])).values()];
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(6);
        // Each shard keeps its manifests under a cache key of its own: saves at once, none refused.
        expect(run.log.match(/manifest cache: saved to the Actions cache/g)).toHaveLength(
          sizes.filter(n => n > 0).length
        );
        expect(run.log).not.toContain('Failed to save');
        // In every package: the 3 highest releases (keep-semver) plus the 20 newest others; the 3 oldest went.
        for (const name of names) {
          const active = emu.active(`acme/${name}`);
          expect({
            name,
            tagged: active.filter(v => v.tags.length).length,
            newest: active.some(v => v.name === kept.get(name))
          }).toEqual({
            name,
            tagged: 23,
            newest: true
          });
        }
        expect(emu.violations).toEqual([]);
      } finally {
        await emu.stop();
      }
    },
    300000
  );

  maybe(
    'mirror.yml with examples/sync/mirror.yml: the tags each rule selects reach GHCR and ECR, the keyless-verified image only once its signer matches; the next run copies only that',
    async () => {
      const upstream = (await startRegistry()) as Registry;
      try {
        const seed = async (repo: string, tags: string[], created?: string) => {
          const f = multiPlatformFixture({seed: `${repo}-${tags[0]}`, created});
          for (const t of tags)
            await skopeo([
              'copy',
              '--all',
              '--dest-tls-verify=false',
              `oci:${f.dir}:v1`,
              `docker://${upstream.host}/${repo}:${t}`
            ]);
          return f.digest;
        };
        await seed('library/node', ['22-alpine', '22.11.0-alpine']);
        await seed('library/node', ['24-alpine']);
        await seed('library/node', ['20-alpine', '24.1.0']);
        for (const v of ['1.25.5', '1.26.0', '1.27.3', '2.0.0']) await seed('library/nginx', [v]);
        const pause: Record<string, string> = {};
        for (const [v, day] of [
          ['3.7', '01'],
          ['3.10', '04'],
          ['3.8', '02'],
          ['3.9', '03']
        ])
          pause[v] = await seed('pause', [v], `2026-0${day.slice(1)}-01T00:00:00Z`);
        await seed('coredns/coredns', ['v1.11.1']); // no creation time in its config
        // The upstream's image, signed keyless: first by another workflow than the config names.
        const statik = await seed('chainguard/static', ['latest']);
        const signAs = async (workflow: string) => {
          const [repository] = workflow.split('/.github/');
          sigstore.oidc.claims = workflowClaims({repository, job_workflow_ref: workflow, workflow_ref: workflow});
          const signed = await runBundledAction(
            'sign',
            {
              images: `${upstream.host}/chainguard/static:latest`,
              'signing-config': sigstore.signingConfig,
              'trusted-root': sigstore.trustedRoot,
              'cosign-path': cosign as string
            },
            {...sigstore.env, GITHUB_REPOSITORY: repository, GITHUB_WORKFLOW_REF: workflow}
          );
          expect(signed.code).toBe(0);
        };
        await signAs('chainguard-images/images/.github/workflows/fork.yaml@refs/heads/main');

        const o: Offline = {
          replace: [
            [ECR, ecr.host],
            ['docker.io', upstream.host],
            ['cgr.dev', upstream.host],
            ['registry.k8s.io', upstream.host],
            ['ghcr.io', ghcr.host],
            ['https://token.actions.githubusercontent.com', sigstore.oidc.url]
          ],
          add: {sync: {'trusted-root': sigstore.trustedRoot, 'cosign-path': cosign as string}}
        };
        const {dir, changes} = await exampleRepo('mirror', o, {'.github/mirror.yml': read('examples/sync/mirror.yml')});
        expect(changes).toEqual(['sync: + trusted-root', 'sync: + cosign-path']);
        const job = () =>
          runAct(act as string, dir, {
            event: 'schedule',
            payload: {schedule: '17 */6 * * *'},
            workflow: '.github/workflows/mirror.yml',
            env: runnerEnv('mirror', 'refs/heads/main'),
            secrets: {GITHUB_TOKEN: GH_TOKEN, DOCKERHUB_TOKEN: HUB_TOKEN},
            localRepositories: localRepositories()
          });
        const first = await job();
        expect({ok: first.ok, tail: failure(first)}).toEqual({ok: true, tail: ''});
        expect(output(first.log, 'outcome')).toBe('complete');
        const names = async (reg: Registry, repo: string, auth?: string) =>
          Object.keys(await tags(reg, repo, auth))
            .filter(t => !t.startsWith('sha256-'))
            .sort();
        const ecrAuth = `AWS:${CLOUD_PASSWORD}`;
        expect({
          node: await names(ghcr, 'acme/mirror/library/node'),
          nginx: await names(ghcr, 'acme/mirror/library/nginx'),
          static: await names(ghcr, 'acme/mirror/chainguard/static'),
          pause: await names(ecr, 'k8s/pause', ecrAuth),
          coredns: await names(ecr, 'k8s/coredns', ecrAuth)
        }).toEqual({
          node: ['22-alpine', '22.11.0-alpine', '24-alpine'],
          nginx: ['1.26.0', '1.27.3'],
          static: [],
          pause: ['3.10', '3.8', '3.9'],
          coredns: []
        });
        // Its image config has no creation time: newest-by: created cannot rank it, and says so.
        expect(first.log).toMatch(
          /::warning::.*\/coredns\/coredns: 1 of 1 selected tag\(s\) have no creation time in their image config \(v1\.11\.1\)/
        );
        // Byte for byte: the digests are the upstream's.
        expect(output(first.log, 'refused')).toBe('1');
        const entries = (
          JSON.parse(output(first.log, 'result') ?? '{}') as {entries: Array<{entry: string; refused: unknown[]}>}
        ).entries;
        expect(JSON.stringify(entries.find(e => e.entry.endsWith('/chainguard/static'))?.refused)).toMatch(
          /latest.*certificate identity|latest.*identity/i
        );
        expect((await tags(ecr, 'k8s/pause', ecrAuth))['3.10']).toBe(pause['3.10']);
        expect(clouds.ecrRepositories.has('k8s/pause')).toBe(true);

        // Signed by the workflow the config names: the next run copies that image, byte for byte, and nothing else.
        await signAs('chainguard-images/images/.github/workflows/release.yaml@refs/heads/main');
        const again = await job();
        expect({ok: again.ok, tail: failure(again)}).toEqual({ok: true, tail: ''});
        expect({copied: output(again.log, 'copied'), unchanged: output(again.log, 'unchanged')}).toEqual({
          copied: '1',
          unchanged: '8'
        });
        expect((await tags(ghcr, 'acme/mirror/chainguard/static')).latest).toBe(statik);
      } finally {
        await upstream.stop();
      }
    },
    300000
  );
});
