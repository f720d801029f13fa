import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {Policy} from '../policy/policy.js';
import {cosignGate} from '../sign/gate.js';
import {VerifiedImage} from '../sign/verify.js';
import {UserError, errorMessage} from '../errors.js';
import {Logger} from '../log.js';
import {FanoutResult, copyToTargets} from '../registry/fanout.js';
import {emptyCounters} from '../registry/copy.js';
import {mapLimit} from '../registry/limit.js';
import {ImageGraph, walkGraph} from '../registry/graph.js';
import {OciLayout} from '../registry/layout.js';
import {Clients} from '../registry/clients.js';
import {Mask, RegistryLogin} from '../registry/credentials.js';
import {ensureEcrRepository, parseEcrHost} from '../registry/providers/ecr.js';
import {parseReference, repositoryName} from '../registry/reference.js';
import {RegistryRepository} from '../registry/repo-store.js';
import {RetryPolicy} from '../registry/retry.js';
import {ImageSource, ImageTarget, StoredManifest} from '../registry/store.js';
import {sha256} from '../registry/digest.js';
import {ImageIndex, isIndex, platformString} from '../registry/media.js';
import {loginMap} from '../registry/logins.js';
import {Destination, tagsFor} from './destinations.js';
import {buildxCommand} from './buildx.js';
import {PushInputs} from './inputs.js';
import {lockAcrTags} from './tag-locks.js';
import {azureCloudOf} from '../registry/providers/azure-cloud.js';
import {ImmutableTags, TagMove, immutableMoves, moveWarning, refusalMessage} from './immutable.js';
import {describe, execOk} from '../exec.js';

export interface PushOptions {
  source: string;
  sourceUsername?: string;
  sourcePassword?: string;
  destinations: Destination[];
  tags: string[];
  copyReferrers: boolean;
  /** Platforms to copy (os/arch[/variant]); empty or all: every platform, the source digest kept. */
  platforms?: string[];
  concurrency: number;
  retry: RetryPolicy;
  dryRun: boolean;
  /** Create missing repositories where the registry needs it (ECR). */
  createRepositories?: boolean;
  /** Lock the guarded tags where the registry can (ACR: writeEnabled and deleteEnabled false). */
  lockTags?: boolean;
  env: NodeJS.ProcessEnv;
  mask: Mask;
  log: Logger;
  getIdToken?: (audience: string) => Promise<string>;
  /** Milliseconds between progress lines of a long copy (default 10 s). */
  progressMs?: number;
  /** A promotion policy the source must meet (every digest, every platform) before anything is copied. */
  policy?: Policy;
  gate?: {trustedRoot?: string; cosignVersion?: string; cosignPath?: string; notationPath?: string};
  /** Tags that never move once written (immutable-tags); undefined: no guard. */
  immutableTags?: ImmutableTags;
  /** Move them anyway (move-immutable-tags), with a warning naming each. */
  moveImmutableTags?: boolean;
}

/** One destination's outcome: the fan-out's, named, with the digest and the references written. */
export interface DestinationResult extends Omit<FanoutResult, 'name' | 'status'> {
  /** refused: a release tag there (or at another destination) names another image; nothing written. */
  status: FanoutResult['status'] | 'refused';
  destination: string;
  digest: string;
  refs: string[];
  /** With lock-tags: the tags the registry now refuses to move or delete. */
  locked?: string[];
}

export interface PushResult {
  digest: string;
  platforms: string[];
  refs: string[];
  results: DestinationResult[];
  failed: DestinationResult[];
  /** Why nothing was written anywhere (immutable-tags), when so. */
  refused?: string;
  /** With a policy: what was checked on each digest of the source. */
  gate?: VerifiedImage[];
  /** When push-multi built the image: the build's parameters. */
  buildParameters?: Record<string, unknown>;
}

/** Whether a source string is an OCI layout (directory or tarball) rather than a registry reference. */
export const isLayoutSource = (source: string): boolean => parseSource(source).kind === 'layout';

