import semver from 'semver';
import YAML from 'yaml';
import {UserError} from '../errors.js';
import {globToRegExp} from '../glob.js';
import {parseReference} from '../registry/reference.js';
import {SignerRule, signerRule} from '../policy/signer.js';

/** A tag pattern: a glob (`1.27.*`) or a regular expression between slashes (`/^1\.2[67]\.\d+$/`). */
export interface TagPattern {
  text: string;
  re: RegExp;
}

export interface TagRules {
  allow: TagPattern[];
  deny: TagPattern[];
  /** A semver range (`>=1.26 <2`): tags that are versions within it. */
  semver?: string;
  /** Only the newest N of the tags that pass the filters. */
  newest?: number;
  newestBy: 'semver' | 'created';
  /** Digests mirrored whatever the tags say (by digest, no tag written). */
  digests: string[];
}

/** Who must have signed an image before it is mirrored (cosign verify, by digest). */
export type VerifyRule = SignerRule;

/** One source repository and where it is mirrored. */
export interface SyncEntry {
  /** registry/repository of the source, as the report names it. */
  name: string;
  registry: string;
  repository: string;
  /** Destination repositories (registry/repository), templates already filled in. */
  destinations: Array<{registry: string; repository: string; name: string}>;
  tags: TagRules;
  /** os/arch[/variant]; empty: every platform (the source's digest kept). */
  platforms: string[];
  referrers: boolean;
  verify?: VerifyRule;
}

type Raw = Record<string, unknown>;

const KEYS = {
  top: ['defaults', 'images'],
  entry: ['source', 'repositories', 'destinations', 'tags', 'platforms', 'referrers', 'verify'],
  tags: ['allow', 'deny', 'semver', 'newest', 'newest-by', 'digests']
};

function fail(where: string, what: string, fix?: string): never {
  throw new UserError(`config: ${where}: ${what}.${fix ? ` ${fix}` : ''}`);
}

function unknownKeys(o: Raw, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(where, `unknown key "${k}"`, `Known keys: ${allowed.join(', ')}.`);
  }
}

function list(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every(x => typeof x === 'string' || typeof x === 'number')) return v.map(String);
  return fail(where, 'expected a string or a list of strings');
}

/** Parses a tag pattern: `/…/` is a regular expression (anchored as written), anything else a glob. */
export function tagPattern(text: string, where: string): TagPattern {
  const m = /^\/(.*)\/$/.exec(text);
  if (!m) return {text, re: globToRegExp(text)};
  try {
    return {text, re: new RegExp(m[1])};
  } catch (err) {
    return fail(where, `${text} is not a regular expression (${(err as Error).message})`);
  }
}

function tagRules(raw: unknown, base: TagRules | undefined, where: string): TagRules {
  const o = (raw ?? {}) as Raw;
  if (typeof o !== 'object' || Array.isArray(o)) fail(where, 'expected a mapping (allow, deny, semver, newest…)');
  unknownKeys(o, KEYS.tags, where);
  const rules: TagRules = base
    ? {...base, allow: [...base.allow], deny: [...base.deny], digests: [...base.digests]}
    : {allow: [], deny: [], newestBy: 'semver', digests: []};
  if (o.allow !== undefined) rules.allow = list(o.allow, `${where}.allow`).map(t => tagPattern(t, `${where}.allow`));
  if (o.deny !== undefined) rules.deny = list(o.deny, `${where}.deny`).map(t => tagPattern(t, `${where}.deny`));
  if (o.semver !== undefined) {
    const range = String(o.semver);
    // Strict: loose parsing drops comparators it cannot read (">= 1.26, < 2" would lose its lower bound).
    if (!semver.validRange(range))
      fail(
        `${where}.semver`,
        `"${range}" is not a semver range`,
        'Write comparators separated by spaces and alternatives by ||, e.g. ">=1.26 <2" or "^20.1 || ^21".'
      );
    rules.semver = range;
  }
  if (o.newest !== undefined) {
    const n = Number(o.newest);
    if (!Number.isInteger(n) || n < 1)
      fail(`${where}.newest`, `"${String(o.newest)}" is not a whole number of 1 or more`);
    rules.newest = n;
  }
  if (o['newest-by'] !== undefined) {
    const by = String(o['newest-by']);
    if (by !== 'semver' && by !== 'created') fail(`${where}.newest-by`, `"${by}" is neither semver nor created`);
    rules.newestBy = by;
  }
  if (o.digests !== undefined) {
    rules.digests = list(o.digests, `${where}.digests`);
    for (const d of rules.digests)
      if (!/^sha256:[a-f0-9]{64}$/.test(d)) fail(`${where}.digests`, `"${d}" is not a sha256 digest`);
  }
  return rules;
}

function verifyRule(raw: unknown, where: string): VerifyRule | undefined {
  if (raw === undefined || raw === null) return undefined;
  return signerRule('config', raw, where);
}

