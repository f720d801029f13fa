import fs from 'node:fs';
import path from 'node:path';
import {SPECS} from './vendor-spec.js';

/**
 * An AWS service's Smithy model (JSON AST, test/fixtures/vendor-specs/aws-ecr), used to hold the ECR emulator to
 * it: an operation must exist, its request and answer must fit the shapes (known members only, required
 * members present, types, enum values, list members, ranges and lengths), and an error must be one the
 * operation declares — or one of AWS's common errors (ThrottlingException), which every service answers.
 */

interface Shape {
  type: string;
  members?: Record<string, {target: string; traits?: Record<string, unknown>}>;
  member?: {target: string};
  key?: {target: string};
  value?: {target: string};
  traits?: Record<string, unknown>;
  input?: {target: string};
  output?: {target: string};
  errors?: Array<{target: string}>;
}

/** Errors AWS documents for every API (https://docs.aws.amazon.com/ecr/latest/APIReference/CommonErrors.html). */
export const AWS_COMMON_ERRORS = ['ThrottlingException', 'AccessDeniedException', 'ValidationError'];

export class SmithyModel {
  private readonly shapes: Record<string, Shape>;

  constructor(
    file: string,
    private readonly ns: string
  ) {
    this.shapes = (
      JSON.parse(fs.readFileSync(path.join(SPECS, file), 'utf8')) as {shapes: Record<string, Shape>}
    ).shapes;
  }

  private shape(target: string): Shape | undefined {
    if (target.startsWith('smithy.api#')) return {type: target.slice('smithy.api#'.length).toLowerCase()};
    return this.shapes[target];
  }

  operation(name: string): Shape | undefined {
    const s = this.shapes[`${this.ns}#${name}`];
    return s?.type === 'operation' ? s : undefined;
  }

  /** What is wrong with `value` as the shape `target`; [] when nothing. */
  check(target: string, value: unknown, at = '$'): string[] {
    const s = this.shape(target);
    if (!s) return [`${at}: unknown shape ${target}`];
    const t = s.traits ?? {};
    switch (s.type) {
      case 'structure': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`];
        const o = value as Record<string, unknown>;
        const out: string[] = [];
        for (const k of Object.keys(o)) {
          const m = s.members?.[k];
          if (!m) out.push(`${at}.${k}: not a member of ${target}`);
          else if (o[k] !== null && o[k] !== undefined) out.push(...this.check(m.target, o[k], `${at}.${k}`));
        }
        for (const [k, m] of Object.entries(s.members ?? {}))
          if (m.traits?.['smithy.api#required'] !== undefined && o[k] === undefined) out.push(`${at}.${k}: required`);
        return out;
      }
      case 'list': {
        if (!Array.isArray(value)) return [`${at}: expected a list`];
        const len = t['smithy.api#length'] as {min?: number; max?: number} | undefined;
        const out = value.flatMap((v, i) => this.check(s.member?.target ?? '', v, `${at}[${i}]`));
        if (len?.min !== undefined && value.length < len.min) out.push(`${at}: fewer than ${len.min} items`);
        if (len?.max !== undefined && value.length > len.max) out.push(`${at}: more than ${len.max} items`);
        return out;
      }
      case 'map':
        if (typeof value !== 'object' || value === null) return [`${at}: expected a map`];
        return Object.entries(value).flatMap(([k, v]) => this.check(s.value?.target ?? '', v, `${at}.${k}`));
      case 'string': {
        if (typeof value !== 'string') return [`${at}: expected a string`];
        const len = t['smithy.api#length'] as {min?: number; max?: number} | undefined;
        const pattern = t['smithy.api#pattern'] as string | undefined;
        if (len?.min !== undefined && value.length < len.min) return [`${at}: shorter than ${len.min}`];
        if (len?.max !== undefined && value.length > len.max) return [`${at}: longer than ${len.max}`];
        if (pattern && !new RegExp(pattern).test(value)) return [`${at}: does not match ${pattern}`];
        return [];
      }
      case 'enum': {
        const values = Object.values(s.members ?? {}).map(m => m.traits?.['smithy.api#enumValue']);
        return values.includes(value) ? [] : [`${at}: "${String(value)}" is not one of ${values.join(', ')}`];
      }
      case 'timestamp':
        // awsJson: epoch seconds
        return typeof value === 'number' ? [] : [`${at}: expected epoch seconds`];
      case 'integer':
      case 'long': {
        if (typeof value !== 'number' || !Number.isInteger(value)) return [`${at}: expected an integer`];
        const range = t['smithy.api#range'] as {min?: number; max?: number} | undefined;
        if (range?.min !== undefined && value < range.min) return [`${at}: below ${range.min}`];
        if (range?.max !== undefined && value > range.max) return [`${at}: above ${range.max}`];
        return [];
      }
      case 'float':
      case 'double':
        return typeof value === 'number' ? [] : [`${at}: expected a number`];
      case 'boolean':
        return typeof value === 'boolean' ? [] : [`${at}: expected a boolean`];
      case 'unit':
        return [];
      default:
        return [];
    }
  }

  /** Checks a request body for `operation`. */
  checkRequest(operation: string, body: unknown): string[] {
    const op = this.operation(operation);
    if (!op) return [`${operation}: no such operation in the model`];
    return op.input ? this.check(op.input.target, body, `${operation} request`) : [];
  }

  /** Checks an answer: the output shape, or an error the operation declares (or a common one). */
  checkResponse(operation: string, status: number, body: unknown): string[] {
    const op = this.operation(operation);
    if (!op) return [`${operation}: no such operation in the model`];
    if (status === 200) return op.output ? this.check(op.output.target, body, `${operation} response`) : [];
    const type =
      String((body as {__type?: string}).__type ?? '')
        .split('#')
        .pop() ?? '';
    const declared = (op.errors ?? []).map(e => e.target.split('#')[1]);
    return declared.includes(type) || AWS_COMMON_ERRORS.includes(type)
      ? []
      : [`${operation}: error ${type || '(none)'} is not declared (${declared.join(', ')})`];
  }
}