/** Where a source string points: a registry reference or an OCI layout (directory or tarball). */
export function parseSource(
  source: string
): {kind: 'layout'; path: string; ref?: string} | {kind: 'registry'; ref: ReturnType<typeof parseReference>} {
  const m = source.match(/^(oci|oci-archive|oci-layout):(.+)$/);
  if (m) {
    // oci:path or oci:path:tag (a tag naming one image of a multi-image layout)
    const rest = m[2];
    const at = rest.lastIndexOf(':');
    if (at > 0 && !rest.slice(at + 1).includes('/') && /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(rest.slice(at + 1))) {
      return {kind: 'layout', path: rest.slice(0, at), ref: rest.slice(at + 1)};
    }
    return {kind: 'layout', path: rest};
  }
  return {kind: 'registry', ref: parseReference(source, 'source')};
}

/** One login per registry, from the destinations that name it (and the source's own credentials). */
function registryLogins(opts: PushOptions): Map<string, RegistryLogin> {
  const map = loginMap(opts.destinations, opts.env, opts.mask, 'destinations');
  const source = parseSource(opts.source);
  if (source.kind === 'registry' && opts.sourcePassword) {
    opts.mask(opts.sourcePassword);
    const prev = map.get(source.ref.registry);
    if (prev?.password && prev.password !== opts.sourcePassword) {
      throw new UserError(
        `source-password: ${source.ref.registry} is also a destination with other credentials; one registry takes one login per run.`
      );
    }
    map.set(source.ref.registry, {
      provider: 'auto',
      ...prev,
      username: opts.sourceUsername ?? prev?.username,
      password: opts.sourcePassword
    });
  }
  return map;
}

async function openSource(
  opts: PushOptions,
  clients: Clients
): Promise<{source: ImageSource; ref?: string; name: string}> {
  const parsed = parseSource(opts.source);
  if (parsed.kind === 'layout') {
    return {source: new OciLayout(path.resolve(parsed.path)), ref: parsed.ref, name: opts.source};
  }
  const ref = parsed.ref;
  return {
    source: new RegistryRepository(clients.get(ref.registry), ref.repository),
    ref: ref.digest ?? ref.tag ?? 'latest',
    name: repositoryName(ref)
  };
}

/** A destination's target; a registry's gets its own view of the client, so its requests are its own. */
function targetFor(dest: Destination, clients: Clients): ImageTarget {
  if (dest.registry === 'oci') return new OciLayout(dest.repository, true);
  return new RegistryRepository(clients.get(dest.registry).view(), dest.repository);
}

/** Creates the destination repository where the registry needs it first (ECR); elsewhere nothing. */
export async function createRepository(
  dest: Destination,
  opts: Pick<PushOptions, 'env' | 'mask' | 'log' | 'getIdToken'>
): Promise<void> {
  const isEcr = dest.provider === 'ecr' || (dest.provider === 'auto' && parseEcrHost(dest.registry));
  if (!isEcr) {
    opts.log.debug(`${dest.name}: this registry creates repositories on first push`);
    return;
  }
  const ctx = {env: opts.env, mask: opts.mask, log: opts.log, getIdToken: opts.getIdToken};
  const state = await ensureEcrRepository(
    {registry: dest.registry, repository: dest.repository, region: dest.options.region, roleArn: dest.options.role},
    ctx
  );
  if (state === 'created') opts.log.info(`${dest.name}: repository created`);
}

/**
 * The index restricted to the given platforms (os/arch[/variant]), with the buildx attestation manifests
 * of those platforms; the manifest itself when no filter applies. The result is a new index with its own
 * digest: the exact bytes of the source cannot be kept when platforms are dropped. Pure.
 */
