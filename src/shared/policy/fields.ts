import {UserError} from '../errors.js';

/** A YAML mapping as parsed, before it is checked. */
export type Raw = Record<string, unknown>;

/** The error for a bad field of a YAML input: the input, where in it, what is wrong, how to fix it. */
export function fieldError(input: string, where: string, what: string, fix?: string): UserError {
  return new UserError(`${input}: ${where}: ${what}.${fix ? ` ${fix}` : ''}`);
}

/** Refuses keys a mapping does not know (a typo must not silently weaken a rule). */
export function unknownKeys(input: string, o: Raw, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k))
      throw fieldError(input, where, `unknown key "${k}"`, `Known keys: ${allowed.join(', ')}.`);
  }
}

/** A mapping, or the error naming where one was expected. */
export function mapping(input: string, raw: unknown, where: string, expected: string): Raw {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fieldError(input, where, `expected a mapping (${expected})`);
  return raw as Raw;
}

/** Checks a regular expression compiles. */
export function regexp(input: string, value: string, where: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw fieldError(input, where, `not a regular expression (${(err as Error).message})`);
  }
}
