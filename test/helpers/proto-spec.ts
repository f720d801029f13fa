import fs from 'node:fs';
import path from 'node:path';
import {SPECS} from './vendor-spec.js';

/**
 * Artifact Registry's published API description is its protos (test/fixtures/vendor-specs/google-artifact-registry):
 * the REST routes are the google.api.http annotations of service.proto, the JSON bodies the messages in
 * lowerCamelCase (proto3 JSON mapping). This reads both, enough to hold an emulator to them: a request
 * must take a documented route, and an answer must be the documented message, with known fields of the
 * right JSON type (well-known types as the JSON mapping writes them).
 */

interface Field {
  name: string;
  json: string;
  type: string;
  repeated: boolean;
  map?: {key: string; value: string};
}

const WELL_KNOWN: Record<string, (v: unknown) => boolean> = {
  'google.protobuf.Timestamp': v => typeof v === 'string' && !Number.isNaN(Date.parse(v)),
  'google.protobuf.Duration': v => typeof v === 'string' && /^-?\d+(\.\d+)?s$/.test(v),
  'google.protobuf.Struct': v => typeof v === 'object' && v !== null && !Array.isArray(v),
  'google.protobuf.FieldMask': v => typeof v === 'string',
  'google.protobuf.Empty': v => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
  // google.longrunning.Operation (google/longrunning/operations.proto, not among the files): its JSON form.
  'google.longrunning.Operation': v =>
    typeof v === 'object' &&
    v !== null &&
    Object.keys(v).every(k => ['name', 'metadata', 'done', 'error', 'response'].includes(k))
};

const SCALAR: Record<string, (v: unknown) => boolean> = {
  string: v => typeof v === 'string',
  bytes: v => typeof v === 'string',
  bool: v => typeof v === 'boolean',
  int32: v => Number.isInteger(v),
  uint32: v => Number.isInteger(v),
  // 64-bit integers are strings in proto3 JSON (numbers are accepted on input).
  int64: v => (typeof v === 'string' ? /^-?\d+$/.test(v) : Number.isInteger(v)),
  uint64: v => (typeof v === 'string' ? /^\d+$/.test(v) : Number.isInteger(v)),
  double: v => typeof v === 'number',
  float: v => typeof v === 'number'
};

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

export class ProtoDescription {
  private readonly messages = new Map<string, Field[]>();
  private readonly enums = new Map<string, string[]>();
  private readonly routes: Array<{method: string; re: RegExp; rpc: string; output: string; literal: number}> = [];

  constructor(dir: string, files: string[]) {
    for (const f of files) this.parse(fs.readFileSync(path.join(SPECS, dir, f), 'utf8'));
  }

