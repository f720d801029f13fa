import {UserError} from '../errors.js';

/** A parsed image reference: registry host, repository path, and a tag and/or digest. */
export interface Reference {
  /** Registry host as written (docker.io for Docker Hub), with port if any. */
  registry: string;
  /** Repository path, lowercase, with library/ added for Docker Hub official images. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

function looksLikeDomain(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || /[A-Z]/.test(component);
}

/** Why a repository path is invalid, or undefined when it is valid. */
export function repositoryProblem(path: string): string | undefined {
  if (path.length === 0) return 'the repository path is empty';
  if (path.length > 255) return 'the repository path is longer than 255 characters';
  for (const c of path.split('/')) {
    if (!PATH_COMPONENT.test(c)) {
      return `"${c}" is not a valid path component (lowercase letters, digits, and . _ - between them)`;
    }
  }
  return undefined;
}

/** Why a tag is invalid, or undefined when it is valid. */
export function tagProblem(tag: string): string | undefined {
  if (tag.length > 128)
    return `tag "${tag.slice(0, 40)}…" is ${tag.length} characters long; registries accept at most 128`;
  if (!TAG_PATTERN.test(tag)) {
    return `tag "${tag}" is not valid: it must start with a letter, digit or _ and contain only letters, digits, . _ -`;
  }
  return undefined;
}

/** Splits "host/path" into registry and repository without normalising Docker Hub names. */
export function splitName(name: string): {registry: string; path: string} {
  const slash = name.indexOf('/');
  if (slash > 0 && looksLikeDomain(name.slice(0, slash))) {
    return {registry: name.slice(0, slash), path: name.slice(slash + 1)};
  }
  return {registry: DOCKER_HUB, path: name};
}

/**
 * Parses an image reference such as "ghcr.io/org/app:1.2", "app", "localhost:5000/a/b@sha256:…".
 * Throws a UserError naming `what` (the input) when the reference is invalid.
 */
export function parseReference(input: string, what = 'reference'): Reference {
  const raw = input.trim();
  const fail = (why: string): never => {
    throw new UserError(`${what}: "${input}" is not a valid image reference: ${why}.`);
  };
  if (!raw) fail('it is empty');
  let rest = raw;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_PATTERN.test(digest)) fail(`"${digest}" is not a digest (expected sha256:<64 hex>)`);
    if (digest.startsWith('sha256:') && !SHA256.test(digest))
      fail(`"${digest}" is not a sha256 digest of 64 hex characters`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    const problem = tagProblem(tag);
    if (problem) fail(problem);
  }
  const {registry, path} = splitName(rest);
  if (registry !== DOCKER_HUB && !DOMAIN.test(registry)) fail(`"${registry}" is not a valid registry host`);
  let repository = path;
  if (/[A-Z]/.test(repository)) fail('repository names must be lowercase');
  const problem = repositoryProblem(repository);
  if (problem) fail(problem);
  const hub = isDockerHub(registry);
  if (hub && !repository.includes('/')) repository = `library/${repository}`;
  return {registry: hub ? DOCKER_HUB : registry.toLowerCase(), repository, tag, digest};
}

export function isDockerHub(registry: string): boolean {
  return registry === DOCKER_HUB || registry === 'index.docker.io' || registry === 'registry-1.docker.io';
}

/** The host to talk to for a registry name (Docker Hub's API lives on registry-1.docker.io). */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? 'registry-1.docker.io' : registry;
}

/** "registry/repository" as users write it (docker.io kept explicit). */
export function repositoryName(ref: Pick<Reference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** A loopback host (with or without port): plain http and Basic credentials are fine there. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.startsWith('127.') || h === '::1';
}
