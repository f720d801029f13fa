import {parse} from 'csv-parse/sync';
import {UserError} from './errors.js';

export interface ListOptions {
  /** Keep each line whole (commas belong to the entry) instead of splitting on commas. */
  ignoreComma?: boolean;
  /** Lines starting with this string are comments. */
  comment?: string;
}

/**
 * Splits a multi-line input into entries the way docker/metadata-action does: CSV records, one per
 * line, comments and empty lines dropped, entries trimmed. Relaxed quoting keeps quotes that appear
 * inside a field.
 */
export function parseList(input: string, opts: ListOptions = {}): string[] {
  if (input === '') return [];
  const records = parse(input, {
    columns: false,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    comment: opts.comment,
    comment_no_infix: opts.comment !== undefined
  }) as string[][];
  const out: string[] = [];
  for (const record of records) {
    if (record.length === 1) {
      out.push(...(opts.ignoreComma ? [record[0]] : record[0].split(',')));
    } else if (opts.ignoreComma) {
      out.push(record.join(','));
    } else {
      out.push(...record);
    }
  }
  return out.filter(item => item).map(item => item.trim());
}

/** Splits one entry into its comma-separated fields (CSV rules, so a field may be quoted). */
export function parseFields(line: string): string[] {
  const records = parse(line, {relax_column_count: true, skip_empty_lines: true, relax_quotes: true}) as string[][];
  return records.length > 0 ? records[0].map(String) : [];
}

const TRUE = new Set(['true', 'yes', '1', 'on']);
const FALSE = new Set(['false', 'no', '0', 'off', '']);

export function parseBoolean(name: string, value: string, fallback = false): boolean {
  const v = value.trim().toLowerCase();
  if (v === '') return fallback;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new UserError(`${name}: "${value}" is not a boolean. Use true or false.`);
}

export function parseInteger(
  name: string,
  value: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER
): number {
  const v = value.trim();
  if (v === '') return fallback;
  if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UserError(`${name}: "${value}" is not a whole number between ${min} and ${max}.`);
  }
  return Number(v);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1048576,
  mb: 1000000,
  mib: 1048576,
  g: 1073741824,
  gb: 1000000000,
  gib: 1073741824
};

/** A byte size: a number with an optional unit (B, KB/KiB, MB/MiB, GB/GiB; K, M, G are binary). */
export function parseSize(name: string, value: string, min = 1): number {
  const m = value.trim().match(/^(\d+(?:\.\d+)?)\s*([a-z]*)$/i);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined || Math.floor(Number(m[1]) * unit) < min) {
    throw new UserError(
      `${name}: "${value}" is not a size of at least ${min} bytes. Write a number with an optional unit, such as 16MiB or 100MB.`
    );
  }
  return Math.floor(Number(m[1]) * unit);
}

/**
 * The list rules every input follows, written once:
 * - lines: one entry per line, trimmed; empty lines and lines starting with # dropped. For entries
 *   that hold commas of their own (destinations and logins with their fields, key=value pairs).
 * - items: lines, each also split on commas (`a, b` on one line is two entries). For names,
 *   references, platforms and globs.
 * - patterns: items for globs, lines for regular expressions (a comma belongs to `^v\d{1,3}$`).
 * The tag action keeps metadata-action's CSV rules (parseList above) for drop-in compatibility.
 */
export function parseLines(input: string): string[] {
  return input
    .split(/\r?\n/)
    .map(s => s.trim())
    .filter(s => s && !s.startsWith('#'));
}

export function parseItems(input: string): string[] {
  return parseLines(input)
    .flatMap(line => line.split(','))
    .map(s => s.trim())
    .filter(Boolean);
}

export function parsePatterns(input: string, useRegex: boolean): string[] {
  return useRegex ? parseLines(input) : parseItems(input);
}
