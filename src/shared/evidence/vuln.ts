import {TrivyReport} from '../scan/report.js';

export const COSIGN_VULN_V1 = 'https://cosign.sigstore.dev/attestation/vuln/v1';

/** One target of the scan action's combined report (its report output), the fields read here. */
export interface ScannedTarget {
  target: string;
  platform?: string;
  digest: string;
  trivyReport: string;
  passed: boolean;
  ignored?: Array<{id: string; pkg?: string; by?: string; reason?: string}>;
}

/** The scan action's combined report: the scanner and every target. */
export interface ScanReport {
  scanner?: {name: string; version: string; db?: {repository?: string; updatedAt?: string}};
  scannedAt?: {started: string; finished: string};
  targets: ScannedTarget[];
}

/** cosign's `vuln` predicate (https://github.com/sigstore/cosign/blob/main/specs/COSIGN_VULN_ATTESTATION_SPEC.md). */
export interface VulnPredicate {
  invocation: {parameters: unknown; uri: string; event_id: string; 'builder.id': string};
  scanner: {uri: string; version: string; db: {uri: string; version: string}; result: TrivyReport};
  metadata: {scanStartedOn: string; scanFinishedOn: string};
}

/**
 * A platform's scan as cosign's vuln predicate: trivy's report without the findings the scan's ignore
 * files set aside (those are listed, with who ignored them and why, in the invocation parameters), so
 * a gate on the attestation judges what the scan's gate judged. Pure.
 */
export function vulnPredicate(
  report: ScanReport,
  target: ScannedTarget,
  trivy: TrivyReport,
  runUrl: string
): VulnPredicate {
  const ignored = new Set((target.ignored ?? []).map(i => `${i.id}\u0000${i.pkg ?? ''}`));
  const result: TrivyReport = {
    ...trivy,
    Results: (trivy.Results ?? []).map(r => ({
      ...r,
      ...(r.Vulnerabilities
        ? {Vulnerabilities: r.Vulnerabilities.filter(v => !ignored.has(`${v.VulnerabilityID}\u0000${v.PkgName ?? ''}`))}
        : {})
    }))
  };
  const version = report.scanner?.version ?? '';
  const at = report.scannedAt ?? {started: new Date(0).toISOString(), finished: new Date(0).toISOString()};
  return {
    invocation: {
      parameters: {
        target: target.target,
        platform: target.platform ?? null,
        passed: target.passed,
        ignored: target.ignored ?? []
      },
      uri: runUrl,
      event_id: '',
      'builder.id': 'registry-actions scan'
    },
    scanner: {
      uri: `pkg:github/aquasecurity/trivy@${version.replace(/^v/, '')}`,
      version,
      db: {uri: report.scanner?.db?.repository ?? '', version: report.scanner?.db?.updatedAt ?? ''},
      result
    },
    metadata: {scanStartedOn: at.started, scanFinishedOn: at.finished}
  };
}
