import {UserError} from '../errors.js';
import {globToRegExp} from '../glob.js';

/** One rule of an ECR lifecycle policy, validated. */
export interface EcrRule {
  rulePriority: number;
  description?: string;
  tagStatus: 'tagged' | 'untagged' | 'any';
  tagPrefixList?: string[];
  tagPatternList?: string[];
  countType: 'imageCountMoreThan' | 'sinceImagePushed';
  countUnit?: 'days';
  countNumber: number;
}

interface RawRule {
  rulePriority?: unknown;
  description?: unknown;
  selection?: {
    tagStatus?: unknown;
    tagPrefixList?: unknown;
    tagPatternList?: unknown;
    countType?: unknown;
    countUnit?: unknown;
    countNumber?: unknown;
  };
  action?: {type?: unknown};
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every(x => typeof x === 'string');

/** Parses an ECR lifecycle policy document as ECR accepts it, with ECR's validation rules. */
export function parseEcrPolicy(text: string): EcrRule[] {
  let doc: {rules?: RawRule[]};
  try {
    doc = JSON.parse(text) as {rules?: RawRule[]};
  } catch (err) {
    throw new UserError(`policy: not valid JSON (${(err as Error).message}). Give an ECR lifecycle policy document.`);
  }
  if (!Array.isArray(doc.rules) || doc.rules.length === 0) {
    throw new UserError('policy: the document has no "rules" list. Give an ECR lifecycle policy document.');
  }
  const bad = (i: number, what: string): never => {
    throw new UserError(`policy: rule ${i + 1}: ${what}.`);
  };
  const rules = doc.rules.map((r, i): EcrRule => {
    const s = r.selection ?? bad(i, 'has no selection');
    if (typeof r.rulePriority !== 'number' || !Number.isInteger(r.rulePriority) || r.rulePriority < 1) {
      bad(i, 'rulePriority must be a positive integer');
    }
    if (s.tagStatus !== 'tagged' && s.tagStatus !== 'untagged' && s.tagStatus !== 'any') {
      bad(i, `tagStatus must be tagged, untagged or any (got ${JSON.stringify(s.tagStatus)})`);
    }
    if (s.countType !== 'imageCountMoreThan' && s.countType !== 'sinceImagePushed') {
      bad(i, `countType must be imageCountMoreThan or sinceImagePushed (got ${JSON.stringify(s.countType)})`);
    }
    if (typeof s.countNumber !== 'number' || !Number.isInteger(s.countNumber) || s.countNumber < 1) {
      bad(i, 'countNumber must be a positive integer');
    }
    if (s.countType === 'sinceImagePushed' && s.countUnit !== 'days') bad(i, 'sinceImagePushed needs countUnit "days"');
    if (s.countType === 'imageCountMoreThan' && s.countUnit !== undefined)
      bad(i, 'imageCountMoreThan takes no countUnit');
    if (r.action?.type !== 'expire') bad(i, 'action.type must be "expire"');
    if (s.tagPrefixList !== undefined && !strings(s.tagPrefixList)) bad(i, 'tagPrefixList must be a list of strings');
    if (s.tagPatternList !== undefined && !strings(s.tagPatternList))
      bad(i, 'tagPatternList must be a list of strings');
    if (s.tagPrefixList && s.tagPatternList) bad(i, 'give tagPrefixList or tagPatternList, not both');
    const lists = (s.tagPrefixList as string[] | undefined) ?? (s.tagPatternList as string[] | undefined);
    if (s.tagStatus === 'tagged' && !lists?.length) bad(i, 'tagStatus tagged needs tagPrefixList or tagPatternList');
    if (s.tagStatus !== 'tagged' && lists) bad(i, 'tag lists are only allowed with tagStatus tagged');
    for (const p of (s.tagPatternList as string[] | undefined) ?? []) {
      if ((p.match(/\*/g) ?? []).length > 4) bad(i, `pattern "${p}" has more than four wildcards`);
    }
    return {
      rulePriority: r.rulePriority as number,
      description: typeof r.description === 'string' ? r.description : undefined,
      tagStatus: s.tagStatus as EcrRule['tagStatus'],
      tagPrefixList: s.tagPrefixList as string[] | undefined,
      tagPatternList: s.tagPatternList as string[] | undefined,
      countType: s.countType as EcrRule['countType'],
      countUnit: s.countUnit as EcrRule['countUnit'],
      countNumber: s.countNumber as number
    };
  });
  const priorities = rules.map(r => r.rulePriority);
  if (new Set(priorities).size !== priorities.length) throw new UserError('policy: two rules share a rulePriority.');
  const sorted = [...rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const anyIdx = sorted.findIndex(r => r.tagStatus === 'any');
  if (anyIdx >= 0 && anyIdx !== sorted.length - 1) {
    throw new UserError('policy: a rule with tagStatus any must have the highest rulePriority (it is evaluated last).');
  }
  return sorted;
}

export interface EcrImage {
  key: string;
  tags: string[];
  pushedAt: number;
}

/** Whether an image's tags satisfy a rule's tag selection: every listed prefix or pattern is matched by some tag. */
function selects(rule: EcrRule, tags: string[]): boolean {
  if (rule.tagStatus === 'untagged') return tags.length === 0;
  if (rule.tagStatus === 'any') return true;
  if (tags.length === 0) return false;
  if (rule.tagPrefixList) return rule.tagPrefixList.every(p => tags.some(t => t.startsWith(p)));
  return (rule.tagPatternList ?? []).every(p => {
    const re = globToRegExp(p);
    return tags.some(t => re.test(t));
  });
}

/**
 * Evaluates a lifecycle policy with ECR's semantics: rules in ascending priority; an image selected
 * by a rule is never considered by a lower-priority rule; imageCountMoreThan keeps the newest
 * countNumber of the images the rule selects and expires the rest; sinceImagePushed expires those pushed
 * more than countNumber days ago. Returns the expired images with the rule that expired each. Pure.
 */
export function evaluateEcrPolicy(rules: EcrRule[], images: EcrImage[], now: number): Map<string, EcrRule> {
  const claimed = new Set<string>();
  const expired = new Map<string, EcrRule>();
  for (const rule of rules) {
    const selected = images.filter(i => !claimed.has(i.key) && selects(rule, i.tags));
    for (const i of selected) claimed.add(i.key);
    if (rule.countType === 'imageCountMoreThan') {
      const newestFirst = [...selected].sort((a, b) => b.pushedAt - a.pushedAt || a.key.localeCompare(b.key));
      for (const i of newestFirst.slice(rule.countNumber)) expired.set(i.key, rule);
    } else {
      const limit = now - rule.countNumber * 86_400_000;
      for (const i of selected) if (i.pushedAt < limit) expired.set(i.key, rule);
    }
  }
  return expired;
}

/** Where ECR's own lifecycle evaluation and this plan differ, for one repository. */
export interface PreviewComparison {
  source: string;
  /** Expired by both. */
  agreed: number;
  /** ECR would expire, the plan keeps: with the plan's reason (a kept image's platform, a signature…). */
  onlyEcr: Array<{digest: string; tags: string[]; rule?: number; kept: string}>;
  /** The plan deletes, ECR would keep. */
  onlyPlan: Array<{digest: string; tags: string[]; reason: string}>;
  /** Of onlyEcr, the manifests a kept image needs: what ECR's rule would break. */
  breaks: number;
}

/**
 * Compares ECR's lifecycle preview with a plan: digest by digest, each difference with its reason. A
 * manifest ECR would expire that the plan keeps as part of a kept image (a platform, an attestation, a
 * signature) is one ECR's rule would break. Pure.
 */
export function comparePreview(
  preview: {source: string; expire: Array<{digest: string; tags: string[]; rule?: number}>},
  decisions: Array<{digest: string; tags: string[]; action: string; role: string; image?: string; reason: string}>
): PreviewComparison {
  const byDigest = new Map(decisions.map(d => [d.digest, d]));
  const ecr = new Set(preview.expire.map(e => e.digest));
  const onlyEcr: PreviewComparison['onlyEcr'] = [];
  let agreed = 0;
  let breaks = 0;
  for (const e of preview.expire) {
    const d = byDigest.get(e.digest);
    if (d?.action === 'delete') {
      agreed++;
      continue;
    }
    if (d && d.role !== 'image' && d.image && d.image !== d.digest) breaks++;
    onlyEcr.push({...e, kept: d?.reason ?? 'not in the plan'});
  }
  const onlyPlan = decisions
    .filter(d => d.action === 'delete' && !ecr.has(d.digest))
    .map(d => ({digest: d.digest, tags: d.tags, reason: d.reason}));
  return {source: preview.source, agreed, onlyEcr, onlyPlan, breaks};
}
