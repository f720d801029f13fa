/**
 * PEP 440 version parsing and normalisation, for type=pep440 tags. The grammar is the one given in
 * PEP 440's appendix; normalisation follows the specification's "Normalization" section.
 */

export interface Pep440Version {
  epoch: number;
  release: number[];
  pre?: {label: 'a' | 'b' | 'rc'; number: number};
  post?: number;
  dev?: number;
  local?: string;
}

const PATTERN = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i'
);

function preLabel(raw: string): 'a' | 'b' | 'rc' {
  const l = raw.toLowerCase();
  if (l === 'alpha' || l === 'a') return 'a';
  if (l === 'beta' || l === 'b') return 'b';
  return 'rc';
}

export function parsePep440(input: string): Pep440Version | null {
  const m = PATTERN.exec(input);
  if (!m?.groups) return null;
  const g = m.groups;
  const v: Pep440Version = {
    epoch: g.epoch ? Number(g.epoch) : 0,
    release: g.release.split('.').map(Number)
  };
  if (g.pre) v.pre = {label: preLabel(g.pre_l), number: g.pre_n ? Number(g.pre_n) : 0};
  if (g.post) v.post = Number(g.post_n1 ?? g.post_n2 ?? 0);
  if (g.dev) v.dev = g.dev_n ? Number(g.dev_n) : 0;
  if (g.local) v.local = g.local.toLowerCase().replace(/[-_]/g, '.');
  return v;
}

/** The normalised form, as Python's packaging prints it: "1.1beta2" -> "1.1b2", "v1.2post1" -> "1.2.post1". */
export function normalizePep440(v: Pep440Version): string {
  let out = v.epoch ? `${v.epoch}!` : '';
  out += v.release.join('.');
  if (v.pre) out += `${v.pre.label}${v.pre.number}`;
  if (v.post !== undefined) out += `.post${v.post}`;
  if (v.dev !== undefined) out += `.dev${v.dev}`;
  if (v.local) out += `+${v.local}`;
  return out;
}

export function isPep440Final(v: Pep440Version): boolean {
  return !v.pre && v.post === undefined && v.dev === undefined;
}

export function pep440Component(v: Pep440Version, index: number): number {
  return v.release[index] ?? 0;
}
