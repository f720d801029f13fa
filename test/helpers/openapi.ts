import fs from 'node:fs';
import path from 'node:path';
import {Ajv, ValidateFunction} from 'ajv';
import addFormatsModule from 'ajv-formats';
import {ROOT} from './run-action.js';

/**
 * GitHub's published REST API description (npm @octokit/openapi, api.github.com), used to hold our
 * GitHub emulator to the real API: a route must exist there with that method, and every JSON body the
 * emulator answers must validate against the schema documented for that route and status. The
 * emulator's objects start from the description's own examples, so the fields we do not set look as
 * GitHub's do.
 */
interface Operation {
  responses: Record<string, {$ref?: string; content?: Record<string, {schema?: unknown}>}>;
}
interface Description {
  paths: Record<string, Record<string, Operation>>;
  components: {
    responses: Record<string, {content?: Record<string, {schema?: unknown}>}>;
    examples: Record<string, {value: unknown}>;
  };
}

const FILE = path.join(ROOT, 'node_modules', '@octokit', 'openapi', 'generated', 'api.github.com.json');
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Statuses GitHub answers on any route (auth, rate limits, missing things, outages): a Basic Error body. */
const GENERIC = new Set(['401', '403', '404', '429', '500', '502', '503']);

export class GitHubApiDescription {
  private readonly doc: Description;
  private readonly ajv: Ajv;
  private readonly routes: Array<{template: string; method: string; re: RegExp; literal: number}>;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    this.doc = JSON.parse(fs.readFileSync(FILE, 'utf8')) as Description;
    this.ajv = new Ajv({strict: false, allErrors: true, validateSchema: false});
    addFormats(this.ajv);
    this.ajv.addSchema(this.doc as unknown as object, 'gh');
    this.routes = Object.entries(this.doc.paths).flatMap(([template, ops]) =>
      Object.keys(ops).map(method => ({
        template,
        method: method.toUpperCase(),
        re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
        literal: template.replace(/\{[^}]+\}/g, '').length
      }))
    );
  }

  /** The documented route a request takes (the most specific template), or undefined. */
  route(method: string, pathname: string): string | undefined {
    return this.routes.filter(r => r.method === method && r.re.test(pathname)).sort((a, b) => b.literal - a.literal)[0]
      ?.template;
  }

  /** A deep copy of one of the description's examples. */
  example<T = unknown>(name: string): T {
    const e = this.doc.components.examples[name];
    if (!e) throw new Error(`no example ${name} in GitHub's API description`);
    return structuredClone(e.value) as T;
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.compiled.get(pointer);
    if (!v) {
      v = this.ajv.compile({$ref: `gh#${pointer}`});
      this.compiled.set(pointer, v);
    }
    return v;
  }

  /** What is wrong with an answer to `method pathname`, as the description has it; [] when nothing. */
  check(method: string, pathname: string, status: number, body: unknown, exception?: string): string[] {
    const where = `${method} ${pathname} → ${status}`;
    const template = this.route(method, pathname);
    if (!template) return [`${where}: no such route in GitHub's REST API description`];
    const op = this.doc.paths[template][method.toLowerCase()];
    const s = String(status);
    let response = op.responses[s];
    let pointer: string;
    const esc = (x: string): string => x.replace(/~/g, '~0').replace(/\//g, '~1');
    if (!response) {
      if (!GENERIC.has(s) && !exception) return [`${where}: status ${s} is not documented for ${method} ${template}`];
      pointer = '/components/schemas/basic-error';
    } else {
      let base = `/paths/${esc(template)}/${method.toLowerCase()}/responses/${s}`;
      if (response.$ref) {
        base = response.$ref.slice(1);
        response = this.doc.components.responses[response.$ref.split('/').pop() as string];
      }
      const json = response.content?.['application/json'];
      if (!json?.schema) {
        return body === undefined || body === '' ? [] : [`${where}: the description documents no body here`];
      }
      pointer = `${base}/content/${esc('application/json')}/schema`;
    }
    const encoded = pointer
      .split('/')
      .map(p => encodeURIComponent(p))
      .join('/');
    const validate = this.validator(encoded);
    if (validate(body)) return [];
    return (validate.errors ?? [])
      .slice(0, 5)
      .map(e => `${where}: ${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
}

let shared: GitHubApiDescription | undefined;
/** One parsed description per test process (13 MB of JSON). */
export function githubApiDescription(): GitHubApiDescription {
  shared ??= new GitHubApiDescription();
  return shared;
}
