/**
 * A mistake the user can fix: bad input, a missing permission, a missing tool. Entry points print its
 * message without a stack trace; anything else is our bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Formats a user error about one input, quoting the offending line and saying what is allowed. */
export function inputError(input: string, line: string, problem: string, allowed?: string): UserError {
  const quoted = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  return new UserError(`${input}: ${problem} in "${quoted}".${allowed ? ` ${allowed}` : ''}`);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