export function selectPlatforms(root: StoredManifest, platforms: string[]): StoredManifest {
  if (platforms.length === 0 || platforms.includes('all') || !isIndex(root.mediaType)) return root;
  const index = JSON.parse(root.body.toString('utf8')) as ImageIndex;
  const kept = index.manifests.filter(d => d.platform && platforms.includes(platformString(d.platform)));
  const keptDigests = new Set(kept.map(d => d.digest));
  const attestations = index.manifests.filter(
    d =>
      d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' &&
      keptDigests.has(d.annotations['vnd.docker.reference.digest'] ?? '')
  );
  if (kept.length === 0) {
    const have = index.manifests
      .filter(d => d.platform && d.platform.os !== 'unknown')
      .map(d => platformString(d.platform));
    throw new UserError(`platforms: none of ${platforms.join(', ')} is in the source (it has ${have.join(', ')}).`);
  }
  const wanted = new Set([...kept, ...attestations]);
  // Every entry wanted: the source's own bytes, so its digest and signatures stay valid.
  if (wanted.size === index.manifests.length) return root;
  const body = Buffer.from(JSON.stringify({...index, manifests: index.manifests.filter(d => wanted.has(d))}));
  return {body, digest: sha256(body), mediaType: root.mediaType};
}

/**
 * Copies the source image, every platform and (by default) its signatures and attestations, to every
 * destination at once. Every destination is attempted; failures are collected, never hidden.
 */
export async function pushMulti(opts: PushOptions): Promise<PushResult> {
  const clients = new Clients(opts, registryLogins(opts));
  const {source, ref, name} = await openSource(opts, clients);
  const original = await source.resolve(ref).catch(err => {
    throw new UserError(`source: cannot read ${name}${ref ? `:${ref}` : ''}: ${errorMessage(err)}`);
  });
  const root = selectPlatforms(original, opts.platforms ?? []);
  if (root !== original) {
    opts.log.warning(
      `platforms: copying ${opts.platforms?.join(', ')} only makes a new index ${root.digest} (the source is ${original.digest}); signatures of the source index do not apply to it, those of each platform still do.`
    );
  }
  const missing: string[] = [];
  const graph: ImageGraph = await walkGraph(source, root, {
    copyReferrers: opts.copyReferrers,
    onMissing: (d, parent) => missing.push(`${d} (referenced by ${parent})`)
  });
  if (missing.length) throw new UserError(`source: ${name} is incomplete; missing manifests: ${missing.join(', ')}`);
  opts.log.info(
    `source ${name}@${root.digest}: ${graph.imageOrder.length} manifest(s), ${graph.platforms.length || 1} platform(s)${graph.referrerOrder.length ? `, ${graph.referrerOrder.length} referrer manifest(s)` : ''}`
  );

  const gate = opts.policy ? await checkPolicy(opts, original.digest) : undefined;
  const targets = opts.destinations.map(dest => ({
    name: dest.name,
    target: targetFor(dest, clients),
    tags: tagsFor(dest, opts.tags),
    prepare: opts.createRepositories ? () => createRepository(dest, opts) : undefined
  }));
  const guard = await guardTags(targets, root.digest, opts);
  if (guard.refused) {
    const results = targets.map(t => idle(t, root.digest, guard.refused?.get(t.name) as string));
    return {
      digest: root.digest,
      platforms: graph.platforms,
      refs: [],
      results,
      failed: results,
      refused: refusalMessage(guard.moves, 'nothing was written to any destination'),
      ...(gate ? {gate} : {})
    };
  }
  const fanned = await copyToTargets(
    source,
    graph,
    targets.filter(t => !guard.failed.has(t.name)).map(t => ({...t, knownTags: guard.known.get(t.name)})),
    opts
  );
  const results: DestinationResult[] = targets.map(t => {
    const checkError = guard.failed.get(t.name);
    if (checkError) return {...idle(t, root.digest, checkError), status: 'failed'};
    const {name, ...r} = fanned.find(f => f.name === t.name) as FanoutResult;
    return {
      destination: name,
      digest: root.digest,
      refs: r.status === 'failed' ? [] : [`${name}@${root.digest}`, ...r.tags.map(x => `${name}:${x}`)],
      ...r
    };
  });
  if (opts.lockTags) await lockTags(results, opts, clients);
  const failed = results.filter(r => r.status === 'failed');
  return {
    digest: root.digest,
    platforms: graph.platforms,
    refs: results.flatMap(r => r.refs),
    results,
    failed,
    ...(gate ? {gate} : {})
  };
}

