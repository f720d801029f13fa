import crypto from 'node:crypto';
import {Readable} from 'node:stream';
import {describe, expect, test} from '@jest/globals';
import {planEvidence, platformTargets} from '../../src/shared/evidence/plan.js';
import {imageTree, walkGraph} from '../../src/shared/registry/graph.js';
import {Descriptor} from '../../src/shared/registry/media.js';
import {ImageSource, StoredManifest} from '../../src/shared/registry/store.js';
import {planTargets} from '../../src/shared/registry/targets.js';
import {seeded} from '../helpers/seeded.js';

/**
 * "The gate checks exactly what is copied and signs exactly what it plans", as a property over
 * generated image graphs: indexes nested up to three deep, children shared between indexes, buildx
 * attestation manifests, manifests listed without a platform, missing children, signatures and
 * attestations (on attestations too) as cosign tags or referrers, with and without the referrers API.
 * For each graph, through the real walks (the copy's walkGraph, the resolver's imageTree, the
 * signer's planTargets, the evidence plan): every manifest the copy writes as part of the image is
 * a target of the gate, and the gate's targets are exactly those plus the missing ones it must fail on;
 * every platform manifest at any depth gets one SBOM, once. Seeded: PROPERTY_SEED, PROPERTY_GRAPHS (how many).
 */
const CASES = Number(process.env.PROPERTY_GRAPHS ?? 300);
const SEED = Number(process.env.PROPERTY_SEED ?? 20261207);

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const sha = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

interface Graph {
  source: ImageSource;
  root: StoredManifest;
  /** Digests an index lists that the source does not hold. */
  missing: Set<string>;
  /** Every manifest under the root that is an attestation manifest or below one. */
  attestation: Set<string>;
}

