import {ActionIO} from './io.js';

/**
 * Inputs renamed so that one idea has one name across the actions (README: Naming). The old name keeps
 * working: when a workflow still gives it, its value is used and a deprecation warning says what to
 * write instead. Old names carry no default in action.yml, so a value there was given on purpose.
 */
export const RENAMED: Record<string, Record<string, string>> = {
  scan: {images: 'targets'},
  sign: {'signature-annotations': 'annotations'},
  'ghcr-cleanup': {'github-token': 'token', 'verify-after': 'verify'}
};

/** `io` reading each renamed input under its new name, falling back to the old one with a warning. */
export function withRenamedInputs(io: ActionIO, action: string): ActionIO {
  const renamed = RENAMED[action] ?? {};
  const warned = new Set<string>();
  return {
    ...io,
    input: (name, opts) => {
      const old = renamed[name];
      if (old !== undefined) {
        const given = io.input(old, opts);
        if (given !== '') {
          if (!warned.has(old)) {
            warned.add(old);
            io.log.warning(
              `${old}: this input is now called ${name}; rename it in the workflow (the old name still works for now).`
            );
          }
          return given;
        }
      }
      return io.input(name, opts);
    }
  };
}
