import {inputError} from '../errors.js';
import {parseFields} from '../inputs.js';
import {repositoryProblem, splitName} from '../registry/reference.js';

export interface ImageSpec {
  /** Lowercased image name (registry owners often have capitals; repository paths must not). */
  name: string;
  enable: boolean;
}

function validate(name: string, line: string): string {
  const lower = name.toLowerCase();
  if (/[:@]/.test(lower.slice(lower.indexOf('/') + 1))) {
    throw inputError(
      'images',
      line,
      `"${name}" includes a tag or digest`,
      'Give the image name only; tags come from the tags input.'
    );
  }
  const {registry, path} = splitName(lower);
  const problem = repositoryProblem(path);
  if (problem || !/^[a-z0-9.-]+(:\d+)?$/.test(registry)) {
    throw inputError(
      'images',
      line,
      `"${name}" is not a valid image name: ${problem ?? `bad registry host "${registry}"`}`
    );
  }
  return lower;
}

/** Parses the `images` input: "name" or "name=…,enable=…" entries, names lowercased and validated. */
export function parseImages(lines: string[]): ImageSpec[] {
  // A single line of plain names is the old comma-separated form.
  if (lines.length === 1) {
    const fields = parseFields(lines[0]);
    if (fields.every(f => !f.includes('='))) {
      return fields
        .map(f => f.trim())
        .filter(Boolean)
        .map(name => ({name: validate(name, lines[0]), enable: true}));
    }
  }
  return lines.map(line => {
    let name = '';
    let enable = true;
    for (const field of parseFields(line)) {
      const parts = field.split('=').map(s => s.trim());
      if (parts.length === 1) {
        name = parts[0];
        continue;
      }
      const key = parts[0].toLowerCase();
      if (key === 'name') name = parts[1];
      else if (key === 'enable') {
        if (parts[1] !== 'true' && parts[1] !== 'false') {
          throw inputError('images', line, `enable=${parts[1]} is not allowed`, 'Use true or false.');
        }
        enable = parts[1] === 'true';
      } else {
        throw inputError('images', line, `unknown attribute "${key}"`, 'Allowed attributes: name, enable.');
      }
    }
    if (!name) throw inputError('images', line, 'the image name is empty');
    return {name: validate(name, line), enable};
  });
}