/** A generated image graph in memory, served as an ImageSource (with or without the referrers API). */
function generate(seed: number): Graph {
  const r = seeded(seed);
  const held = new Map<string, StoredManifest>();
  const tags = new Map<string, string>();
  const referrersOf = new Map<string, Descriptor[]>();
  const put = (obj: unknown, mediaType: string): StoredManifest => {
    const body = Buffer.from(JSON.stringify(obj));
    const m = {body, digest: sha(body), mediaType};
    held.set(m.digest, m);
    return m;
  };
  let n = 0;
  const blob = {mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(Buffer.from('l')), size: 1};
  const leaf = (): StoredManifest =>
    put({schemaVersion: 2, mediaType: MANIFEST, config: blob, layers: [blob], n: ++n}, MANIFEST);
  const platforms = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/s390x', 'windows/amd64'];
  const attestation = new Set<string>();
  const missing = new Set<string>();
  // Level 0: leaves; each index above lists some of what is below (sharing allowed).
  let below: Array<{m: StoredManifest; desc: Descriptor}> = [];
  for (let i = 0, k = 2 + r.int(5); i < k; i++) {
    const m = leaf();
    const kind = r.int(10);
    const desc: Descriptor =
      kind < 6
        ? {mediaType: MANIFEST, digest: m.digest, size: m.body.length, platform: parsePlatform(platforms[r.int(5)])}
        : kind < 8
          ? {
              mediaType: MANIFEST,
              digest: m.digest,
              size: m.body.length,
              platform: {os: 'unknown', architecture: 'unknown'},
              annotations: {'vnd.docker.reference.type': 'attestation-manifest'}
            }
          : {mediaType: MANIFEST, digest: m.digest, size: m.body.length};
    below.push({m, desc});
  }
  if (r.chance(0.3)) {
    // A child the registry does not hold (a partial index).
    const ghost = Buffer.from(`ghost-${seed}`);
    below.push({
      m: {body: ghost, digest: sha(ghost), mediaType: MANIFEST},
      desc: {mediaType: MANIFEST, digest: sha(ghost), size: 1, platform: {os: 'linux', architecture: 'riscv64'}}
    });
    held.delete(sha(ghost));
  }
  const depth = 1 + r.int(3);
  for (let level = 0; level < depth; level++) {
    const next: typeof below = [];
    const count = level === depth - 1 ? 1 : 1 + r.int(3);
    for (let i = 0; i < count; i++) {
      const pick = below.filter(() => r.chance(0.6));
      const listed = pick.length ? pick : [below[r.int(below.length)]];
      const m = put({schemaVersion: 2, mediaType: INDEX, manifests: listed.map(x => x.desc), n: ++n}, INDEX);
      next.push({
        m,
        desc: {
          mediaType: INDEX,
          digest: m.digest,
          size: m.body.length,
          ...(r.chance(0.3) ? {platform: parsePlatform(platforms[r.int(5)])} : {})
        }
      });
    }
    // What no index above lists yet stays reachable only if an upper index lists it.
    below = [...next, ...below.filter(() => r.chance(0.3))];
  }
  const root = below[0].m;
  // Attestation manifests (and whatever lies below one) in this graph.
  const visit = (m: StoredManifest, under: boolean): void => {
    for (const d of (JSON.parse(m.body.toString('utf8')) as {manifests?: Descriptor[]}).manifests ?? []) {
      const isAtt =
        under ||
        d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
        (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown');
      if (isAtt) attestation.add(d.digest);
      const child = held.get(d.digest);
      if (child) visit(child, isAtt);
      else missing.add(d.digest);
    }
  };
  visit(root, false);
  // Signatures and attestations: a legacy .sig tag on some manifests, bundles as referrers (or in the
  // fallback index), an attestation on an attestation.
  const withApi = r.chance(0.5);
  for (const m of [...held.values()].filter(() => r.chance(0.4))) {
    if (r.chance(0.5)) tags.set(`${m.digest.replace(':', '-')}.sig`, leaf().digest);
    const bundle = put(
      {
        schemaVersion: 2,
        mediaType: MANIFEST,
        artifactType: BUNDLE,
        config: blob,
        layers: [blob],
        subject: {mediaType: m.mediaType, digest: m.digest, size: m.body.length}
      },
      MANIFEST
    );
    const add = (subject: string, b: StoredManifest): void => {
      const d = {mediaType: MANIFEST, digest: b.digest, size: b.body.length, artifactType: BUNDLE};
      referrersOf.set(subject, [...(referrersOf.get(subject) ?? []), d]);
    };
    add(m.digest, bundle);
    if (r.chance(0.3)) {
      const onBundle = put(
        {
          schemaVersion: 2,
          mediaType: MANIFEST,
          artifactType: BUNDLE,
          config: blob,
          layers: [blob],
          subject: {mediaType: MANIFEST, digest: bundle.digest, size: bundle.body.length},
          n: ++n
        },
        MANIFEST
      );
      add(bundle.digest, onBundle);
    }
  }
  if (!withApi)
    for (const [subject, list] of referrersOf) {
      const fallback = put({schemaVersion: 2, mediaType: INDEX, manifests: list}, INDEX);
      tags.set(subject.replace(':', '-'), fallback.digest);
    }
  const source: ImageSource = {
    name: `generated-${seed}`,
    resolve: async ref => {
      const m = held.get(tags.get(ref ?? '') ?? ref ?? root.digest);
      if (!m) throw new Error(`no ${ref}`);
      return m;
    },
    getManifest: async d => held.get(d),
    openBlob: async () => Readable.from([]),
    listTags: async () => [...tags.keys()],
    referrers: async d => (withApi ? (referrersOf.get(d) ?? []) : undefined)
  };
  return {source, root, missing, attestation};
}

function parsePlatform(p: string): {os: string; architecture: string; variant?: string} {
  const [os, architecture, variant] = p.split('/');
  return {os, architecture, ...(variant ? {variant} : {})};
}

describe('the gate checks what is copied: generated image graphs', () => {
  test(`${CASES} seeded graphs: gate targets = what the copy writes as the image (+ what is missing); one SBOM per platform`, async () => {
    const failures: string[] = [];
    for (let c = 0; c < CASES; c++) {
      const g = generate(SEED + c);
      const copyMissing = new Set<string>();
      const copied = await walkGraph(g.source, g.root, {copyReferrers: true, onMissing: d => copyMissing.add(d)});
      const tree = await imageTree(g.root, d => g.source.getManifest(d), {leaves: false});
      const targets = planTargets(
        [
          {
            input: 'r.io/app:v1',
            ref: {registry: 'r.io', repository: 'app', tag: 'v1'},
            digest: g.root.digest,
            mediaType: g.root.mediaType,
            tree
          }
        ],
        true
      );
      const checked = new Set(targets.map(t => t.digest));
      const image = new Set(copied.imageOrder.filter(d => !g.attestation.has(d)));
      const why: string[] = [];
      for (const d of image) if (!checked.has(d)) why.push(`copied, never checked: ${d.slice(7, 19)}`);
      for (const d of checked)
        if (!image.has(d) && !g.missing.has(d)) why.push(`checked, not part of the copied image: ${d.slice(7, 19)}`);
      for (const d of g.missing) if (!copyMissing.has(d)) why.push(`the copy did not notice missing ${d.slice(7, 19)}`);
      for (const d of checked) if (g.attestation.has(d)) why.push(`an attestation manifest gated as an image: ${d}`);
      if (targets.length !== checked.size) why.push('a digest planned twice');
      // Every platform manifest at any depth: an SBOM each, once.
      const platforms = platformTargets(targets).map(t => t.digest);
      const expected = [...image].filter(d => !isIndexDigest(copied.manifests, d));
      // An index with nothing but attestation manifests below it has no platform to describe: refused.
      let sboms: string[] = [];
      try {
        sboms = planEvidence(targets, {sbom: ['cyclonedx'], provenance: false})
          .filter(p => p.kind === 'cyclonedx')
          .map(p => p.targets[0].digest);
        if (!platforms.length) why.push('an SBOM plan for an image with no platform manifest');
      } catch (err) {
        if (platforms.length) why.push(`SBOM plan refused: ${String(err)}`);
      }
      if (new Set(sboms).size !== sboms.length) why.push('an SBOM planned twice for one digest');
      for (const d of expected)
        if (!platforms.includes(d) || !sboms.includes(d)) why.push(`platform manifest without SBOM: ${d.slice(7, 19)}`);
      if (why.length) failures.push(`seed ${SEED + c}: ${why.join('; ')}`);
    }
    expect(failures).toEqual([]);
  });
});

function isIndexDigest(manifests: Map<string, StoredManifest>, d: string): boolean {
  const m = manifests.get(d);
  return !!m && m.mediaType === INDEX;
}
