import {code, fit, heading, table} from '../summary.js';
import {Metadata} from './meta.js';

/** The tag action's job summary: every reference with its kind and the rule that made it. Pure. */
export function tagSummary(meta: Metadata): string {
  return fit(
    [
      heading(`tag: ${meta.classified.length} reference(s)`),
      table(
        ['reference', 'kind', 'from'],
        meta.classified.map(t => [code(t.ref), t.kind, t.type])
      )
    ],
    'the tags output has every reference'
  );
}
