import {UserError} from '../errors.js';

/**
 * The build's time for what the tag action writes (the created label, {{date}}): SOURCE_DATE_EPOCH
 * when it is set (reproducible builds), else the clock. Only for that: anything that judges age or
 * expiry (scan's ignore expiry and DB freshness, cleanup's older-than) uses the real clock, since a
 * reproducible build pins SOURCE_DATE_EPOCH to a past commit. An invalid value is a user error.
 */
export function buildTime(env: NodeJS.ProcessEnv = process.env): Date {
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
