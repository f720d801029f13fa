import {RefContext} from '../../src/shared/tag/context.js';
import {parseFlavor} from '../../src/shared/tag/flavor.js';
import {parseImages} from '../../src/shared/tag/images.js';
import {Metadata, deriveMetadata} from '../../src/shared/tag/meta.js';
import {parseTags} from '../../src/shared/tag/spec.js';

export const SHA = '0123456789abcdef0123456789abcdef01234567';
export const DATE = new Date('2026-03-04T05:06:07.000Z');

export function ctx(ref: string, eventName = 'push', payload: RefContext['payload'] = {}): RefContext {
  return {eventName, sha: SHA, ref, payload, commitDate: new Date('2026-03-01T00:00:00Z'), repository: 'acme/app'};
}

export interface Case {
  ref: string;
  event?: string;
  tags?: string[];
  flavor?: string[];
  images?: string[];
  tagPrefix?: string;
  environment?: string;
}

export function derive(c: Case): Metadata {
  return deriveMetadata({
    context: ctx(c.ref, c.event),
    flavor: parseFlavor(c.flavor ?? []),
    defaultBranch: 'main',
    date: DATE,
    tagPrefix: c.tagPrefix,
    environment: c.environment,
    images: parseImages(c.images ?? ['ghcr.io/acme/app']),
    specs: parseTags(c.tags ?? []).specs,
    labels: [],
    annotations: [],
    annotationLevels: ['manifest'],
    repo: {name: 'app', html_url: 'https://github.com/acme/app', default_branch: 'main'}
  });
}
