/** trivy's JSON report (SchemaVersion 2), every field optional as trivy omits empty ones, and our findings. */

export interface TrivyVulnerability {
  VulnerabilityID?: string;
  PkgName?: string;
  PkgPath?: string;
  InstalledVersion?: string;
  FixedVersion?: string;
  Status?: string;
  Severity?: string;
  Title?: string;
  Description?: string;
  PrimaryURL?: string;
  CVSS?: Record<string, {V3Score?: number; V2Score?: number; V40Score?: number}>;
}

export interface TrivySecret {
  RuleID?: string;
  Category?: string;
  Severity?: string;
  Title?: string;
  StartLine?: number;
}

export interface TrivyMisconfig {
  ID?: string;
  AVDID?: string;
  Title?: string;
  Severity?: string;
  Status?: string;
  Message?: string;
  PrimaryURL?: string;
}

export interface TrivyResult {
  Target?: string;
  Class?: string;
  Type?: string;
  Vulnerabilities?: TrivyVulnerability[];
  Secrets?: TrivySecret[];
  Misconfigurations?: TrivyMisconfig[];
}

export interface TrivyReport {
  SchemaVersion?: number;
  ArtifactName?: string;
  ArtifactType?: string;
  Metadata?: {OS?: {Family?: string; Name?: string}; ImageID?: string; RepoDigests?: string[]};
  Results?: TrivyResult[];
}

export const SEVERITIES = ['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (s: string | undefined): number => {
  const i = SEVERITIES.indexOf((s ?? 'UNKNOWN').toUpperCase() as Severity);
  return i < 0 ? 0 : i;
};

export type FindingKind = 'vulnerability' | 'secret' | 'misconfiguration';

/** One finding, whatever its kind, as the gate, the SARIF and the summary see it. */
export interface Finding {
  kind: FindingKind;
  id: string;
  severity: Severity;
  title: string;
  /** Where: the file or package database trivy names (Target), and for secrets the line. */
  location: string;
  line?: number;
  pkg?: string;
  installed?: string;
  fixed?: string;
  status?: string;
  url?: string;
  score?: number;
}

const sev = (s: string | undefined): Severity => SEVERITIES[severityRank(s)];

function bestScore(cvss: TrivyVulnerability['CVSS']): number | undefined {
  const scores = Object.values(cvss ?? {}).flatMap(c =>
    [c.V40Score, c.V3Score, c.V2Score].filter((n): n is number => typeof n === 'number')
  );
  return scores.length ? Math.max(...scores) : undefined;
}

/** Every finding of a report, flattened. Misconfigurations that passed are not findings. Pure. */
export function findingsOf(report: TrivyReport): Finding[] {
  const out: Finding[] = [];
  for (const r of report.Results ?? []) {
    const location = r.Target ?? report.ArtifactName ?? '';
    for (const v of r.Vulnerabilities ?? []) {
      out.push({
        kind: 'vulnerability',
        id: v.VulnerabilityID ?? 'UNKNOWN-ID',
        severity: sev(v.Severity),
        title: v.Title ?? v.Description?.split('\n')[0] ?? v.VulnerabilityID ?? '',
        location: v.PkgPath ?? location,
        pkg: v.PkgName,
        installed: v.InstalledVersion,
        fixed: v.FixedVersion || undefined,
        status: v.Status,
        url: v.PrimaryURL,
        score: bestScore(v.CVSS)
      });
    }
    for (const s of r.Secrets ?? []) {
      out.push({
        kind: 'secret',
        id: s.RuleID ?? 'secret',
        severity: sev(s.Severity),
        title: s.Title ?? s.Category ?? 'secret',
        location,
        line: s.StartLine
      });
    }
    for (const m of r.Misconfigurations ?? []) {
      if (m.Status && m.Status !== 'FAIL') continue;
      out.push({
        kind: 'misconfiguration',
        id: m.AVDID ?? m.ID ?? 'misconfig',
        severity: sev(m.Severity),
        title: m.Title ?? m.Message ?? '',
        location,
        url: m.PrimaryURL
      });
    }
  }
  return out;
}
