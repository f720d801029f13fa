import {SEVERITIES, Severity, TrivyReport, severityRank} from '../scan/report.js';
import {SlsaProvenance} from '../evidence/provenance.js';
import {VulnPredicate} from '../evidence/vuln.js';
import {AttestationRule} from './policy.js';

/** An in-toto statement as cosign verify-attestation prints it (decoded from its DSSE envelope). */
export interface Statement {
  predicateType?: string;
  subject?: Array<{name?: string; digest?: Record<string, string>}>;
  predicate?: unknown;
}

export type Check = {ok: true; detail: string} | {ok: false; reason: string};

/** The statements in verify-attestation's output: one DSSE envelope (JSON) per line, payload base64. Pure. */
export function statementsOf(stdout: string): Statement[] {
  const out: Statement[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      const envelope = JSON.parse(t) as {payload?: string};
      if (envelope.payload) out.push(JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Statement);
    } catch {
      // not an envelope: cosign's own messages
    }
  }
  return out;
}

const about = (s: Statement, digest: string): boolean =>
  (s.subject ?? []).some(x => `sha256:${x.digest?.sha256 ?? ''}` === digest);

function provenance(rule: Extract<AttestationRule, {kind: 'provenance'}>, statements: Statement[]): Check {
  const reasons: string[] = [];
  for (const s of statements) {
    const p = s.predicate as Partial<SlsaProvenance> | undefined;
    const workflow = p?.buildDefinition?.externalParameters?.workflow;
    const repository = (workflow?.repository ?? '').replace(/^https?:\/\/[^/]+\//, '');
    const builder = p?.runDetails?.builder?.id ?? '';
    const problems: string[] = [];
    if (rule.repository && repository !== rule.repository)
      problems.push(`built from ${repository || 'an unknown repository'}, not ${rule.repository}`);
    if (rule.ref && !rule.ref.test(workflow?.ref ?? ''))
      problems.push(`ref ${workflow?.ref || '(none)'} does not match ${rule.refText}`);
    if (rule.builderId && !rule.builderId.test(builder))
      problems.push(`builder ${builder || '(none)'} does not match ${rule.builderId.source}`);
    if (!problems.length) return {ok: true, detail: `provenance: ${repository}@${workflow?.ref ?? ''}`};
    reasons.push(problems.join(', '));
  }
  return {ok: false, reason: `no provenance matches: ${[...new Set(reasons)].join('; ')}`};
}

/** Vulnerabilities in a trivy result above `max`, worst first. */
function above(result: TrivyReport | undefined, max: Severity): Array<{id: string; severity: string}> {
  const found: Array<{id: string; severity: string}> = [];
  for (const r of result?.Results ?? [])
    for (const v of r.Vulnerabilities ?? [])
      if (severityRank(v.Severity) > severityRank(max))
        found.push({id: v.VulnerabilityID ?? '?', severity: (v.Severity ?? 'UNKNOWN').toUpperCase()});
  return found.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
}

function vuln(rule: Extract<AttestationRule, {kind: 'vuln'}>, statements: Statement[], now: Date): Check {
  // The newest scan decides: an old clean scan does not outvote a newer one with findings.
  const scans = statements
    .map(s => s.predicate as Partial<VulnPredicate> | undefined)
    .filter((p): p is Partial<VulnPredicate> => !!p)
    .sort((a, b) => Date.parse(b.metadata?.scanFinishedOn ?? '') - Date.parse(a.metadata?.scanFinishedOn ?? ''));
  const newest = scans[0];
  const finished = Date.parse(newest?.metadata?.scanFinishedOn ?? '');
  if (rule.maxAgeDays !== undefined) {
    const days = (now.getTime() - finished) / 86_400_000;
    if (!Number.isFinite(days) || days > rule.maxAgeDays)
      return {
        ok: false,
        reason: `the newest scan is ${Number.isFinite(days) ? `${Math.floor(days)} days old` : 'undated'}, older than ${rule.maxAgeDays}d`
      };
  }
  if (rule.maxSeverity) {
    const bad = above(newest?.scanner?.result, rule.maxSeverity);
    if (bad.length) {
      const counts = SEVERITIES.filter(s => severityRank(s) > severityRank(rule.maxSeverity as Severity))
        .reverse()
        .map(s => [s, bad.filter(b => b.severity === s).length] as const)
        .filter(([, n]) => n)
        .map(([s, n]) => `${n} ${s.toLowerCase()}`)
        .join(', ');
      return {
        ok: false,
        reason: `${counts} above ${rule.maxSeverity.toLowerCase()} (${bad
          .slice(0, 5)
          .map(b => b.id)
          .join(', ')}${bad.length > 5 ? ', …' : ''})`
      };
    }
  }
  return {ok: true, detail: `scan of ${newest?.metadata?.scanFinishedOn ?? '?'}`};
}

/**
 * Whether verified statements of one attestation type meet a rule for `digest`: only statements about
 * that digest count; provenance must match repository, ref and builder; the newest scan must be recent
 * and without findings above the maximum severity; an SBOM or custom type must be there. Pure.
 */
export function checkAttestation(rule: AttestationRule, all: Statement[], digest: string, now: Date): Check {
  const statements = all.filter(s => about(s, digest));
  if (!statements.length) return {ok: false, reason: `no verified ${rule.name} attestation`};
  switch (rule.kind) {
    case 'provenance':
      return provenance(rule, statements);
    case 'vuln':
      return vuln(rule, statements, now);
    default:
      return {ok: true, detail: `${statements.length} ${rule.name} attestation(s)`};
  }
}
