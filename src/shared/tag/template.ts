import Handlebars from 'handlebars';
import {UserError, errorMessage} from '../errors.js';
import {formatDate} from './datefmt.js';

type HelperOptions = {hash?: Record<string, unknown>};
export type Helper = (...args: unknown[]) => string;

const hb = Handlebars.create();

/** Renders a handlebars template; a syntax error becomes a UserError for `input`, quoting `line`. */
export function render(template: string, data: unknown, helpers: Record<string, Helper>, where: string): string {
  try {
    return hb.compile(template)(data, {helpers});
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${where}: ${err.message}`);
    throw new UserError(`${where}: cannot render "${template}": ${errorMessage(err).split('\n')[0]}`);
  }
}

/** A {{date 'format' tz='Zone'}}-style helper for one instant. */
export function dateHelper(date: Date): Helper {
  return (...args: unknown[]): string => {
    const options = args[args.length - 1] as HelperOptions;
    const format = args.length > 1 && typeof args[0] === 'string' ? args[0] : undefined;
    let tz = 'UTC';
    for (const [key, value] of Object.entries(options?.hash ?? {})) {
      if (key !== 'tz') throw new UserError(`unknown date attribute "${key}" (only tz= is allowed)`);
      tz = String(value);
    }
    return formatDate(date, format, tz);
  };
}

/** Whether a pattern is exactly {{raw}} (kept as written for pre-releases). */
export function isRawStatement(pattern: string): boolean {
  try {
    const ast = Handlebars.parseWithoutProcessing(pattern);
    const only = ast.body.length === 1 ? ast.body[0] : undefined;
    if (only?.type !== 'MustacheStatement') return false;
    const path = (only as hbs.AST.MustacheStatement).path as hbs.AST.PathExpression;
    return path.parts?.length === 1 && path.parts[0] === 'raw';
  } catch {
    return false;
  }
}

/** The handlebars variables a pattern mentions, e.g. ["major", "minor"]. */
export function patternVariables(pattern: string): string[] {
  try {
    const ast = Handlebars.parseWithoutProcessing(pattern);
    return ast.body
      .filter((s): s is hbs.AST.MustacheStatement => s.type === 'MustacheStatement')
      .map(s => (s.path as hbs.AST.PathExpression).original)
      .filter((p): p is string => typeof p === 'string');
  } catch {
    return [];
  }
}
