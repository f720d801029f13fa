import semver from 'semver';
import {UserError, inputError} from '../errors.js';
import {RefContext, refName} from './context.js';
import {Flavor} from './flavor.js';
import {isPep440Final, normalizePep440, parsePep440, pep440Component} from './pep440.js';
import {TagKind, TagSpec, TagType} from './spec.js';
import {Helper, dateHelper, isRawStatement, patternVariables, render} from './template.js';

/** Everything the derivation reads besides the tag lines: pure data, no I/O. */
export interface DeriveInput {
  context: RefContext;
  flavor: Flavor;
  /** The repository's default branch (for type=edge). */
  defaultBranch: string;
  /** The current time (SOURCE_DATE_EPOCH-pinned in tests). */
  date: Date;
  /** Monorepo tag prefix: with "app/", git tag app/v1.2.3 is read as v1.2.3 and other tags are ignored. */
  tagPrefix?: string;
  /** The deployment environment for type=env tags (dev, staging, prod). */
  environment?: string;
  /** Length of short commit SHAs (DOCKER_METADATA_SHORT_SHA_LENGTH). */
  shortShaLength?: number;
}

/** Which release line a tag stands for, so `highest` modes can decide whether to move it. */
export type AliasLine =
  {scope: 'all'} | {scope: 'major'; major: number} | {scope: 'minor'; major: number; minor: number};

export interface DerivedTag {
  value: string;
  type: TagType | 'latest';
  kind: TagKind;
  /** The semver version this tag was made from, when it was. */
  version?: string;
  /** For moving aliases (latest, {{major}}, {{major}}.{{minor}}): the line they follow. */
  alias?: AliasLine;
  /** Move only when this version is the highest of its line in the registry. */
  highest?: boolean;
  /** The tags input line that produced it. */
  source: string;
}

export interface Version {
  main: string | undefined;
  partial: string[];
  latest: boolean;
  /** Every distinct tag value in order, with its classification. */
  tags: DerivedTag[];
  warnings: string[];
}

const SHORT_SHA_DEFAULT = 7;

export function shortShaLength(env: NodeJS.ProcessEnv): number {
  const raw = env.DOCKER_METADATA_SHORT_SHA_LENGTH;
  if (!raw) return SHORT_SHA_DEFAULT;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new UserError(`DOCKER_METADATA_SHORT_SHA_LENGTH: "${raw}" is not a positive whole number.`);
  }
  return Number(raw);
}

/** Replaces what a tag cannot hold with "-", as metadata-action does. */
export function sanitizeTag(tag: string): string {
  return tag.replace(/[^a-zA-Z0-9._-]+/g, '-');
}

interface Produced {
  value: string;
  latest: boolean;
  kind: TagKind;
  version?: string;
  alias?: AliasLine;
  highest?: boolean;
  extra?: Produced[];
}

/** Derivation state shared by the per-type producers. */
export class Deriver {
  readonly warnings: string[] = [];
  private readonly globals: Record<string, Helper>;
  /** The git tag name with the monorepo prefix removed; undefined when the ref is not (our) tag. */
  readonly tagName: string | undefined;