/** ACR destinations (provider acr, or a registry host of one of Azure's clouds): the guarded tags written there locked. */
const isAcr = (d: Destination): boolean =>
  d.provider === 'acr' || (d.provider === 'auto' && !!azureCloudOf(d.registry));

/**
 * lock-tags: after the copy, each tag immutable-tags guards is locked where the registry can enforce it
 * (ACR); a lock that fails is a warning (the copy stands), a registry that cannot lock is said once.
 */
async function lockTags(results: DestinationResult[], opts: PushOptions, clients: Clients): Promise<void> {
  const rule = opts.immutableTags;
  if (!rule) {
    opts.log.warning('lock-tags: immutable-tags is none, so no tag is guarded and none is locked.');
    return;
  }
  const unable: string[] = [];
  for (const r of results) {
    const dest = opts.destinations.find(d => d.name === r.destination);
    if (!dest || r.status === 'failed' || r.status === 'refused') continue;
    const tags = r.tags.filter(t => rule.matches(t));
    if (!tags.length) continue;
    if (!isAcr(dest)) {
      unable.push(dest.name);
      continue;
    }
    const {locked, error} = await lockAcrTags(clients.get(dest.registry), dest.repository, tags);
    r.locked = locked;
    if (error)
      opts.log.warning(
        `lock-tags: ${dest.name}: ${error}; the copy stands, ${tags.length - locked.length} tag(s) are not locked (the token needs metadata_write).`
      );
    else opts.log.info(`lock-tags: ${dest.name}: locked ${locked.join(', ')} (ACR refuses to move or delete them)`);
  }
  if (unable.length)
    opts.log.warning(
      `lock-tags: ${unable.join(', ')}: no per-tag lock through this registry's API; the immutable-tags guard of this action still refuses to move them.`
    );
}

/** A destination's result when nothing was done there (refused, or its tags could not be read). */
function idle(t: {name: string; tags: string[]}, digest: string, error: string): DestinationResult {
  return {
    destination: t.name,
    digest,
    refs: [],
    status: 'refused',
    tags: t.tags,
    counters: emptyCounters(),
    requests: 0,
    retries: 0,
    durationMs: 0,
    error
  };
}

/**
 * Before anything is written: each destination's immutable tags (immutable-tags) are read; when one
 * names another image anywhere, every destination is refused (a version never names different images
 * in different registries). A destination whose tags cannot be read is not written. What was read
 * saves the copy reading it again.
 */
async function guardTags(
  targets: Array<{name: string; target: ImageTarget; tags: string[]}>,
  digest: string,
  opts: PushOptions
): Promise<{
  known: Map<string, Map<string, string | undefined>>;
  failed: Map<string, string>;
  moves: TagMove[];
  refused?: Map<string, string>;
}> {
  const known = new Map<string, Map<string, string | undefined>>();
  const failed = new Map<string, string>();
  const rule = opts.immutableTags;
  if (!rule) return {known, failed, moves: []};
  await Promise.all(
    targets.map(async t => {
      const guarded = t.tags.filter(rule.matches);
      if (!guarded.length) return;
      try {
        const current = await mapLimit(guarded, opts.concurrency, tag => t.target.tagDigest(tag));
        known.set(t.name, new Map(guarded.map((tag, i) => [tag, current[i]])));
      } catch (err) {
        failed.set(
          t.name,
          `immutable-tags: cannot read ${guarded.join(', ')} there to check they do not move: ${errorMessage(err)}`
        );
      }
    })
  );
  const moves = immutableMoves(
    digest,
    targets.flatMap(t =>
      known.has(t.name) ? [{destination: t.name, current: known.get(t.name) as Map<string, string | undefined>}] : []
    ),
    rule
  );
  if (!moves.length) return {known, failed, moves};
  if (opts.moveImmutableTags) {
    for (const m of moves) opts.log.warning(moveWarning(m));
    return {known, failed, moves: []};
  }
  const refused = new Map<string, string>();
  const holders = [...new Set(moves.map(m => m.destination))];
  for (const t of targets) {
    const own = moves.filter(m => m.destination === t.name);
    refused.set(
      t.name,
      own.length
        ? own.map(m => `${m.tag} is ${m.current}; the copy is ${m.wanted}`).join('; ')
        : `not written: ${holders.join(', ')} ${holders.length > 1 ? 'hold' : 'holds'} a release tag on another image`
    );
  }
  return {known, failed, moves, refused};
}

