import {TagKind} from './spec.js';

const FULL_VERSION = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$/;
const COMMIT = /^(?:sha-)?[0-9a-f]{7,40}$/;
const DATE = /^\d{8}(?:[-.T]?\d{4,6})?$/;

/**
 * The kind of a tag judged from its name alone, for tools that see only names (ghcr-cleanup's
 * kind:immutable|floating, ephemeral). The tag action classifies by how a tag was derived; for the
 * tags it derives by default the two agree (a test keeps them so): a full version, a commit and a
 * date name one build forever; everything else (latest, 1, 1.2, branches, pr-N, environments) moves.
 */
export function tagKindOfName(tag: string): TagKind {
  return FULL_VERSION.test(tag) || COMMIT.test(tag) || DATE.test(tag) ? 'immutable' : 'floating';
}

export function isImmutableTag(tag: string): boolean {
  return tagKindOfName(tag) === 'immutable';
}
