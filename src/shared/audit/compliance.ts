import {Graph} from '../cleanup/plan.js';
import {ManifestFacts, ManifestState} from '../cleanup/model.js';
import {Policy} from '../policy/policy.js';
import {Severity, severityRank} from '../scan/report.js';
import {predicateUri} from '../sign/presence.js';

export const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const VULN_PREDICATE = predicateUri('vuln');
const NOTATION_SIGNATURE = 'application/vnd.cncf.notary.signature';
const COSIGN_OCI11_SIGNATURE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/** One requirement an image (or one of its platforms) does not meet. */
export interface Failure {
  /** signature, or the policy's name of the attestation (provenance, sbom, vuln, custom-…). */
  requirement: string;
  digest: string;
  platform?: string;
  reason: string;
}

/** What a scan attestation said, read from its payload (verified only when the image was verified). */
export interface ScanFacts {
  /** When the scan finished (ISO 8601). */
  finished?: string;
  /** The worst severity found; undefined for a clean scan. */
  worst?: Severity;
}

/** A served (tagged) image against the compliance policy. */
export interface ImageCompliance {
  repository: string;
  digest: string;
  tags: string[];
  createdAt: string;
  /** The registry's web page of the image, where it has one. */
  url?: string;
  /** presence: read from the registry's listings (who signed is not checked); verified: cosign verified it. */
  checked: 'presence' | 'verified';
  compliant: boolean;
  failures: Failure[];
  /** The newest scan of the image's platforms: the oldest such scan's age decides, the worst severity of them. */
  scan?: {finished?: string; ageDays?: number; worst?: Severity};
  /** How many signatures the image's own digest carries (cosign and Notation). */
  signatures: number;
}

/** The evidence the registry holds about one digest, read from the manifests listed with it. */
export interface Evidence {
  signatures: number;
  /** Attestation manifests by predicate type URI. */
  attestations: Map<string, string[]>;
}

const facts = (m: ManifestState | undefined): ManifestFacts | undefined => (m && typeof m === 'object' ? m : undefined);

/** The signatures and attestations a digest carries, from the package's graph (referrers, fallback and cosign tags). Pure. */
export function evidenceOf(digest: string, graph: Graph, manifests: Map<string, ManifestState>): Evidence {
  const out: Evidence = {signatures: 0, attestations: new Map()};
  for (const a of graph.artifactsOf.get(digest) ?? []) {
    const f = facts(manifests.get(a));
    if (!f) continue;
    const tags = graph.byDigest.get(a)?.tags ?? [];
    const types = f.predicateTypes ?? [];
    if (
      types.includes(SIGN_PREDICATE) ||
      f.artifactType === NOTATION_SIGNATURE ||
      f.artifactType === COSIGN_OCI11_SIGNATURE ||
      tags.some(t => t.endsWith('.sig'))
    )
      out.signatures++;
    for (const t of types.filter(x => x !== SIGN_PREDICATE))
      out.attestations.set(t, [...(out.attestations.get(t) ?? []), a]);
  }
  return out;
}

/** The platform manifests under an image (any depth of index), with their platform; attestation manifests left out. Pure. */
export function platformsOf(
  digest: string,
  manifests: Map<string, ManifestState>
): Array<{digest: string; platform?: string}> {
  const out: Array<{digest: string; platform?: string}> = [];
  const walk = (d: string, seen: Set<string>): void => {
    for (const c of facts(manifests.get(d))?.children ?? []) {
      if (c.attestation || seen.has(c.digest)) continue;
      seen.add(c.digest);
      const kid = facts(manifests.get(c.digest));
      if (kid?.children.length) walk(c.digest, seen);
      else out.push({digest: c.digest, ...(c.platform ? {platform: c.platform} : {})});
    }
  };
  walk(digest, new Set([digest]));
  return out;
}

const DAY = 86_400_000;

/**
 * Whether a served image carries what the policy asks, from presence alone: a signature on the image
 * and every platform manifest; each attestation where its rule applies (every digest, or platforms);
 * for scans, the newest scan's age and worst severity (as its payload says, unverified). Who signed is
 * not checked here: verification (cosign) does that. Pure.
 */
