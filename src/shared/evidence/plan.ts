import {UserError} from '../errors.js';
import {isIndex as isIndexType} from '../registry/media.js';
import {Target, targetRef} from '../registry/targets.js';
import {ScanReport, ScannedTarget} from './vuln.js';

export const SBOM_FORMATS = ['cyclonedx', 'spdx'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

/** What to attest besides the signature. */
export interface EvidenceOptions {
  /** SBOM formats, one attestation per platform manifest each. */
  sbom: SbomFormat[];
  /** SLSA v1 provenance of this run on every digest (the index and each platform). */
  provenance: boolean;
  /** The scan action's report (its report output): each platform's result as a vuln attestation. */
  vulnReport?: string;
  /** push-multi's build-parameters output, recorded in the provenance. */
  buildParameters?: Record<string, unknown>;
}

/** The cosign --type of each kind of evidence, and the predicate type URI it becomes. */
export const ATTESTATION_TYPES = {
  cyclonedx: {type: 'cyclonedx', uri: 'https://cyclonedx.org/bom'},
  spdx: {type: 'spdxjson', uri: 'https://spdx.dev/Document'},
  provenance: {type: 'slsaprovenance1', uri: 'https://slsa.dev/provenance/v1'},
  vuln: {type: 'vuln', uri: 'https://cosign.sigstore.dev/attestation/vuln/v1'}
} as const;
export type EvidenceKind = keyof typeof ATTESTATION_TYPES;

/** One attestation to make: a kind of evidence on some digests (one predicate file for them all). */
export interface PlannedEvidence {
  kind: EvidenceKind;
  targets: Target[];
  /** For vuln: the scan's target it comes from. */
  scanned?: ScannedTarget;
  label: string;
}

const isIndex = (t: Target): boolean => isIndexType(t.mediaType);

/** The manifests that are one platform's image: children of an index, and single-manifest images. */
export const platformTargets = (targets: Target[]): Target[] => targets.filter(t => !isIndex(t));

/**
 * Which evidence goes on which digest: provenance on every digest, an SBOM of each format and the
 * scan's result on every platform manifest. An index signed without recursive has no platform
 * manifests to describe; a platform the scan did not cover is an error before anything is signed. Pure.
 */
export function planEvidence(targets: Target[], o: EvidenceOptions, scan?: ScanReport): PlannedEvidence[] {
  const plan: PlannedEvidence[] = [];
  if (o.provenance) plan.push({kind: 'provenance', targets, label: 'SLSA provenance'});
  const platforms = platformTargets(targets);
  // An index signed without recursive, or one with no platform manifest at any depth, has nothing to describe.
  const platformsInReach = targets.some(t => t.parent && !isIndex(t));
  if ((o.sbom.length || scan) && targets.some(isIndex) && !platformsInReach) {
    throw new UserError(
      'sbom / vuln-report describe each platform manifest of an index, and none is in reach: set recursive: true (the default), or the index lists attestation manifests only.'
    );
  }
  // One digest in several registries (push-multi's refs) is one image: its SBOM is made once.
  const byDigest = new Map<string, Target[]>();
  for (const t of platforms) byDigest.set(t.digest, [...(byDigest.get(t.digest) ?? []), t]);
  const label = (what: string, ts: Target[]): string => `${what}${ts[0].platform ? ` (${ts[0].platform})` : ''}`;
  for (const format of o.sbom)
    for (const ts of byDigest.values()) plan.push({kind: format, targets: ts, label: label(`${format} SBOM`, ts)});
  if (scan) {
    const scanned = new Map(scan.targets.map(s => [s.digest, s]));
    const missing = platforms.filter(t => !scanned.has(t.digest));
    if (missing.length) {
      throw new UserError(
        `vuln-report: the scan has no result for ${missing.map(t => `${targetRef(t)}${t.platform ? ` (${t.platform})` : ''}`).join(', ')}. Scan the same images first with platforms: all, and pass its report output.`
      );
    }
    for (const ts of byDigest.values())
      plan.push({kind: 'vuln', targets: ts, scanned: scanned.get(ts[0].digest), label: label('scan result', ts)});
  }
  return plan;
}
