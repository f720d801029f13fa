import {inputError} from '../errors.js';
import {parseFields} from '../inputs.js';

export const LATEST_MODES = ['auto', 'true', 'false', 'highest'] as const;
export type LatestMode = (typeof LATEST_MODES)[number];

export interface Flavor {
  latest: LatestMode;
  prefix: string;
  prefixLatest: boolean;
  suffix: string;
  suffixLatest: boolean;
}

/** Parses the `flavor` input (latest, prefix, suffix, onlatest), as metadata-action does. */
export function parseFlavor(lines: string[]): Flavor {
  const flavor: Flavor = {latest: 'auto', prefix: '', prefixLatest: false, suffix: '', suffixLatest: false};
  for (const line of lines) {
    let onLatestFor: 'prefix' | 'suffix' | '' = '';
    for (const field of parseFields(line)) {
      const parts = field.split('=').map(s => s.trim());
      if (parts.length === 1) {
        throw inputError(
          'flavor',
          line,
          `"${field}" is not key=value`,
          'Allowed keys: latest, prefix, suffix, onlatest.'
        );
      }
      const key = parts[0].toLowerCase();
      const value = parts[1];
      switch (key) {
        case 'latest':
          if (!(LATEST_MODES as readonly string[]).includes(value)) {
            throw inputError(
              'flavor',
              line,
              `latest=${value} is not allowed`,
              `Use one of ${LATEST_MODES.join(', ')}.`
            );
          }
          flavor.latest = value as LatestMode;
          break;
        case 'prefix':
          flavor.prefix = value;
          onLatestFor = 'prefix';
          break;
        case 'suffix':
          flavor.suffix = value;
          onLatestFor = 'suffix';
          break;
        case 'onlatest':
          if (value !== 'true' && value !== 'false') {
            throw inputError('flavor', line, `onlatest=${value} is not allowed`, 'Use true or false.');
          }
          if (onLatestFor === 'prefix') flavor.prefixLatest = value === 'true';
          if (onLatestFor === 'suffix') flavor.suffixLatest = value === 'true';
          break;
        default:
          throw inputError('flavor', line, `unknown key "${key}"`, 'Allowed keys: latest, prefix, suffix, onlatest.');
      }
    }
  }
  return flavor;
}
