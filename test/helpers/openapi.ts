import path from 'node:path';
import {ROOT} from './run-action.js';
import {VendorApiDescription} from './vendor-spec.js';

/**
 * GitHub's published REST API description (npm @octokit/openapi, api.github.com), used to hold our
 * GitHub emulator to the real API: a route must exist there with that method, and every JSON body the
 * emulator answers must validate against the schema documented for that route and status. The
 * emulator's objects start from the description's own examples, so the fields we do not set look as
 * GitHub's do.
 */
const FILE = path.join(ROOT, 'node_modules', '@octokit', 'openapi', 'generated', 'api.github.com.json');

/** Statuses GitHub answers on any route (auth, rate limits, missing things, outages): a Basic Error body. */
const GENERIC = new Set(['401', '403', '404', '429', '500', '502', '503']);

export class GitHubApiDescription extends VendorApiDescription {
  constructor() {
    super(FILE, {generic: {statuses: GENERIC, pointer: '/components/schemas/basic-error'}});
  }

  /** A deep copy of one of the description's examples. */
  example<T = unknown>(name: string): T {
    const examples = (this.doc as unknown as {components: {examples: Record<string, {value: unknown}>}}).components
      .examples;
    const e = examples[name];
    if (!e) throw new Error(`no example ${name} in GitHub's API description`);
    return structuredClone(e.value) as T;
  }
}

let shared: GitHubApiDescription | undefined;
/** One parsed description per test process (13 MB of JSON). */
export function githubApiDescription(): GitHubApiDescription {
  shared ??= new GitHubApiDescription();
  return shared;
}
