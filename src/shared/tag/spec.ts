import {inputError} from '../errors.js';
import {parseFields} from '../inputs.js';

export const TAG_TYPES = ['schedule', 'semver', 'pep440', 'match', 'edge', 'ref', 'raw', 'sha', 'env'] as const;
export type TagType = (typeof TAG_TYPES)[number];
export const REF_EVENTS = ['branch', 'tag', 'pr'] as const;
export const TAG_KINDS = ['immutable', 'floating'] as const;
export type TagKind = (typeof TAG_KINDS)[number];

/** One line of the `tags` input, with metadata-action's defaults filled in. */
export interface TagSpec {
  type: TagType;
  attrs: Record<string, string>;
  /** The input line, for messages. */
  line: string;
}

const DEFAULT_PRIORITY: Record<TagType, number> = {
  schedule: 1000,
  semver: 900,
  pep440: 900,
  match: 800,
  env: 750,
  edge: 700,
  ref: 600,
  raw: 200,
  sha: 100
};

const COMMON_ATTRS = ['enable', 'priority', 'prefix', 'suffix', 'kind'];
const TYPE_ATTRS: Record<TagType, string[]> = {
  schedule: ['pattern'],
  semver: ['pattern', 'value', 'match', 'channel', 'highest'],
  pep440: ['pattern', 'value', 'match'],
  match: ['pattern', 'group', 'value'],
  edge: ['branch'],
  ref: ['event'],
  raw: ['value'],
  sha: ['format'],
  env: ['value', 'pattern']
};

/** The default tags when the input is empty (metadata-action's). */
export const DEFAULT_TAG_LINES = ['type=schedule', 'type=ref,event=branch', 'type=ref,event=tag', 'type=ref,event=pr'];

export interface ParsedTags {
  specs: TagSpec[];
  warnings: string[];
}

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

export function parseTagLine(line: string, warnings: string[] = []): TagSpec {
  const attrs: Record<string, string> = {};
  let type: TagType | undefined;
  const fields = parseFields(line);
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq <= 0) {
      attrs.value = field.trim();
      continue;
    }
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim();
    if (key === 'type') {
      if (!(TAG_TYPES as readonly string[]).includes(value)) {
        throw inputError('tags', line, `unknown tag type "${value}"`, `Allowed types: ${TAG_TYPES.join(', ')}.`);
      }
      type = value as TagType;
    } else {
      attrs[key] = value;
    }
  }
  const t: TagType = type ?? 'raw';
  const allowed = [...COMMON_ATTRS, ...TYPE_ATTRS[t]];
  for (const key of Object.keys(attrs)) {
    if (!allowed.includes(key)) {
      warnings.push(`tags: attribute "${key}" is not used by type=${t} in "${line}" (it takes ${allowed.join(', ')})`);
    }
  }
  const need = (attr: string): void => {
    if (!has(attrs, attr)) throw inputError('tags', line, `type=${t} needs a ${attr} attribute`);
  };
  const fill = (attr: string, value: string): void => {
    if (!has(attrs, attr)) attrs[attr] = value;
  };
  switch (t) {
    case 'schedule':
      fill('pattern', 'nightly');
      break;
    case 'semver':
    case 'pep440':
      need('pattern');
      fill('value', '');
      fill('match', '');
      break;
    case 'match':
      need('pattern');
      fill('group', '0');
      fill('value', '');
      if (!/^\d+$/.test(attrs.group)) throw inputError('tags', line, `group "${attrs.group}" is not a number`);
      break;
    case 'edge':
      fill('branch', '');
      break;
    case 'ref':
      need('event');
      if (!(REF_EVENTS as readonly string[]).includes(attrs.event)) {
        throw inputError('tags', line, `unknown event "${attrs.event}"`, `Allowed events: ${REF_EVENTS.join(', ')}.`);
      }
      if (attrs.event === 'pr') fill('prefix', 'pr-');
      break;
    case 'raw':
      need('value');
      break;
    case 'sha':
      fill('prefix', 'sha-');
      fill('format', 'short');
      if (!['short', 'long'].includes(attrs.format)) {
        throw inputError('tags', line, `unknown format "${attrs.format}"`, 'Allowed formats: short, long.');
      }
      break;
    case 'env':
      fill('value', '{{environment}}');
      fill('pattern', '{{env}}');
      break;
  }
  fill('enable', 'true');
  fill('priority', String(DEFAULT_PRIORITY[t]));
  if (!/^-?\d+(\.\d+)?$/.test(attrs.priority)) {
    throw inputError('tags', line, `priority "${attrs.priority}" is not a number`);
  }
  if (has(attrs, 'kind') && !(TAG_KINDS as readonly string[]).includes(attrs.kind)) {
    throw inputError('tags', line, `unknown kind "${attrs.kind}"`, 'Allowed kinds: immutable, floating.');
  }
  return {type: t, attrs, line};
}

/** Parses the `tags` input lines and orders them by priority, highest first (stable). */
export function parseTags(lines: string[]): ParsedTags {
  const warnings: string[] = [];
  const source = lines.length > 0 ? lines : DEFAULT_TAG_LINES;
  const specs = source.map(line => parseTagLine(line, warnings));
  specs.sort((a, b) => Number(b.attrs.priority) - Number(a.attrs.priority));
  return {specs, warnings};
}

export function tagSpecToString(spec: TagSpec): string {
  return [`type=${spec.type}`, ...Object.entries(spec.attrs).map(([k, v]) => `${k}=${v}`)].join(',');
}