/**
 * The promotion gate: the source, by the digest just resolved (the one that is copied), and each of its
 * platforms must meet the policy; otherwise nothing is copied and every failed requirement is named.
 */
async function checkPolicy(opts: PushOptions, digest: string): Promise<VerifiedImage[]> {
  const parsed = parseSource(opts.source);
  if (parsed.kind !== 'registry' || !opts.policy) throw new UserError('policy: needs a registry source.');
  const reference = `${parsed.ref.registry}/${parsed.ref.repository}@${digest}`;
  const gate = cosignGate({...opts, logins: registryLogins(opts), ...opts.gate});
  try {
    const verdict = await gate.check(reference, opts.policy, {where: 'policy.signer', recursive: true});
    for (const v of verdict.images)
      opts.log.info(
        `policy: ${v.reference}${v.platform ? ` (${v.platform})` : ''}: ${(v.requirements ?? []).map(r => `${r.requirement} ${r.ok ? 'ok' : 'FAILED'}`).join(', ')}`
      );
    if (!verdict.ok)
      throw new UserError(`policy: ${reference} does not meet the policy, nothing was copied: ${verdict.reason}`);
    return verdict.images;
  } finally {
    gate.close();
  }
}

/**
 * push-multi, start to end, for the action and the command line alike: buildx first when asked (one
 * build for every platform into an OCI layout, its output passed through), then the copy.
 */
export async function runPush(
  inputs: PushInputs,
  ctx: Pick<PushOptions, 'env' | 'mask' | 'log' | 'getIdToken' | 'progressMs'> & {raw: (chunk: string) => void}
): Promise<PushResult> {
  let source = inputs.source;
  if (inputs.build) {
    const dir = fs.mkdtempSync(path.join(ctx.env.RUNNER_TEMP || os.tmpdir(), 'registry-actions-build-'));
    const cmd = buildxCommand({...inputs.build, output: path.join(dir, 'image.tar')});
    ctx.log.info(`building: ${describe(cmd)}`);
    await ctx.log.group('docker buildx build', () => execOk({...cmd, onOutput: chunk => ctx.raw(chunk)}));
    source = `oci:${path.join(dir, 'image.tar')}`;
  }
  const {raw: _raw, ...rest} = ctx;
  const result = await pushMulti({...inputs, ...rest, source: source as string});
  return inputs.build ? {...result, buildParameters: buildParameters(inputs.build)} : result;
}

/**
 * What the build was asked to do, for the sign action's provenance (build-parameters): context, file,
 * platforms, build arguments and target. Secrets (secret-envs) are not build arguments and stay out. Pure.
 */
export function buildParameters(b: NonNullable<PushInputs['build']>): Record<string, unknown> {
  const args = Object.fromEntries(
    b.buildArgs.map(a => {
      const eq = a.indexOf('=');
      return [a.slice(0, eq), a.slice(eq + 1)];
    })
  );
  return {
    context: b.context,
    ...(b.file ? {file: b.file} : {}),
    ...(b.platforms.length ? {platforms: b.platforms} : {}),
    ...(b.buildArgs.length ? {buildArgs: args} : {}),
    ...(b.target ? {target: b.target} : {})
  };
}