export function presenceCompliance(
  image: {repository: string; digest: string; tags: string[]; createdAt: string; url?: string},
  graph: Graph,
  manifests: Map<string, ManifestState>,
  policy: Policy,
  scans: Map<string, ScanFacts>,
  now: number
): ImageCompliance {
  const platforms = platformsOf(image.digest, manifests);
  const everyDigest = [{digest: image.digest} as {digest: string; platform?: string}, ...platforms];
  const failures: Failure[] = [];
  const evidence = new Map(everyDigest.map(t => [t.digest, evidenceOf(t.digest, graph, manifests)]));
  const at = (t: {digest: string; platform?: string}): Pick<Failure, 'digest' | 'platform'> => ({
    digest: t.digest,
    ...(t.platform ? {platform: t.platform} : {})
  });
  for (const t of everyDigest)
    if (!evidence.get(t.digest)?.signatures) failures.push({requirement: 'signature', ...at(t), reason: 'not signed'});
  const newestScans: Array<{finished?: string; ageDays?: number; worst?: Severity}> = [];
  for (const rule of policy.attestations) {
    const uri = predicateUri(rule.type);
    // An index without platforms of its own (a single manifest) is its own platform.
    const where = rule.on === 'every-digest' ? everyDigest : platforms.length ? platforms : everyDigest;
    for (const t of where) {
      const found = evidence.get(t.digest)?.attestations.get(uri) ?? [];
      if (!found.length) {
        failures.push({requirement: rule.name, ...at(t), reason: `no ${rule.name} attestation`});
        continue;
      }
      if (rule.kind !== 'vuln') continue;
      // The newest scan of this digest decides (a later scan supersedes an older one).
      const newest = found
        .map(a => ({
          a,
          finished: scans.get(a)?.finished ?? facts(manifests.get(a))?.created,
          worst: scans.get(a)?.worst
        }))
        .sort((x, y) => Date.parse(y.finished ?? '') - Date.parse(x.finished ?? ''))[0];
      const finished = Date.parse(newest.finished ?? '');
      const ageDays = Number.isFinite(finished) ? Math.floor((now - finished) / DAY) : undefined;
      newestScans.push({...(newest.finished ? {finished: newest.finished} : {}), ageDays, worst: newest.worst});
      if (rule.maxAgeDays !== undefined && (ageDays === undefined || ageDays > rule.maxAgeDays))
        failures.push({
          requirement: rule.name,
          ...at(t),
          reason: `the newest scan is ${ageDays === undefined ? 'undated' : `${ageDays} days old`}, older than ${rule.maxAgeDays}d`
        });
      if (rule.maxSeverity && severityRank(newest.worst) > severityRank(rule.maxSeverity))
        failures.push({
          requirement: rule.name,
          ...at(t),
          reason: `the newest scan found ${(newest.worst ?? '').toLowerCase()} vulnerabilities, above ${rule.maxSeverity.toLowerCase()}`
        });
    }
  }
  // The image's scan: the stalest of its platforms' newest scans, and the worst severity any found.
  const stalest = [...newestScans].sort((x, y) => (y.ageDays ?? Infinity) - (x.ageDays ?? Infinity))[0];
  const worst = newestScans.map(x => x.worst).sort((x, y) => severityRank(y) - severityRank(x))[0];
  const scan = stalest
    ? {
        ...(stalest.finished ? {finished: stalest.finished} : {}),
        ...(stalest.ageDays !== undefined ? {ageDays: stalest.ageDays} : {}),
        ...(worst ? {worst} : {})
      }
    : undefined;
  return {
    ...image,
    checked: 'presence',
    compliant: failures.length === 0,
    failures,
    ...(scan ? {scan} : {}),
    signatures: evidence.get(image.digest)?.signatures ?? 0
  };
}

/** Failures per requirement across images (each image counted once per requirement it fails). Pure. */
export function failuresByRequirement(images: ImageCompliance[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of images)
    for (const r of new Set(i.failures.map(f => f.requirement))) out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}
