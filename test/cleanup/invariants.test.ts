import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {ActionIO} from '../../src/shared/action/io.js';
import {readCleanupInputs} from '../../src/shared/cleanup/inputs.js';
import {CleanupResult, runCleanup} from '../../src/shared/cleanup/run.js';
import {Credential} from '../../src/shared/registry/auth.js';
import {GhcrImages, Pushed} from '../helpers/ghcr-images.js';
import {requireTool} from '../helpers/tools.js';
import {ApiRequest} from '../helpers/vendor-registry.js';
import {EmuVersion, GH_TOKEN, startGhcr} from '../helpers/ghcr.js';
import {ecrOperation} from '../helpers/vendors/ecr.js';
import {HARBOR_ROBOT, HARBOR_SECRET} from '../helpers/vendors/harbor.js';
import {VENDORS, VendorCase} from '../helpers/vendors/index.js';
import {seeded} from '../helpers/seeded.js';

/**
 * The cleanup promise as a property, on every registry backend: "cleanup never removes what the plan did
 * not mean to remove, whatever happens meanwhile". Each case seeds a repository with generated images
 * (multi-platform indexes, attestation manifests, signatures, several tags each), runs a real cleanup
 * with a generated policy, and between the run's requests injects registry activity drawn at random: a
 * new tag on an image, a tag moved between images, a new image pushed, an image deleted by someone else,
 * a referrer added. The emulator's state is read before every request, so each change is pinned to the
 * request (or the injection) that made it. Then:
 * - every manifest the run deleted was a planned deletion and carried, at deletion, only tags the plan
 *   removes with it; every tag the run removed or moved was one the plan removes from that image;
 * - the run reports as deleted exactly what it deleted;
 * - every tag not planned away still resolves, completely (index → every manifest it lists).
 * A violation that an injection caused after the backend's last pre-write read is the vendor API's own
 * window (it cannot make that write conditional): counted and printed, never allowed elsewhere.
 *
 * Seeded and reproducible: PROPERTY_SEED and PROPERTY_CASES (per backend) choose the cases;
 * PROPERTY_CASE=n runs case n alone and prints what each request and injection changed.
 */
const CASES = Number(process.env.PROPERTY_CASES ?? 60);
const SEED = Number(process.env.PROPERTY_SEED ?? 20261207);
const ready = !!requireTool('docker-registry');

/** A manifest as the registry under test holds it. */
interface Held {
  digest: string;
  tags: string[];
  body: Buffer;
  mediaType: string;
}

/** The registry under test, as the harness drives it: its state, someone else's deletions, the request hook. */
interface Backing {
  host: string;
  /** The run's inputs and environment for a repository (owner/name). */
  inputs(owner: string, pkg: string): Record<string, string>;
  env: Record<string, string>;
  credential?: Credential;
  held(repo: string): Held[];
  /** Someone else deletes an image (as the registry's users do: Hub by its tags). */
  deleteByOthers(repo: string, m: Held): Promise<void>;
  hook(fn: ((r: ApiRequest) => Promise<void>) | undefined): void;
  violations(): string[];
  stop(): Promise<void>;
}

/** A backend under test. */
interface Subject {
  name: string;
  /** The first path segment of its repositories. */
  owner: string;
  start(): Promise<Backing | undefined>;
  /** Whether a request starts the backend's read before a write (its check). */
  checkStart(r: ApiRequest): boolean;
  /**
   * recheck wave: one read covers the writes of a wave (at most this many); a loss an injection caused
   * after that read is the documented window only when at most this many writes followed the read.
   */
  wave?: number;
}

const isGet = (r: ApiRequest, re: RegExp): boolean => r.method === 'GET' && re.test(r.url.pathname);
const isHead = (r: ApiRequest, re: RegExp): boolean => r.method === 'HEAD' && re.test(r.url.pathname);

/**
 * A vendor's emulator (or, with `oci`, the Harbor emulator's registry API under backend oci; with
 * `wave`, under recheck wave).
 */
