import fs from 'node:fs';
import path from 'node:path';
import {Ajv, ValidateFunction} from 'ajv';
import addFormatsModule from 'ajv-formats';
import YAML from 'yaml';
import {ROOT} from './run-action.js';

/**
 * A vendor's published API description (Swagger 2.0 or OpenAPI 3, from test/fixtures/vendor-specs/), used to hold
 * an emulator to it: a route must be documented with that method, a status documented for it (or the
 * description's `default`), and a JSON body must validate against the documented schema. Exceptions are
 * named routes the vendor serves but leaves out of the file (Docker Hub's tag delete).
 */

/** The vendors' published API descriptions, kept in the repository with their origin (ORIGIN.md there). */
export const SPECS = path.join(ROOT, 'test', 'fixtures', 'vendor-specs');

interface Response {
  $ref?: string;
  schema?: unknown;
  content?: Record<string, {schema?: unknown}>;
}
interface Operation {
  responses: Record<string, Response>;
}
interface Description {
  swagger?: string;
  openapi?: string;
  basePath?: string;
  paths: Record<string, Record<string, Operation>>;
  responses?: Record<string, Response>;
  components?: {responses?: Record<string, Response>};
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** Statuses a vendor answers on any route without documenting each, with the schema of their body. */
export interface GenericErrors {
  statuses: Set<string>;
  /** JSON pointer of the error body's schema in the description. */
  pointer: string;
}

export class VendorApiDescription {
  protected readonly doc: Description;
  private readonly ajv: Ajv;
  private readonly base: string;
  private readonly routes: Array<{template: string; method: string; re: RegExp; literal: number}>;
  private readonly compiled = new Map<string, ValidateFunction>();

  private readonly exceptions: string[];
  private readonly generic?: GenericErrors;

  /**
   * `file` relative to test/fixtures/vendor-specs (or absolute); `exceptions`: undocumented "METHOD /template" routes
   * the vendor serves; `generic`: statuses any route may answer (GitHub's 401, 403, 404, 429…);
   * `multiSegment`: path parameters that may hold slashes (ACR's repository {name}).
   */
  constructor(
    readonly file: string,
    o: {exceptions?: string[]; generic?: GenericErrors; multiSegment?: string[]} = {}
  ) {
    this.exceptions = o.exceptions ?? [];
    this.generic = o.generic;
    const multi = new Set(o.multiSegment ?? []);
    const text = fs.readFileSync(path.isAbsolute(file) ? file : path.join(SPECS, file), 'utf8');
    this.doc = (file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text)) as Description;
    this.base = (this.doc.basePath ?? '').replace(/\/+$/, '');
    this.ajv = new Ajv({strict: false, allErrors: true, validateSchema: false});
    addFormats(this.ajv);
    // Formats some descriptions use that JSON Schema does not define (Harbor's "int"): names, not checks.
    for (const f of ['int', 'int32', 'int64', 'float', 'double']) this.ajv.addFormat(f, true);
    this.ajv.addSchema(this.doc as unknown as object, 'spec');
    const all = [
      ...Object.entries(this.doc.paths),
      ...this.exceptions.map(e => [e.split(' ')[1], {[e.split(' ')[0].toLowerCase()]: {responses: {}}}] as const)
    ];
    this.routes = all.flatMap(([template, ops]) =>
      Object.keys(ops)
        .filter(m => METHODS.has(m))
        .map(method => ({
          template: template as string,
          method: method.toUpperCase(),
          re: new RegExp(
            `^${this.base}${(template as string)
              .replace(/\?.*$/, '')
              .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
              .replace(/\{([^}]+)\}/g, (_m, name: string) => (multi.has(name) ? '.+?' : '[^/]+'))}/?$`
          ),
          literal: (template as string).replace(/\{[^}]+\}/g, '').length
        }))
    );
  }

  /** The documented route a request takes (the most specific template), or undefined. */
  route(method: string, pathname: string): string | undefined {
    return this.routes.filter(r => r.method === method && r.re.test(pathname)).sort((a, b) => b.literal - a.literal)[0]
      ?.template;
  }

  private validator(pointer: string): ValidateFunction {
    let v = this.compiled.get(pointer);
    if (!v) {
      v = this.ajv.compile({$ref: `spec#${pointer}`});
      this.compiled.set(pointer, v);
    }
    return v;
  }

  /**
   * What is wrong with an answer, as the description has it; [] when nothing. `exception` names why an
   * undocumented status is allowed here (its body then checked as a generic error).
   */
  check(method: string, pathname: string, status: number, body: unknown, exception?: string): string[] {
    const where = `${method} ${pathname} → ${status}`;
    const template = this.route(method, pathname);
    if (!template) return [`${where}: no such route in ${path.basename(this.file)}`];
    if (this.exceptions.includes(`${method} ${template}`)) return [];
    const esc = (x: string): string => x.replace(/~/g, '~0').replace(/\//g, '~1');
    const op = this.doc.paths[template][method.toLowerCase()];
    const s = String(status);
    const key = op.responses[s] ? s : op.responses.default ? 'default' : undefined;
    if (!key && this.generic && (this.generic.statuses.has(s) || exception))
      return this.validate(this.generic.pointer, body, where);
    if (!key) return [`${where}: status ${s} is not documented for ${method} ${template}`];
    let response = op.responses[key];
    let base = `/paths/${esc(template)}/${method.toLowerCase()}/responses/${key}`;
    if (response.$ref) {
      base = response.$ref.slice(1);
      const name = response.$ref.split('/').pop() as string;
      response = (this.doc.responses ?? this.doc.components?.responses ?? {})[name] ?? {};
    }
    let pointer: string | undefined;
    if (response.schema) pointer = `${base}/schema`;
    else if (response.content?.['application/json']?.schema)
      pointer = `${base}/content/${esc('application/json')}/schema`;
    if (!pointer) return body === undefined || body === '' ? [] : [`${where}: the description documents no body here`];
    return this.validate(pointer, body, where);
  }

  private validate(pointer: string, body: unknown, where: string): string[] {
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
