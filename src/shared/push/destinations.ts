import {inputError} from '../errors.js';
import {parseFields} from '../inputs.js';
import {LoginEntry, applyLoginOptions} from '../registry/logins.js';
import {Reference, parseReference} from '../registry/reference.js';

/** One line of the destinations input: a repository and how to reach it (a login with a repository). */
export interface Destination extends LoginEntry {
  repository: string;
}

/**
 * Parses destination lines: `ghcr.io/acme/app` or
 * `docker.io/acme/app,username=acme,password-env=DOCKERHUB_TOKEN` or `…,provider=ecr`.
 */
export function parseDestinations(lines: string[]): Destination[] {
  const out: Destination[] = [];
  for (const line of lines) {
    const fields = parseFields(line);
    const repo = fields[0]?.trim() ?? '';
    if (repo.startsWith('oci:')) {
      // A local OCI layout directory as a destination (demos, air-gapped transfers).
      out.push({line, registry: 'oci', repository: repo.slice(4), name: repo, provider: 'anonymous', options: {}});
      continue;
    }
    if (!repo || repo.includes('=')) {
      throw inputError(
        'destinations',
        line,
        'the line must start with a repository',
        'Write <registry>/<repository>[,username=…][,password-env=…][,provider=…].'
      );
    }
    let ref: Reference;
    try {
      ref = parseReference(repo, 'destinations');
    } catch (err) {
      throw inputError('destinations', line, (err as Error).message.replace(/^destinations: /, '').replace(/\.$/, ''));
    }
    if (ref.tag || ref.digest) {
      throw inputError(
        'destinations',
        line,
        `"${repo}" includes a tag or digest`,
        'Give the repository only; tags come from the tags input.'
      );
    }
    const d: Destination = {
      line,
      registry: ref.registry,
      repository: ref.repository,
      name: `${ref.registry}/${ref.repository}`,
      provider: 'auto',
      options: {}
    };
    applyLoginOptions(d, fields.slice(1), 'destinations');
    if (out.some(o => o.name === d.name)) throw inputError('destinations', line, `${d.name} is listed twice`);
    out.push(d);
  }
  return out;
}

/**
 * The tags for one destination. Fully qualified references (the tag action's `tags` output) go to the
 * destination whose repository they name; bare tags go to every destination. Pure.
 */
export function tagsFor(dest: Destination, tags: string[]): string[] {
  const out: string[] = [];
  for (const t of tags) {
    if (!t.includes('/') && !t.includes('@')) {
      out.push(t);
      continue;
    }
    const ref = parseReference(t, 'tags');
    if (!ref.tag) continue;
    if (ref.registry === dest.registry && ref.repository === dest.repository) out.push(ref.tag);
  }
  return [...new Set(out)];
}
