import YAML from 'yaml';
import {UserError} from '../errors.js';
import {Finding, FindingKind} from './report.js';

/** One ignore entry: an ID (CVE, secret rule, check), optionally limited to packages, until a date, with a reason. */
export interface IgnoreRule {
  id: string;
  kind?: FindingKind;
  packages?: string[];
  /** ms since epoch; the entry stops ignoring after it. */
  expires?: number;
  reason?: string;
  /** file:line, for messages. */
  source: string;
}

function date(v: unknown, where: string): number {
  const t = v instanceof Date ? v.getTime() : Date.parse(String(v));
  if (Number.isNaN(t)) throw new UserError(`${where}: "${String(v)}" is not a date; write YYYY-MM-DD.`);
  // An expiry date includes its whole day.
  return /^\d{4}-\d{2}-\d{2}$/.test(String(v)) ? t + 86_399_999 : t;
}

/** Parses trivy's `.trivyignore`: one ID a line, `exp:YYYY-MM-DD` optional, `#` comments. Pure. */
export function parseTrivyIgnore(text: string, file: string): IgnoreRule[] {
  const out: IgnoreRule[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const [body, ...comment] = raw.split('#');
    const parts = body.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return;
    const rule: IgnoreRule = {id: parts[0], source: `${file}:${i + 1}`};
    for (const p of parts.slice(1)) {
      if (p.startsWith('exp:')) rule.expires = date(p.slice(4), `${file}:${i + 1}`);
      else throw new UserError(`${file}:${i + 1}: "${p}" is not understood; write <ID> [exp:YYYY-MM-DD] [# reason].`);
    }
    if (comment.length) rule.reason = comment.join('#').trim() || undefined;
    out.push(rule);
  });
  return out;
}

interface YamlEntry {
  id?: unknown;
  statement?: unknown;
  reason?: unknown;
  expired_at?: unknown;
  expires?: unknown;
  packages?: unknown;
}

/**
 * Parses the YAML form (trivy's `.trivyignore.yaml` keys, with `reason` and `expires` accepted as
 * well): lists `vulnerabilities`, `secrets`, `misconfigurations` of entries with id, reason/statement,
 * expires/expired_at and packages. Pure.
 */
export function parseIgnoreYaml(text: string, file: string): IgnoreRule[] {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid YAML (${(err as Error).message}).`);
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UserError(`${file}: expected lists under vulnerabilities, secrets or misconfigurations.`);
  }
  const kinds: Record<string, FindingKind> = {
    vulnerabilities: 'vulnerability',
    secrets: 'secret',
    misconfigurations: 'misconfiguration'
  };
  const out: IgnoreRule[] = [];
  for (const [key, list] of Object.entries(doc as Record<string, unknown>)) {
    const kind = kinds[key];
    if (!kind)
      throw new UserError(`${file}: unknown section "${key}"; use vulnerabilities, secrets or misconfigurations.`);
    if (!Array.isArray(list)) throw new UserError(`${file}: ${key} must be a list of entries.`);
    list.forEach((e: YamlEntry, i) => {
      const where = `${file}: ${key}[${i}]`;
      if (typeof e?.id !== 'string' || !e.id) throw new UserError(`${where}: every entry needs an id.`);
      const expires = e.expires ?? e.expired_at;
      const packages = e.packages;
      if (packages !== undefined && !(Array.isArray(packages) && packages.every(p => typeof p === 'string'))) {
        throw new UserError(`${where}: packages must be a list of package names.`);
      }
      out.push({
        id: e.id,
        kind,
        packages: packages as string[] | undefined,
        expires: expires === undefined ? undefined : date(expires, where),
        reason: typeof (e.reason ?? e.statement) === 'string' ? String(e.reason ?? e.statement) : undefined,
        source: where
      });
    });
  }
  return out;
}

/** The rule that ignores a finding now, if any; expired rules never ignore. Pure. */
export function ignoredBy(f: Finding, rules: IgnoreRule[], now: number): IgnoreRule | undefined {
  return rules.find(
    r =>
      r.id === f.id &&
      (!r.kind || r.kind === f.kind) &&
      (!r.packages || (f.pkg !== undefined && r.packages.includes(f.pkg))) &&
      (r.expires === undefined || r.expires >= now)
  );
}

export const expiredRules = (rules: IgnoreRule[], now: number): IgnoreRule[] =>
  rules.filter(r => r.expires !== undefined && r.expires < now);