function vendorSubject(name: string, checkStart: Subject['checkStart'], oci = false, wave?: number): Subject {
  const v = VENDORS.find(x => x.name === (oci ? 'harbor' : name)) as VendorCase;
  return {
    name,
    owner: v.namespace,
    checkStart,
    wave,
    start: async () => {
      const emu = await v.start();
      if (!emu) return undefined;
      return {
        host: emu.host,
        inputs: (owner, pkg) => ({
          packages: `${owner}/${pkg}`,
          ...v.inputs(emu),
          ...(oci ? {backend: 'oci', logins: `${emu.host},username=${HARBOR_ROBOT},password-env=HARBOR_SECRET`} : {}),
          ...(wave ? {recheck: 'wave'} : {})
        }),
        env: {...v.env(emu), HARBOR_SECRET},
        credential: v.credential,
        held: repo => emu.active(repo),
        deleteByOthers: async (repo, m) => {
          if (name === 'dockerhub') {
            // On Hub someone deletes an image by its tags; Hub then removes it and what only it listed.
            for (const t of [...m.tags]) emu.deleteTag(repo, t);
            const listed = (JSON.parse(m.body.toString('utf8')) as {manifests?: Array<{digest: string}>}).manifests;
            await emu.deleteManifest(repo, m.digest);
            for (const c of listed ?? []) await emu.deleteManifest(repo, c.digest);
          } else await emu.deleteManifest(repo, m.digest);
        },
        hook: fn => (emu.onApiCall = fn),
        violations: () => emu.violations.splice(0),
        stop: () => emu.stop()
      };
    }
  };
}

/** GHCR: the Packages API emulator with its registry; with `wave`, under recheck wave (a wave's listing pages read before it). */
const ghcrSubject = (wave?: number): Subject => ({
  name: wave ? 'ghcr-wave' : 'ghcr',
  owner: 'acme-org',
  wave,
  checkStart: r =>
    isGet(r, /\/versions\/\d+$/) ||
    isHead(r, /^\/v2\/.+\/manifests\/(?!sha256:)[^/]+$/) ||
    (!!wave && isGet(r, /\/versions$/)),
  start: async () => {
    const emu = await startGhcr();
    if (!emu) return undefined;
    emu.orgs.add('acme-org');
    const held = (repo: string): Array<Held & {version: EmuVersion}> =>
      emu.active(repo).map(x => ({digest: x.name, tags: x.tags, body: x.body, mediaType: x.mediaType, version: x}));
    return {
      host: emu.host,
      inputs: (owner, pkg) => ({
        owner,
        packages: pkg,
        'github-token': GH_TOKEN,
        'github-api-url': emu.apiUrl,
        'registry-url': emu.host,
        ...(wave ? {recheck: 'wave'} : {})
      }),
      env: {},
      held,
      deleteByOthers: async (repo, m) => {
        const v = held(repo).find(x => x.digest === m.digest)?.version;
        if (!v) return;
        await fetch(`${emu.registry.url}/v2/${repo}/manifests/${m.digest}`, {method: 'DELETE'}).then(x =>
          x.body?.cancel()
        );
        v.deleted = true;
      },
      hook: fn => (emu.onRequest = fn),
      violations: () => emu.violations.splice(0),
      stop: () => emu.stop()
    };
  }
});

const SUBJECTS: Subject[] = [
  vendorSubject('ecr', r => ecrOperation(r) === 'DescribeImages' && r.body.includes('imageIds')),
  vendorSubject('acr', r => isGet(r, /\/acr\/v1\/.+\/(_manifests\/sha256:|_tags\/)/)),
  vendorSubject('harbor', r => isGet(r, /\/artifacts\/sha256:[a-f0-9]+$/)),
  vendorSubject('gar', r => isGet(r, /\/packages\/[^/]+\/(tags|versions)\/[^/]+$/)),
  vendorSubject('dockerhub', r => isGet(r, /\/v2\/namespaces\/[^/]+\/repositories\/[^/]+\/tags\/[^/]+$/)),
  vendorSubject('oci', r => isGet(r, /^\/v2\/.+\/tags\/list$/), true),
  vendorSubject('oci-wave', r => isGet(r, /^\/v2\/.+\/tags\/list$/), true, 100),
  ghcrSubject(),
  ghcrSubject(100)
];

