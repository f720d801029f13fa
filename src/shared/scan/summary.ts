import {
  Cell,
  code,
  details,
  esc,
  fit,
  heading,
  html,
  link,
  paragraph,
  refCode,
  shortDigest,
  refShortener,
  table
} from '../summary.js';
import {worstFirst} from './gate.js';
import {IgnoreRule} from './ignore.js';
import {Finding, SEVERITIES, Severity} from './report.js';
import {TargetResult} from './scan.js';

/** Worst first, as a reader wants them: CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN. */
const WORST_FIRST = [...SEVERITIES].reverse();

/** Where a finding's advisory lives: trivy's own link, else the database its id names. Pure. */
export function advisoryUrl(f: Pick<Finding, 'id' | 'url'>): string | undefined {
  if (f.url && /^https?:\/\//.test(f.url)) return f.url;
  if (/^CVE-\d{4}-\d+$/.test(f.id)) return `https://nvd.nist.gov/vuln/detail/${f.id}`;
  if (/^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/.test(f.id)) return `https://github.com/advisories/${f.id}`;
  if (/^GO-\d{4}-\d+$/.test(f.id)) return `https://pkg.go.dev/vuln/${f.id}`;
  return undefined;
}

/** `org/app:1.2` over a short digest and the platform: what the user named, recognisable, narrow. */
function imageCell(r: TargetResult, shortRef: (ref: string) => string): Cell {
  const platform = r.platform ? `<br>${esc(r.platform)}` : '';
  if (r.name.startsWith('oci:')) return html(`${refCode(r.name).html}${platform}`);
  const given = r.input.includes('@') ? r.input.slice(0, r.input.indexOf('@')) : r.input;
  return html(`${refCode(shortRef(given)).html}<br>${code(shortDigest(r.digest)).html}${platform}`);
}

const countsText = (counts: Record<Severity, number>): string =>
  WORST_FIRST.filter(s => counts[s])
    .map(s => `${counts[s]} ${s.toLowerCase()}`)
    .join(', ') || 'no vulnerabilities';

function findingsTable(findings: Finding[]): string {
  return table(
    ['id', 'severity', 'package', 'installed', 'fixed', 'title'],
    findings.map(f => [
      link(advisoryUrl(f), f.id),
      f.severity,
      f.pkg ?? `${f.location}${f.line ? `:${f.line}` : ''}`,
      f.installed ?? '',
      f.fixed ?? (f.kind === 'vulnerability' ? 'no fix yet' : ''),
      f.title
    ])
  );
}

const day = (ms: number | undefined): string =>
  ms === undefined ? 'no end date' : new Date(ms).toISOString().slice(0, 10);

export interface ScanSummaryInput {
  results: TargetResult[];
  threshold: Severity;
  /** Findings listed per platform (worst first); the report has the rest. */
  top: number;
  passed: boolean;
  expired: IgnoreRule[];
}

/**
 * The scan's job summary: one narrow table of counts per image and platform, then each platform's
 * worst findings folded, the findings that ignore entries hid (with the entry, its file and its
 * expiry) and the entries that have expired. Pure.
 */
export function scanSummary(s: ScanSummaryInput): string {
  const images = new Set(s.results.map(r => r.input)).size;
  const shortRef = refShortener(s.results.map(r => r.name));
  const head = heading(
    `scan ${s.passed ? 'passed' : 'failed'}: ${images} image(s), ${s.results.length} target(s), threshold ${s.threshold}`
  );
  const counts = table(
    ['image', 'gate', ...WORST_FIRST.map(x => x.toLowerCase()), 'secrets / misconfig', 'ignored'],
    s.results.map(r => [
      imageCell(r, shortRef),
      r.gate.passed ? 'pass' : html(`<strong>fail</strong> (${r.gate.failing.length})`),
      ...WORST_FIRST.map(sev => String(r.gate.counts[sev])),
      `${r.gate.secrets} / ${r.gate.misconfigurations}`,
      String(r.gate.ignored.length)
    ])
  );
  const sections = [head, counts];
  for (const r of s.results) {
    const worst = worstFirst(r.gate.reported);
    if (!worst.length) continue;
    const shown = worst.slice(0, s.top);
    const title = html(
      `${code(shortRef(r.name)).html}${r.platform ? ` ${esc(r.platform)}` : ''}: ${esc(countsText(r.gate.counts))}` +
        `${r.gate.secrets ? `, ${r.gate.secrets} secret(s)` : ''}${r.gate.misconfigurations ? `, ${r.gate.misconfigurations} misconfiguration(s)` : ''}` +
        `${worst.length > shown.length ? ` (worst ${shown.length} of ${worst.length} listed; the report has all)` : ''}`
    );
    sections.push(
      details(
        title,
        shown.length ? findingsTable(shown) : paragraph('none listed (summary-findings is 0)'),
        !r.gate.passed
      )
    );
  }
  const ignored = s.results.flatMap(r => r.gate.ignored.map(i => ({...i, r})));
  if (ignored.length) {
    sections.push(
      details(
        `${ignored.length} finding(s) ignored`,
        table(
          ['id', 'severity', 'package', 'image', 'ignored until', 'ignored by', 'reason'],
          ignored.map(({finding: f, rule, r}) => [
            link(advisoryUrl(f), f.id),
            f.severity,
            f.pkg ?? f.location,
            `${shortRef(r.name)}${r.platform ? ` ${r.platform}` : ''}`,
            day(rule.expires),
            code(rule.source),
            rule.reason ?? ''
          ])
        )
      )
    );
  }
  if (s.expired.length) {
    sections.push(
      details(
        html(
          s.expired.length === 1
            ? '<strong>1 ignore entry has expired</strong> and no longer hides anything'
            : `<strong>${s.expired.length} ignore entries have expired</strong> and no longer hide anything`
        ),
        table(
          ['id', 'expired', 'entry', 'reason'],
          s.expired.map(e => [e.id, day(e.expires), code(e.source), e.reason ?? ''])
        ),
        true
      )
    );
  }
  return fit(sections, 'the JSON report (output report) has every finding');
}