/**
 * Fills a destination template from the source: {registry} (the source's registry host), {repository}
 * (its repository path, library/nginx for Docker Hub's official images) and {name} (the last part of
 * the path). Pure.
 */
export function fillTemplate(template: string, source: {registry: string; repository: string}): string {
  return template
    .replace(/\{registry\}/g, source.registry)
    .replace(/\{repository\}/g, source.repository)
    .replace(/\{name\}/g, source.repository.split('/').pop() ?? source.repository);
}

interface Defaults {
  destinations: string[];
  tags?: TagRules;
  platforms: string[];
  referrers: boolean;
  verify?: VerifyRule;
}

function entries(raw: Raw, defaults: Defaults, index: number): SyncEntry[] {
  const where = `images[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'expected a mapping with source');
  unknownKeys(raw, KEYS.entry, where);
  if (typeof raw.source !== 'string' || !raw.source)
    fail(where, 'source is missing', 'Give a repository (docker.io/library/nginx) or, with repositories, a registry.');
  const repositories = list(raw.repositories, `${where}.repositories`);
  const sources = repositories.length
    ? repositories.map(r => `${String(raw.source).replace(/\/+$/, '')}/${r}`)
    : [String(raw.source)];
  const templates =
    raw.destinations !== undefined ? list(raw.destinations, `${where}.destinations`) : defaults.destinations;
  if (!templates.length) fail(where, 'no destinations', 'Give destinations here or under defaults.');
  const tags = tagRules(raw.tags, defaults.tags, `${where}.tags`);
  const platforms = raw.platforms !== undefined ? list(raw.platforms, `${where}.platforms`) : defaults.platforms;
  for (const p of platforms)
    if (p !== 'all' && !/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(p))
      fail(`${where}.platforms`, `"${p}" is not os/arch[/variant]`);
  const referrers =
    raw.referrers !== undefined ? raw.referrers === true || raw.referrers === 'true' : defaults.referrers;
  const verify = raw.verify !== undefined ? verifyRule(raw.verify, `${where}.verify`) : defaults.verify;
  return sources.map(s => {
    const ref = parseReference(s, `config: ${where}.source`);
    if (ref.tag || ref.digest)
      fail(
        `${where}.source`,
        `"${s}" names a tag or digest`,
        'Give the repository; choose tags under tags (allow, semver, digests).'
      );
    const source = {registry: ref.registry, repository: ref.repository};
    const destinations = templates.map(t => {
      const filled = fillTemplate(t, source);
      if (/[{}]/.test(filled))
        fail(`${where}.destinations`, `"${t}" has an unknown placeholder`, 'Use {registry}, {repository} or {name}.');
      const d = parseReference(filled.toLowerCase(), `config: ${where}.destinations`);
      if (d.tag || d.digest)
        fail(`${where}.destinations`, `"${t}" names a tag or digest`, 'Give a repository; tags come from the source.');
      return {registry: d.registry, repository: d.repository, name: `${d.registry}/${d.repository}`};
    });
    const name = `${ref.registry}/${ref.repository}`;
    if (destinations.some(d => d.name === name)) fail(`${where}.destinations`, `${name} would be mirrored onto itself`);
    return {name, ...source, destinations, tags, platforms: platforms.filter(p => p !== 'all'), referrers, verify};
  });
}

/** Parses the sync configuration (YAML text): defaults, then images. Errors name the key. Pure. */
export function parseSyncConfig(text: string, file = 'config'): SyncEntry[] {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    fail('top level', 'expected a mapping with images (and optionally defaults)');
  const top = doc as Raw;
  unknownKeys(top, KEYS.top, 'top level');
  const d = (top.defaults ?? {}) as Raw;
  if (typeof d !== 'object' || Array.isArray(d)) fail('defaults', 'expected a mapping');
  unknownKeys(d, ['destinations', 'tags', 'platforms', 'referrers', 'verify'], 'defaults');
  const defaults: Defaults = {
    destinations: list(d.destinations, 'defaults.destinations'),
    tags: d.tags !== undefined ? tagRules(d.tags, undefined, 'defaults.tags') : undefined,
    platforms: list(d.platforms, 'defaults.platforms'),
    referrers: d.referrers === undefined ? true : d.referrers === true || d.referrers === 'true',
    verify: verifyRule(d.verify, 'defaults.verify')
  };
  if (!Array.isArray(top.images) || top.images.length === 0)
    fail('images', 'give at least one entry (source, destinations, tags)');
  const out = (top.images as Raw[]).flatMap((e, i) => entries(e, defaults, i));
  const seen = new Map<string, string>();
  for (const e of out) {
    for (const dst of e.destinations) {
      const prev = seen.get(dst.name);
      if (prev && prev !== e.name) fail('images', `${dst.name} is the destination of both ${prev} and ${e.name}`);
      seen.set(dst.name, e.name);
    }
  }
  return out;
}
