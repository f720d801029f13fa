import {UserError} from '../errors.js';
import {globToRegExp} from '../glob.js';
import {isImmutableTag} from './kind.js';

/** A tag test: a glob (default) or a regular expression (use-regex), or a tag kind. */
export type TagMatcher = (tag: string) => boolean;

/**
 * A matcher for a list of patterns: globs (`*`, `?`), or regular expressions with useRegex (anchored),
 * plus `kind:immutable` and `kind:floating`, which use the same classification as the tag action.
 */
export function tagMatcher(input: string, patterns: string[], useRegex: boolean): TagMatcher | undefined {
  if (patterns.length === 0) return undefined;
  const tests = patterns.map((p): TagMatcher => {
    if (p === 'kind:immutable') return isImmutableTag;
    if (p === 'kind:floating') return t => !isImmutableTag(t);
    if (!useRegex) {
      const re = globToRegExp(p);
      return t => re.test(t);
    }
    const re = compileRegex(input, p);
    return t => re.test(t);
  });
  return tag => tests.some(t => t(tag));
}

export function compileRegex(input: string, pattern: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    throw new UserError(
      `${input}: "${pattern}" is not a valid regular expression (${(err as Error).message}). With use-regex, give one pattern per line.`
    );
  }
}
