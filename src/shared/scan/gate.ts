import {IgnoreRule, expiredRules, ignoredBy} from './ignore.js';
import {Finding, FindingKind, SEVERITIES, Severity, severityRank} from './report.js';

export interface GateOptions {
  threshold: Severity;
  ignoreUnfixed: boolean;
  failOn: FindingKind[];
  ignores: IgnoreRule[];
  now: number;
}

export interface GateResult {
  /** Findings after ignores and ignore-unfixed: what is reported. */
  reported: Finding[];
  /** Reported findings at or above the threshold: what the SARIF shows. */
  atThreshold: Finding[];
  /** Of those, the kinds fail-on names: what fails the gate. */
  failing: Finding[];
  ignored: Array<{finding: Finding; rule: IgnoreRule}>;
  unfixedSkipped: number;
  /** Vulnerabilities per severity (reported ones). */
  counts: Record<Severity, number>;
  secrets: number;
  misconfigurations: number;
  /** Ignore entries past their date (they no longer ignore anything). */
  expired: IgnoreRule[];
  passed: boolean;
}

/** Applies ignores, ignore-unfixed, the severity threshold and fail-on to findings. Pure. */
export function applyGate(findings: Finding[], o: GateOptions): GateResult {
  const reported: Finding[] = [];
  const ignored: GateResult['ignored'] = [];
  let unfixedSkipped = 0;
  for (const f of findings) {
    const rule = ignoredBy(f, o.ignores, o.now);
    if (rule) {
      ignored.push({finding: f, rule});
      continue;
    }
    // No fixed version: nothing to upgrade to yet (trivy's status affected, will_not_fix, …).
    if (o.ignoreUnfixed && f.kind === 'vulnerability' && !f.fixed) {
      unfixedSkipped++;
      continue;
    }
    reported.push(f);
  }
  const min = severityRank(o.threshold);
  const atThreshold = reported.filter(f => severityRank(f.severity) >= min);
  const failing = atThreshold.filter(f => o.failOn.includes(f.kind));
  const counts = Object.fromEntries(SEVERITIES.map(s => [s, 0])) as Record<Severity, number>;
  for (const f of reported) if (f.kind === 'vulnerability') counts[f.severity]++;
  return {
    reported,
    atThreshold,
    failing,
    ignored,
    unfixedSkipped,
    counts,
    secrets: reported.filter(f => f.kind === 'secret').length,
    misconfigurations: reported.filter(f => f.kind === 'misconfiguration').length,
    expired: expiredRules(o.ignores, o.now),
    passed: failing.length === 0
  };
}

/** Findings worst first (severity, then score, then id), for lists and summaries. Pure. */
export function worstFirst(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) || (b.score ?? 0) - (a.score ?? 0) || a.id.localeCompare(b.id)
  );
}

const SCANNER_OF: Record<FindingKind, string> = {
  vulnerability: 'vuln',
  secret: 'secret',
  misconfiguration: 'misconfig'
};

/**
 * The finding kinds of a gate that could never fire because the scanner that finds them is not run:
 * a configuration error when the user chose them, not a pass. Pure.
 */
export function gatesThatCannotFire(failOn: FindingKind[], scanners: string[]): FindingKind[] {
  return failOn.filter(k => !scanners.includes(SCANNER_OF[k]));
}

/** Why a gate on `kind` cannot fire, and what to do. */
export function cannotFire(kind: FindingKind): string {
  return `${kind} findings gate the step, but the ${SCANNER_OF[kind]} scanner is not run (add ${SCANNER_OF[kind]} to scanners, or drop it from fail-on)`;
}
