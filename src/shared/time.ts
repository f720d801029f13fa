import {UserError} from './errors.js';

/**
 * The current time, pinned by SOURCE_DATE_EPOCH when it is set (reproducible builds, and tests).
 * An invalid value is a user error rather than a silent fallback to the clock.
 */
export function now(env: NodeJS.ProcessEnv = process.env): Date {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw.trim() === '') return new Date();
  const value = raw.trim();
  if (!/^\d{1,12}$/.test(value)) {
    throw new UserError(
      `SOURCE_DATE_EPOCH: "${raw}" is not a Unix timestamp. Set it to whole seconds since 1970-01-01 UTC (for example $(git log -1 --format=%ct)) or unset it.`
    );
  }
  return new Date(Number(value) * 1000);
}