type State = Map<string, string[]>;
const THROWAWAY = 'application/vnd.registry-actions.untag.v1';

/** What one request or one injection changed: manifests deleted (with their tags then) and tags removed or moved. */
interface Change {
  /** The run's request index, or the injection's (`by: 'others'`). */
  at: number;
  by: 'run' | 'others';
  deleted: Array<{digest: string; tags: string[]}>;
  /** Tags that left a digest that stayed (removed, or moved elsewhere). */
  untagged: Array<{digest: string; tag: string}>;
  /** Tags written by others: tag → digest. */
  written: Array<{tag: string; digest: string}>;
}

function diff(before: State, after: State, at: number, by: Change['by']): Change {
  const c: Change = {at, by, deleted: [], untagged: [], written: []};
  for (const [d, tags] of before) {
    const now = after.get(d);
    if (!now) c.deleted.push({digest: d, tags});
    else for (const t of tags) if (!now.includes(t)) c.untagged.push({digest: d, tag: t});
  }
  for (const [d, tags] of after) {
    const was = before.get(d) ?? [];
    for (const t of tags) if (!was.includes(t)) c.written.push({tag: t, digest: d});
  }
  return c;
}

interface CaseResult {
  violations: string[];
  windows: string[];
  requests: number;
  injections: number;
}

