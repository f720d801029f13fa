import {UserError} from '../errors.js';
import {tagProblem} from '../registry/reference.js';
import {ImageSpec} from './images.js';
import {TagKind} from './spec.js';
import {TagSpec} from './spec.js';
import {DerivedTag, DeriveInput, Deriver, Version, deriveVersion, sanitizeTag} from './version.js';

/** Repository data for the OCI labels (GET /repos/{owner}/{repo}). */
export interface RepoInfo {
  name?: string;
  description?: string | null;
  html_url?: string;
  default_branch?: string;
  license?: {spdx_id?: string | null} | null;
}

export interface MetaInput extends DeriveInput {
  images: ImageSpec[];
  specs: TagSpec[];
  labels: string[];
  annotations: string[];
  annotationLevels: string[];
  repo: RepoInfo;
}

/** A tag with where it goes and whether it may move: what push-multi and ghcr-cleanup consume. */
export interface ClassifiedTag {
  ref: string;
  image: string;
  tag: string;
  kind: TagKind;
  type: DerivedTag['type'];
  version?: string;
  alias?: DerivedTag['alias'];
  highest?: boolean;
}

export interface Metadata {
  version: Version;
  imageNames: string[];
  /** Tag values without image, main first, latest last. */
  tagNames: string[];
  tags: string[];
  labels: string[];
  annotations: string[];
  classified: ClassifiedTag[];
  json: {tags: string[]; 'tag-names': string[]; labels: Record<string, string>; annotations: string[]};
  warnings: string[];
}

export const ANNOTATION_LEVEL = /^(manifest|index|manifest-descriptor|index-descriptor)(\[[^\]]+\])?$/;

export function parseAnnotationLevels(raw: string | undefined): string[] {
  const levels = (raw || 'manifest').split(',').map(s => s.trim());
  for (const level of levels) {
    if (!ANNOTATION_LEVEL.test(level)) {
      throw new UserError(
        `DOCKER_METADATA_ANNOTATIONS_LEVELS: "${level}" is not an annotation level. Use a comma-separated list of manifest, index, manifest-descriptor, index-descriptor (optionally with [platform]).`
      );
    }
  }
  return levels;
}

function labelsWithCustom(base: string[], extra: string[]): string[] {
  const map = new Map<string, string>();
  for (const entry of [...base, ...extra]) {
    const [key, ...values] = entry.split('=');
    if (values.length > 0) map.set(key, values.join('='));
  }
  return Array.from(map)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}=${v}`);
}

export function labelsToObject(labels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of labels) {
    const m = label.match(/([^=]*)=(.*)/);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Derives tags, labels and annotations: the whole `tag` action, as a pure function of its inputs. */
export function deriveMetadata(input: MetaInput): Metadata {
  const deriver = new Deriver(input);
  const version = deriveVersion(input.specs, input, deriver);
  const warnings = [...version.warnings];

  const derived: DerivedTag[] = [...version.tags];
  if (version.main !== undefined && version.latest) {
    const f = input.flavor;
    const prefix = f.prefixLatest ? deriver.expand(f.prefix, 'flavor') : '';
    const suffix = f.suffixLatest ? deriver.expand(f.suffix, 'flavor') : '';
    const value = sanitizeTag(`${prefix}latest${suffix}`);
    const existing = derived.find(t => t.value === value);
    const highest = f.latest === 'highest';
    if (existing) {
      existing.kind = 'floating';
      existing.alias = {scope: 'all'};
      existing.highest = highest;
    } else {
      const v = derived.find(t => t.version)?.version;
      derived.push({
        value,
        type: 'latest',
        kind: 'floating',
        alias: {scope: 'all'},
        highest,
        version: v,
        source: 'flavor latest'
      });
    }
  }
  for (const t of derived) {
    const problem = tagProblem(t.value);
    if (problem) throw new UserError(`tags: ${problem} (made by "${t.source}"). Change the pattern, prefix or suffix.`);
  }

  const imageNames = input.images.filter(i => i.enable).map(i => i.name);
  const tagNames = version.main === undefined ? [] : derived.map(t => t.value);
  const classified: ClassifiedTag[] = [];
  const tags: string[] = [];
  for (const image of imageNames.length > 0 ? imageNames : ['']) {
    for (const t of version.main === undefined ? [] : derived) {
      const ref = image ? `${image}:${t.value}` : t.value;
      tags.push(ref);
      classified.push({
        ref,
        image,
        tag: t.value,
        kind: t.kind,
        type: t.type,
        version: t.version,
        alias: t.alias,
        highest: t.highest
      });
    }
  }

  const repo = input.repo;
  const base = [
    `org.opencontainers.image.title=${repo.name || ''}`,
    `org.opencontainers.image.description=${repo.description || ''}`,
    `org.opencontainers.image.url=${repo.html_url || ''}`,
    `org.opencontainers.image.source=${repo.html_url || ''}`,
    `org.opencontainers.image.version=${version.main || ''}`,
    `org.opencontainers.image.created=${input.date.toISOString()}`,
    `org.opencontainers.image.revision=${input.context.sha || ''}`,
    `org.opencontainers.image.licenses=${repo.license?.spdx_id || ''}`
  ];
  const labels = labelsWithCustom(
    base,
    input.labels.map(l => deriver.expand(l, `labels: "${l}"`))
  );
  const rawAnnotations = labelsWithCustom(
    base,
    input.annotations.map(l => deriver.expand(l, `annotations: "${l}"`))
  );
  const annotations = input.annotationLevels.flatMap(level => rawAnnotations.map(a => `${level}:${a}`));
  return {
    version,
    imageNames,
    tagNames,
    tags,
    labels,
    annotations,
    classified,
    json: {tags, 'tag-names': tagNames, labels: labelsToObject(labels), annotations},
    warnings
  };
}

/** The docker buildx bake definitions metadata-action writes, keyed by output name. */
export function bakeDefinitions(meta: Metadata, target: string): Record<string, unknown> {
  const wrap = (body: unknown): unknown => ({target: {[target]: body}});
  const args = {DOCKER_META_IMAGES: meta.imageNames.join(','), DOCKER_META_VERSION: meta.version.main};
  return {
    tags: wrap({tags: meta.tags, args}),
    labels: wrap({labels: labelsToObject(meta.labels)}),
    annotations: wrap({annotations: meta.annotations}),
    all: wrap({tags: meta.tags, labels: labelsToObject(meta.labels), args})
  };
}