  private parse(text: string): void {
    const src = text.replace(/\/\/[^\n]*/g, '');
    // Messages and enums, nested ones named Outer.Inner.
    const walk = (body: string, prefix: string): void => {
      const re = /(message|enum)\s+(\w+)\s*\{/g;
      let m: RegExpExecArray | null;
      while ((m = re.exec(body))) {
        let depth = 1;
        let i = re.lastIndex;
        while (depth && i < body.length) {
          if (body[i] === '{') depth++;
          else if (body[i] === '}') depth--;
          i++;
        }
        const inner = body.slice(re.lastIndex, i - 1);
        const name = `${prefix}${m[2]}`;
        if (m[1] === 'enum') {
          this.enums.set(
            name,
            [...inner.matchAll(/(\w+)\s*=\s*\d+/g)].map(x => x[1])
          );
        } else {
          walk(inner, `${name}.`);
          // This message's own fields: drop nested blocks, keep oneof members.
          let own = inner;
          for (;;) {
            const next = own
              .replace(/(message|enum)\s+\w+\s*\{[^{}]*\}/g, '')
              .replace(/option\s*\([^)]*\)\s*=\s*\{[^{}]*\};/g, '');
            if (next === own) break;
            own = next;
          }
          own = own.replace(/oneof\s+\w+\s*\{([^{}]*)\}/g, '$1');
          const fields: Field[] = [];
          for (const f of own.matchAll(/(repeated\s+)?(map<\s*(\w+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*\d+/g)) {
            if (f[2] === 'option' || f[2] === 'reserved') continue;
            fields.push({
              name: f[5],
              json: camel(f[5]),
              type: f[3] ? 'map' : f[2],
              repeated: !!f[1],
              ...(f[3] ? {map: {key: f[3], value: f[4]}} : {})
            });
          }
          this.messages.set(name, fields);
        }
        re.lastIndex = i;
      }
    };
    walk(src, '');
    // Each rpc up to the next one: its http rule's path holds braces of its own.
    for (const chunk of src.split(/\brpc\s+/).slice(1)) {
      const r = chunk.match(/^(\w+)\s*\(\s*[\w.]+\s*\)\s*returns\s*\(\s*([\w.]+)\s*\)([\s\S]*)$/);
      if (!r) continue;
      for (const h of r[3].matchAll(/(get|put|post|delete|patch)\s*:\s*"([^"]+)"/g)) {
        const template = h[2];
        // {name=projects/*/locations/*} → the pattern's segments; {parent} alone → one segment.
        const re = template
          .replace(/[.+?^$()|[\]\\]/g, '\\$&')
          .replace(/\{\w+=([^}]+)\}/g, (_m, pat: string) => pat.replace(/\*\*/g, '.+').replace(/\*/g, '[^/]+'))
          .replace(/\{\w+\}/g, '[^/]+');
        this.routes.push({
          method: h[1].toUpperCase(),
          re: new RegExp(`^${re}$`),
          rpc: r[1],
          output: r[2],
          literal: template.replace(/\{[^}]+\}/g, '').length
        });
      }
    }
  }

  /** The rpc a request takes, with the message it answers, or undefined. */
  route(method: string, pathname: string): {rpc: string; output: string} | undefined {
    const r = this.routes
      .filter(x => x.method === method && x.re.test(pathname))
      .sort((a, b) => b.literal - a.literal)[0];
    return r ? {rpc: r.rpc, output: r.output} : undefined;
  }

  private resolve(type: string, scope: string): string {
    if (WELL_KNOWN[type] || SCALAR[type]) return type;
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const name = [...parts.slice(0, i), type].join('.');
      if (this.messages.has(name) || this.enums.has(name)) return name;
    }
    return type;
  }

  /** What is wrong with `value` as message `type` in JSON form; [] when nothing. */
  check(type: string, value: unknown, at = '$'): string[] {
    if (WELL_KNOWN[type]) return WELL_KNOWN[type](value) ? [] : [`${at}: not a ${type} in JSON form`];
    if (SCALAR[type]) return SCALAR[type](value) ? [] : [`${at}: not a ${type}`];
    const values = this.enums.get(type);
    if (values) return values.includes(String(value)) ? [] : [`${at}: "${String(value)}" is not a value of ${type}`];
    const fields = this.messages.get(type);
    if (!fields) return [`${at}: unknown type ${type}`];
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return [`${at}: expected a ${type} object`];
    const out: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      const f = fields.find(x => x.json === k || x.name === k);
      if (!f) {
        out.push(`${at}.${k}: not a field of ${type}`);
        continue;
      }
      if (f.map) {
        if (typeof v !== 'object' || v === null) out.push(`${at}.${k}: expected a map`);
        else
          for (const [mk, mv] of Object.entries(v))
            out.push(...this.check(this.resolve(f.map.value, type), mv, `${at}.${k}.${mk}`));
        continue;
      }
      const t = this.resolve(f.type, type);
      if (f.repeated) {
        if (!Array.isArray(v)) out.push(`${at}.${k}: expected a list`);
        else v.forEach((x, i) => out.push(...this.check(t, x, `${at}.${k}[${i}]`)));
      } else out.push(...this.check(t, v, `${at}.${k}`));
    }
    return out;
  }
}