describe.each(SUBJECTS.map(s => [s.name, s] as const))('cleanup invariants: backend %s', (_name, subject: Subject) => {
  const maybe = ready ? test : test.skip;
  let emu: Backing;
  const saved = new Map<string, string | undefined>();
  beforeAll(async () => {
    if (!ready) return;
    emu = (await subject.start()) as Backing;
    // The vendor SDKs (AWS's) read their endpoint and credentials from the process environment.
    for (const [k, v] of Object.entries(emu.env)) {
      saved.set(k, process.env[k]);
      process.env[k] = v;
    }
  }, 30000);
  afterAll(async () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await emu?.stop();
  });

  let debug: unknown;
  async function runCase(n: number): Promise<CaseResult> {
    const r = seeded(SEED * 31 + n * 7919 + [...subject.name].reduce((h, ch) => h * 31 + ch.charCodeAt(0), 7));
    const p = new GhcrImages(emu, subject.owner, `inv-${subject.name}-${n}`, emu.credential);
    const bodies = new Map<string, string>();
    const state = (): State =>
      new Map(
        emu
          .held(p.repo)
          .filter(m => !m.body.includes(THROWAWAY))
          .map(m => (bodies.set(m.digest, m.body.toString('utf8')), [m.digest, [...m.tags].sort()]))
      );
    // Seed: 2 to 5 images, some with attestation manifests and signatures, 1 to 3 tags each.
    const images: Pushed[] = [];
    let tagNo = 0;
    const newTags = (): string[] => {
      const k = 1 + r.int(3);
      return Array.from({length: k}, (_, i) => (i === 0 || r.chance(0.5) ? `v${++tagNo}` : `pr-${++tagNo}`));
    };
    for (let i = 0, count = 2 + r.int(4); i < count; i++) {
      const img = await p.image(`c${n}-i${i}`, newTags(), {
        attestations: r.chance(0.3),
        platforms: r.chance(0.3) ? ['linux/amd64'] : ['linux/amd64', 'linux/arm64']
      });
      images.push(img);
      if (r.chance(0.3)) await p.legacySignature(img.digest);
      if (r.chance(0.2) && subject.name !== 'dockerhub') await p.referrer(img, 'spdx');
    }
    const policy: Record<string, string> = r.chance(0.5)
      ? {'keep-n-tagged': String(r.int(3))}
      : {'delete-tags': 'pr-*', 'keep-n-tagged': String(1 + r.int(3))};
    const inputs: Record<string, string> = {
      'deletes-per-minute': '6000',
      concurrency: '1',
      'verify-after': 'false',
      'manifest-cache': 'false',
      ...emu.inputs(subject.owner, p.pkg),
      ...policy
    };
    const env = {...process.env, ...emu.env};
    // Injections: 1 to 3, at request indices drawn over the run's usual length.
    const plannedAt = new Set(Array.from({length: 1 + r.int(3)}, () => r.int(40)));
    const changes: Change[] = [];
    const requests: ApiRequest[] = [];
    let last = state();
    let injecting = false;
    let injections = 0;
    const inject = async (): Promise<void> => {
      const live = emu
        .held(p.repo)
        .filter(m => m.tags.some(t => /^(v|pr-|x-)\d+$/.test(t)) && !m.body.includes(THROWAWAY));
      const target = live.length ? r.pick(live) : undefined;
      const asPushed = (m: NonNullable<typeof target>): Pushed => ({
        digest: m.digest,
        children: [],
        body: m.body,
        mediaType: m.mediaType
      });
      const untagged = emu.held(p.repo).filter(m => !m.tags.length && !m.body.includes(THROWAWAY));
      switch (r.int(6)) {
        case 0:
          if (target) await p.tag(asPushed(target), `x-${++tagNo}`);
          break;
        case 5:
          // A platform manifest, signature or referrer tagged by someone (crane tag repo@sha256:… x).
          if (untagged.length) await p.tag(asPushed(r.pick(untagged)), `x-${++tagNo}`);
          break;
        case 1: {
          const tags = live.flatMap(m => m.tags.filter(t => /^(v|pr-|x-)\d+$/.test(t)));
          if (target && tags.length) await p.tag(asPushed(target), r.pick(tags));
          break;
        }
        case 2:
          await p.image(`c${n}-new${++tagNo}`, [`v${tagNo}`], {platforms: ['linux/amd64']});
          break;
        case 3:
          if (target) await emu.deleteByOthers(p.repo, target);
          break;
        default:
          if (target && subject.name !== 'dockerhub') await p.referrer(asPushed(target), 'spdx');
      }
    };
    emu.hook(async req => {
      if (injecting) return;
      const at = requests.length;
      requests.push(req);
      const now = state();
      changes.push(diff(last, now, at - 1, 'run'));
      last = now;
      if (!plannedAt.has(at)) return;
      injecting = true;
      try {
        await inject();
        injections++;
      } finally {
        injecting = false;
      }
      const after = state();
      changes.push(diff(last, after, at, 'others'));
      last = after;
    });
    let res: CleanupResult;
    try {
      const log = {
        info: () => {},
        warning: () => {},
        debug: () => {},
        error: () => {},
        group: <T>(_n: string, f: () => Promise<T>) => f()
      };
      const io: ActionIO = {
        input: name => inputs[name] ?? '',
        output: () => {},
        mask: () => {},
        log,
        raw: () => {},
        saveState: () => {},
        exportVariable: () => {},
        getIdToken: async () => ''
      };
      const {manifestCache: _unused, ...opts} = readCleanupInputs(io, env);
      res = await runCleanup({...opts, now: Date.now(), env, mask: () => {}, log});
    } finally {
      emu.hook(undefined);
    }
    changes.push(diff(last, state(), requests.length - 1, 'run'));

    const rep = res.packages[0];
    debug = {
      final: [...state()].map(
        ([d, t]) =>
          `${d.slice(7, 19)} [${t.join(',')}] lists ${((JSON.parse(bodies.get(d) ?? '{}') as {manifests?: Array<{digest: string}>}).manifests ?? []).map(x => x.digest.slice(7, 19)).join(' ')}`
      ),
      changes: changes.filter(c => c.deleted.length || c.untagged.length || c.written.length),
      rep,
      requests: requests.map((q, i) => `${i} ${q.method} ${q.url.pathname}`)
    };
    const violations: string[] = [];
    const windows: string[] = [];
    if (rep.error) violations.push(`run error: ${rep.error}`);
    // Nothing was injected that should stop a run: a blocked plan proves nothing.
    if (rep.blocked) violations.push(`blocked: ${rep.blocked}; ${rep.warnings.join('; ')}`);
    // The plan: what it deletes (with the tags it removes with each) and the tags it untags.
    const planned = new Map<string, Set<string>>();
    const plan = (digest: string, tags: string[]): void => {
      const s = planned.get(digest) ?? new Set<string>();
      for (const t of tags) s.add(t);
      planned.set(digest, s);
    };
    const plannedDeletions = new Set([...rep.deleted, ...rep.skipped, ...rep.failed].map(d => d.digest));
    for (const d of [...rep.deleted, ...rep.skipped, ...rep.failed]) plan(d.digest, d.tags);
    // A cosign or referrers fallback tag (sha256-<hex>[.sig|.att|.sbom]) belongs to the image it names:
    // planned away with it, whether or not the registry's API listed it (Harbor lists none on accessories).
    const namesPlanned = (tag: string): boolean => {
      const hex = tag.match(/^sha256-([a-f0-9]{64})(\.(sig|att|sbom))?$/)?.[1];
      return !!hex && plannedDeletions.has(`sha256:${hex}`);
    };
    for (const u of rep.untagged) plan(u.digest, u.removed);
    // Who wrote a tag onto a digest last, among the injections, and when.
    const writtenBy = (tag: string, digest: string, before: number): Change | undefined =>
      changes
        .filter(c => c.by === 'others' && c.at <= before && c.written.some(w => w.tag === tag && w.digest === digest))
        .pop();
    // A change the run made at request j that an injection at i caused: the vendor's window when the
    // backend started no check between them.
    // The window: the backend read before this write (a check started after its previous write), the
    // injection came after that read, and no check started after the injection. A write with no read of
    // its own before it is never a window.
    const writes = changes.filter(c => c.by === 'run' && (c.deleted.length || c.untagged.length)).map(c => c.at);
    const listedBy = (digest: string): string[] =>
      ((JSON.parse(bodies.get(digest) ?? '{}') as {manifests?: Array<{digest: string}>}).manifests ?? []).map(
        m => m.digest
      );
    const judge = (what: string, tag: string, digest: string, j: number): void => {
      const cause = writtenBy(tag, digest, j);
      if (!cause) return void violations.push(what);
      if (subject.wave) {
        // recheck wave: the last read before this write came before the injection, and at most a wave of
        // writes followed that read.
        // (The wave's pages are read together: the read starts at the first of them.)
        let read = j - 1;
        while (read >= 0 && !subject.checkStart(requests[read])) read--;
        while (read > 0 && subject.checkStart(requests[read - 1])) read--;
        const since = writes.filter(w => w > read && w <= j).length;
        // A wave never holds a version and the image listing it: the read for a platform manifest comes
        // after its index went.
        const parentGone = changes
          .filter(c => c.by === 'run' && c.at < j)
          .filter(c => c.deleted.some(x => listedBy(x.digest).includes(digest)))
          .map(c => c.at);
        const windowed = read >= 0 && read < cause.at && since <= subject.wave && parentGone.every(at => at < read);
        return void (windowed ? windows : violations).push(`${what} (written by others before request ${cause.at})`);
      }
      const previous = Math.max(-1, ...writes.filter(w => w < j));
      const readBefore = requests.slice(previous + 1, cause.at).some(subject.checkStart);
      const readAfter = requests.slice(cause.at, j + 1).some(subject.checkStart);
      (readBefore && !readAfter ? windows : violations).push(`${what} (written by others before request ${cause.at})`);
    };
    /** Whether a manifest with a subject went in the same request as that subject, a planned deletion. */
    const withItsSubject = (c: Change, digest: string): boolean => {
      const of = (JSON.parse(bodies.get(digest) ?? '{}') as {subject?: {digest?: string}}).subject?.digest;
      return c.deleted.some(x => x.digest === of && plannedDeletions.has(x.digest));
    };
    const deletedByRun = new Set<string>();
    const deletedByAccessory = new Set<string>();
    for (const c of changes.filter(x => x.by === 'run')) {
      for (const d of c.deleted) {
        deletedByRun.add(d.digest);
        if (!plannedDeletions.has(d.digest)) {
          // Harbor deletes an artifact's accessories with it (hard references), one added during the run too.
          if (subject.name === 'harbor' && withItsSubject(c, d.digest)) {
            windows.push(`request ${c.at} deleted ${d.digest}, an accessory added during the run, with its subject`);
            deletedByAccessory.add(d.digest);
          } else violations.push(`request ${c.at} deleted ${d.digest}, not a planned deletion`);
          continue;
        }
        for (const t of d.tags.filter(t => !planned.get(d.digest)?.has(t) && !namesPlanned(t))) {
          // Harbor deletes an artifact's accessories as roots, tags and all: a tag written on one goes with it.
          if (subject.name === 'harbor' && withItsSubject(c, d.digest))
            windows.push(`request ${c.at} deleted accessory ${d.digest} with its subject, tagged ${t} during the run`);
          else judge(`request ${c.at} deleted ${d.digest} carrying ${t}`, t, d.digest, c.at);
        }
      }
      for (const u of c.untagged)
        if (!planned.get(u.digest)?.has(u.tag))
          judge(`request ${c.at} removed ${u.tag} from ${u.digest}`, u.tag, u.digest, c.at);
    }
    // Outputs match what happened (a manifest someone else deleted meanwhile is reported already gone).
    const reported = new Set(rep.deleted.map(d => d.digest));
    for (const d of reported)
      if (!deletedByRun.has(d) && state().has(d)) violations.push(`reported deleted, still there: ${d}`);
    for (const d of deletedByRun)
      if (!reported.has(d) && !deletedByAccessory.has(d)) violations.push(`deleted, not reported: ${d}`);
    // Every tag still there resolves completely.
    // (A manifest someone else deleted is their doing, not the run's.)
    const byOthers = new Set(changes.filter(c => c.by === 'others').flatMap(c => c.deleted.map(d => d.digest)));
    const now = state();
    for (const [digest, tags] of now) {
      const listed = (JSON.parse(bodies.get(digest) ?? '{}') as {manifests?: Array<{digest: string}>}).manifests ?? [];
      for (const c of listed)
        if (!now.has(c.digest) && !byOthers.has(c.digest) && tags.length)
          violations.push(`${tags.join(', ')}: ${c.digest} of its index is missing`);
    }
    return {violations, windows, requests: requests.length, injections};
  }

  maybe(
    `a generated concurrent change never makes the run remove what it did not plan to (${CASES} seeded cases)`,
    async () => {
      const failures: string[] = [];
      const windows: string[] = [];
      let requests = 0;
      let injections = 0;
      const only = process.env.PROPERTY_CASE;
      for (let n = only ? Number(only) : 0; n < (only ? Number(only) + 1 : CASES); n++) {
        const res = await runCase(n);
        if (only) console.log(JSON.stringify({res, changes: debug}, null, 1));
        requests += res.requests;
        injections += res.injections;
        if (res.violations.length) failures.push(`case ${n} (PROPERTY_SEED=${SEED}): ${res.violations.join('; ')}`);
        windows.push(...res.windows.map(w => `case ${n}: ${w}`));
      }
      console.log(
        `backend ${subject.name}: ${CASES} cases, ${requests} requests, ${injections} injections, ${windows.length} loss(es) in the vendor API's window${windows.length ? `:\n${windows.join('\n')}` : ''}`
      );
      expect(failures).toEqual([]);
      expect(emu.violations()).toEqual([]);
    },
    600_000
  );
});
