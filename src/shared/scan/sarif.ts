import {Finding, Severity} from './report.js';

/** GitHub code scanning keeps at most 20 runs a file and 25,000 results a run. */
export const MAX_RUNS_PER_FILE = 20;
export const MAX_RESULTS_PER_RUN = 25_000;

const SECURITY_SEVERITY: Record<Severity, string> = {
  CRITICAL: '9.5',
  HIGH: '8.0',
  MEDIUM: '5.5',
  LOW: '2.0',
  UNKNOWN: '0.0'
};
const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  UNKNOWN: 'note'
};

export interface SarifTarget {
  /** The scanned image (repo@digest) or layout, and its platform. */
  name: string;
  category: string;
  findings: Finding[];
}

export interface SarifFile {
  $schema: string;
  version: '2.1.0';
  runs: unknown[];
}

/** A location as a relative URI path (code scanning wants a path, not an image reference). Pure. */
export function uriPath(location: string): string {
  return (
    location
      .replace(/\s*\(.*\)$/, '')
      .replace(/[^A-Za-z0-9._~/-]+/g, '-')
      .replace(/^[-/]+/, '') || 'image'
  );
}

/** A run per target; rules keyed by finding ID with security-severity for code scanning. Pure. */
function run(t: SarifTarget, toolVersion: string): {run: unknown; truncated: number} {
  const findings = t.findings.slice(0, MAX_RESULTS_PER_RUN);
  const rules = new Map<string, unknown>();
  for (const f of findings) {
    if (rules.has(f.id)) continue;
    rules.set(f.id, {
      id: f.id,
      name: f.kind === 'vulnerability' ? 'OsPackageVulnerability' : f.kind === 'secret' ? 'Secret' : 'Misconfiguration',
      shortDescription: {text: f.title || f.id},
      fullDescription: {text: f.title || f.id},
      ...(f.url ? {helpUri: f.url} : {}),
      help: {text: `${f.id} (${f.severity})${f.url ? `: ${f.url}` : ''}`},
      properties: {
        'security-severity': f.score !== undefined ? f.score.toFixed(1) : SECURITY_SEVERITY[f.severity],
        precision: 'very-high',
        tags: [f.kind, 'security', f.severity]
      }
    });
  }
  const ruleIndex = new Map([...rules.keys()].map((id, i) => [id, i]));
  const results = findings.map(f => ({
    ruleId: f.id,
    ruleIndex: ruleIndex.get(f.id),
    level: LEVEL[f.severity],
    message: {
      text:
        f.kind === 'vulnerability'
          ? `${t.name}: ${f.pkg ?? ''} ${f.installed ?? ''} has ${f.id} (${f.severity})${f.fixed ? `, fixed in ${f.fixed}` : ', no fix yet'}`
          : `${t.name}: ${f.title} (${f.severity})`
    },
    locations: [
      {
        physicalLocation: {
          artifactLocation: {uri: uriPath(f.location || t.name), uriBaseId: 'ROOTPATH'},
          region: {startLine: f.line ?? 1}
        },
        message: {text: t.name}
      }
    ]
  }));
  return {
    run: {
      tool: {
        driver: {
          name: 'Trivy',
          fullName: 'Trivy Vulnerability Scanner (through registry-actions scan)',
          informationUri: 'https://github.com/aquasecurity/trivy',
          version: toolVersion.replace(/^v/, ''),
          rules: [...rules.values()]
        }
      },
      automationDetails: {id: `${t.category}/`},
      originalUriBaseIds: {ROOTPATH: {uri: 'file:///'}},
      results
    },
    truncated: t.findings.length - findings.length
  };
}

/**
 * SARIF 2.1.0 files for code scanning: one run per target, at most 20 runs a file (more targets, more
 * files) and 25,000 results a run (the rest counted as truncated). Pure.
 */
export function toSarif(targets: SarifTarget[], toolVersion: string): {files: SarifFile[]; truncated: number} {
  const files: SarifFile[] = [];
  let truncated = 0;
  for (let i = 0; i < targets.length || (i === 0 && files.length === 0); i += MAX_RUNS_PER_FILE) {
    const runs = targets.slice(i, i + MAX_RUNS_PER_FILE).map(t => {
      const r = run(t, toolVersion);
      truncated += r.truncated;
      return r.run;
    });
    files.push({$schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs});
    if (targets.length === 0) break;
  }
  return {files, truncated};
}