  constructor(private readonly input: DeriveInput) {
    const ctx = input.context;
    const raw = refName.tag(ctx.ref);
    if (raw !== undefined && input.tagPrefix) {
      this.tagName = raw.startsWith(input.tagPrefix) ? raw.slice(input.tagPrefix.length) : undefined;
      if (this.tagName === undefined) {
        this.warnings.push(
          `git tag "${raw}" does not start with tag-prefix "${input.tagPrefix}": no version tags derived from it`
        );
      }
    } else {
      this.tagName = raw;
    }
    const isDefault = (): string => {
      const branch = ctx.ref.replace(/^refs\/heads\//g, '');
      if (!branch) return 'false';
      if (ctx.payload.repository?.default_branch === branch) return 'true';
      return /create|discussion|issues|schedule/.test(ctx.eventName) ? 'true' : 'false';
    };
    this.globals = {
      branch: () => refName.branch(ctx.ref) ?? '',
      tag: () => this.tagName ?? '',
      sha: () => this.shortSha(ctx.sha),
      base_ref: () => {
        if (refName.tag(ctx.ref) !== undefined && ctx.payload.base_ref != undefined) {
          return ctx.payload.base_ref.replace(/^refs\/heads\//g, '');
        }
        if (refName.pr(ctx.ref) !== undefined && ctx.payload.pull_request?.base?.ref != undefined) {
          return ctx.payload.pull_request.base.ref;
        }
        return '';
      },
      date: dateHelper(input.date),
      commit_date: dateHelper(ctx.commitDate),
      is_default_branch: isDefault,
      is_not_default_branch: () => (isDefault() === 'false' ? 'true' : 'false'),
      environment: () => input.environment ?? ''
    };
  }

  shortSha(sha: string): string {
    const n = this.input.shortShaLength ?? SHORT_SHA_DEFAULT;
    return n >= sha.length ? sha : sha.substring(0, n);
  }

  exp(template: string, spec: TagSpec, extra: Record<string, Helper> = {}): string {
    return this.expand(template, `tags: "${spec.line}"`, extra);
  }

  /** Renders the global expressions ({{branch}}, {{date …}}, …) in any input value. */
  expand(template: string, where: string, extra: Record<string, Helper> = {}): string {
    return render(template, {}, {...this.globals, ...extra}, where);
  }

  /** Applies the tag's own prefix/suffix, or the flavor's when the tag has none. */
  affix(value: string, spec: TagSpec): string {
    const {flavor} = this.input;
    const own = (k: string): boolean => Object.prototype.hasOwnProperty.call(spec.attrs, k);
    let out = value;
    if (own('prefix')) out = this.exp(spec.attrs.prefix, spec) + out;
    else if (flavor.prefix) out = this.exp(flavor.prefix, spec) + out;
    if (own('suffix')) out += this.exp(spec.attrs.suffix, spec);
    else if (flavor.suffix) out += this.exp(flavor.suffix, spec);
    return out;
  }

  /** flavor latest=true/false wins over the type's own auto choice. */
  latest(auto: boolean): boolean {
    const mode = this.input.flavor.latest;
    if (mode === 'auto' || mode === 'highest') return auto;
    return mode === 'true';
  }

  /** The value for version-like types: value= (rendered) or the git tag, narrowed by match=. */
  versionSource(spec: TagSpec): string | undefined {
    if (!spec.attrs.value && this.tagName === undefined) return undefined;
    let raw = spec.attrs.value ? this.exp(spec.attrs.value, spec) : (this.tagName as string);
    if (spec.attrs.match) {
      const m = raw.match(spec.attrs.match);
      if (!m) {
        this.warnings.push(`${spec.attrs.match} does not match ${raw}.`);
      } else if (m[1] === undefined) {
        this.warnings.push(
          `match=${spec.attrs.match} has no capture group: using the whole match "${m[0]}" (in "${spec.line}")`
        );
        raw = m[0];
      } else {
        raw = m[1];
      }
    }
    return raw.replace(/\//g, '-');
  }

  produce(spec: TagSpec): Produced | undefined {
    const ctx = this.input.context;
    const a = spec.attrs;
    const out = (value: string, latest: boolean, kind: TagKind, more: Partial<Produced> = {}): Produced => ({
      value,
      latest,
      kind: (a.kind as TagKind | undefined) ?? kind,
      ...more
    });
    switch (spec.type) {
      case 'schedule': {
        if (!/schedule/.test(ctx.eventName)) return undefined;
        const helpers = {date: this.globalsFor('date'), commit_date: this.globalsFor('commit_date')};
        const v = render(a.pattern, {}, helpers, `tags: "${spec.line}"`);
        return out(this.affix(v, spec), this.latest(false), 'floating');
      }
      case 'semver':
        return this.semver(spec, out);
      case 'pep440': {
        const raw = this.versionSource(spec);
        if (raw === undefined) return undefined;
        const pv = parsePep440(raw);
        if (!pv) {
          this.warnings.push(`${raw} does not conform to PEP 440. More info: https://www.python.org/dev/peps/pep-0440`);
          return undefined;
        }
        if (!isPep440Final(pv)) {
          const v = isRawStatement(a.pattern) ? raw : normalizePep440(pv);
          return out(this.affix(v, spec), this.latest(false), 'immutable');
        }
        const fn =
          (s: string): Helper =>
          () =>
            s;
        const v = render(
          a.pattern,
          {},
          {
            raw: fn(raw),
            version: fn(normalizePep440(pv)),
            major: fn(String(pep440Component(pv, 0))),
            minor: fn(String(pep440Component(pv, 1))),
            patch: fn(String(pep440Component(pv, 2)))
          },
          `tags: "${spec.line}"`
        );
        return out(this.affix(v, spec), this.latest(true), fullPattern(a.pattern) ? 'immutable' : 'floating');
      }
      case 'match': {
        if (!a.value && this.tagName === undefined) return undefined;
        const raw = a.value ? this.exp(a.value, spec) : (this.tagName as string);
        const re = a.pattern.match(/^\/(.+)\/(.*)$/);
        let m: RegExpMatchArray | null;
        try {
          m = re ? raw.match(new RegExp(re[1], re[2])) : raw.match(a.pattern);
        } catch (err) {
          throw inputError('tags', spec.line, `pattern is not a valid regular expression (${(err as Error).message})`);
        }
        if (!m) {
          this.warnings.push(`${a.pattern} does not match ${raw}.`);
          return undefined;
        }
        const group = m[Number(a.group)];
        if (group === undefined) {
          this.warnings.push(`Group ${a.group} does not exist for ${a.pattern} pattern.`);
          return undefined;
        }
        return out(this.affix(group, spec), this.latest(true), 'floating');
      }
      case 'ref': {
        if (a.event === 'branch') {
          const b = refName.branch(ctx.ref);
          return b === undefined ? undefined : out(this.affix(b, spec), this.latest(false), 'floating');
        }
        if (a.event === 'tag') {
          if (this.tagName === undefined) return undefined;
          // A pre-release tag never takes latest by default (metadata-action gives it latest).
          const pre = semver.valid(this.tagName) !== null && semver.prerelease(this.tagName) !== null;
          return out(this.affix(this.tagName, spec), this.latest(!pre), 'immutable');
        }
        const pr = refName.pr(ctx.ref);
        return pr === undefined ? undefined : out(this.affix(pr, spec), this.latest(false), 'floating');
      }
      case 'edge': {
        const b = refName.branch(ctx.ref);
        if (b === undefined) return undefined;
        const target = a.branch || this.input.defaultBranch;
        if (target !== b) return undefined;
        return out(this.affix('edge', spec), this.latest(false), 'floating');
      }
      case 'raw':
        return out(this.affix(this.exp(a.value, spec), spec), this.latest(false), 'floating');
      case 'sha': {
        if (!ctx.sha) return undefined;
        const v = a.format === 'short' ? this.shortSha(ctx.sha) : ctx.sha;
        return out(this.affix(v, spec), this.latest(false), 'immutable');
      }
      case 'env': {
        const env = this.exp(a.value, spec);
        if (!env) return undefined;
        const tagVersion = this.tagName !== undefined ? (semver.clean(this.tagName) ?? this.tagName) : '';
        const v = this.exp(a.pattern, spec, {env: () => env, version: () => tagVersion});
        return out(this.affix(v, spec), this.latest(false), 'floating');
      }
    }
  }

  private globalsFor(name: string): Helper {
    return this.globals[name];
  }

  private semver(spec: TagSpec, out: (v: string, l: boolean, k: TagKind, m?: Partial<Produced>) => Produced) {
    const a = spec.attrs;
    const raw = this.versionSource(spec);
    if (raw === undefined) return undefined;
    if (!semver.valid(raw)) {
      this.warnings.push(`${raw} is not a valid semver. More info: https://semver.org/`);
      return undefined;
    }
    const parsed = semver.parse(raw, {loose: true}) as semver.SemVer;
    const where = `tags: "${spec.line}"`;
    const highest = a.highest !== undefined ? a.highest === 'true' : this.input.flavor.latest === 'highest';
    if (semver.prerelease(raw)) {
      const pattern = isRawStatement(a.pattern) ? a.pattern : '{{version}}';
      const main = out(this.affix(render(pattern, parsed, {}, where), spec), this.latest(false), 'immutable', {
        version: parsed.version
      });
      const channel = a.channel ? this.channel(a.channel, parsed) : undefined;
      if (channel)
        main.extra = [{value: this.affix(channel, spec), latest: false, kind: 'floating', version: parsed.version}];
      return main;
    }
    const vars = patternVariables(a.pattern);
    const full = fullPattern(a.pattern);
    let alias: AliasLine | undefined;
    if (!full && vars.includes('minor')) alias = {scope: 'minor', major: parsed.major, minor: parsed.minor};
    else if (!full && vars.includes('major')) alias = {scope: 'major', major: parsed.major};
    return out(
      this.affix(render(a.pattern, parsed, {}, where), spec),
      this.latest(true),
      full ? 'immutable' : 'floating',
      {
        version: parsed.version,
        alias,
        highest: alias ? highest : undefined
      }
    );
  }

  private channel(attr: string, v: semver.SemVer): string | undefined {
    if (attr === 'false') return undefined;
    if (attr !== 'true') return attr;
    const first = v.prerelease[0];
    return typeof first === 'string' ? first : undefined;
  }
}

function fullPattern(pattern: string): boolean {
  const vars = patternVariables(pattern);
  return vars.includes('version') || vars.includes('raw') || vars.includes('patch');
}

/**
 * Derives the version and every tag from the tag lines (already sorted by priority). The first tag
 * produced is the main version and decides whether `latest` is added, as in metadata-action.
 */
export function deriveVersion(specs: TagSpec[], input: DeriveInput, d = new Deriver(input)): Version {
  let main: string | undefined;
  let latest: boolean | undefined;
  const tags: DerivedTag[] = [];
  const seen = new Set<string>();
  const add = (p: Produced, spec: TagSpec): void => {
    if (p.value.length === 0) return;
    const value = sanitizeTag(p.value);
    if (main === undefined) main = value;
    if (latest === undefined) latest = p.latest;
    if (!seen.has(value)) {
      seen.add(value);
      tags.push({
        value,
        type: spec.type,
        kind: p.kind,
        version: p.version,
        alias: p.alias,
        highest: p.highest,
        source: spec.line
      });
    }
  };
  for (const spec of specs) {
    const enabled = d.exp(spec.attrs.enable, spec);
    if (enabled !== 'true' && enabled !== 'false') {
      throw inputError('tags', spec.line, `enable must render to true or false, got "${enabled}"`);
    }
    if (enabled !== 'true') continue;
    const p = d.produce(spec);
    if (!p) continue;
    add(p, spec);
    for (const extra of p.extra ?? []) add(extra, spec);
  }
  return {
    main,
    partial: tags.slice(1).map(t => t.value),
    latest: latest ?? false,
    tags,
    warnings: d.warnings
  };
}
