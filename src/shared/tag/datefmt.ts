import {UserError} from '../errors.js';

/**
 * Formats a date with moment.js format tokens (what metadata-action users write in {{date '…'}}), in
 * an IANA time zone, using the runtime's Intl data instead of shipping a time-zone database.
 */

interface Parts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  weekday: number; // 0 = Sunday
  offsetMinutes: number; // local - UTC
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December'
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric'
      });
    } catch {
      throw new UserError(`unknown time zone "${timeZone}": use an IANA name such as UTC, Europe/Paris or Asia/Tokyo`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

function partsIn(date: Date, timeZone: string): Parts {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') {
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      millisecond: date.getUTCMilliseconds(),
      weekday: date.getUTCDay(),
      offsetMinutes: 0
    };
  }
  const fields: Record<string, number> = {};
  for (const p of zoneFormatter(timeZone).formatToParts(date)) {
    if (p.type !== 'literal') fields[p.type] = Number(p.value);
  }
  const asUtc = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second);
  const offsetMinutes = Math.round((asUtc - (date.getTime() - date.getUTCMilliseconds())) / 60000);
  return {
    year: fields.year,
    month: fields.month,
    day: fields.day,
    hour: fields.hour,
    minute: fields.minute,
    second: fields.second,
    millisecond: date.getUTCMilliseconds(),
    weekday: new Date(Date.UTC(fields.year, fields.month - 1, fields.day)).getUTCDay(),
    offsetMinutes
  };
}

const pad = (n: number, width: number): string => String(Math.abs(n)).padStart(width, '0');

function ordinal(n: number): string {
  const b = n % 100;
  if (b >= 11 && b <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

function dayOfYear(p: Parts): number {
  return Math.round((Date.UTC(p.year, p.month - 1, p.day) - Date.UTC(p.year, 0, 1)) / 86400000) + 1;
}

function isoWeek(p: Parts): {week: number; year: number} {
  const d = new Date(Date.UTC(p.year, p.month - 1, p.day));
  const dow = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - dow);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  return {week: Math.ceil(((d.getTime() - yearStart) / 86400000 + 1) / 7), year: d.getUTCFullYear()};
}

function offset(p: Parts, sep: string): string {
  const sign = p.offsetMinutes < 0 ? '-' : '+';
  const m = Math.abs(p.offsetMinutes);
  return `${sign}${pad(Math.floor(m / 60), 2)}${sep}${pad(m % 60, 2)}`;
}

type TokenFn = (p: Parts, date: Date) => string;

const TOKENS: Record<string, TokenFn> = {
  YYYY: p => pad(p.year, 4),
  YY: p => pad(p.year % 100, 2),
  Y: p => String(p.year),
  Q: p => String(Math.ceil(p.month / 3)),
  MMMM: p => MONTHS[p.month - 1],
  MMM: p => MONTHS[p.month - 1].slice(0, 3),
  MM: p => pad(p.month, 2),
  Mo: p => ordinal(p.month),
  M: p => String(p.month),
  DDDD: p => pad(dayOfYear(p), 3),
  DDDo: p => ordinal(dayOfYear(p)),
  DDD: p => String(dayOfYear(p)),
  DD: p => pad(p.day, 2),
  Do: p => ordinal(p.day),
  D: p => String(p.day),
  dddd: p => DAYS[p.weekday],
  ddd: p => DAYS[p.weekday].slice(0, 3),
  dd: p => DAYS[p.weekday].slice(0, 2),
  do: p => ordinal(p.weekday),
  d: p => String(p.weekday),
  e: p => String(p.weekday),
  E: p => String(p.weekday || 7),
  WW: p => pad(isoWeek(p).week, 2),
  Wo: p => ordinal(isoWeek(p).week),
  W: p => String(isoWeek(p).week),
  GGGG: p => pad(isoWeek(p).year, 4),
  GG: p => pad(isoWeek(p).year % 100, 2),
  HH: p => pad(p.hour, 2),
  H: p => String(p.hour),
  hh: p => pad(p.hour % 12 || 12, 2),
  h: p => String(p.hour % 12 || 12),
  kk: p => pad(p.hour || 24, 2),
  k: p => String(p.hour || 24),
  mm: p => pad(p.minute, 2),
  m: p => String(p.minute),
  ss: p => pad(p.second, 2),
  s: p => String(p.second),
  A: p => (p.hour < 12 ? 'AM' : 'PM'),
  a: p => (p.hour < 12 ? 'am' : 'pm'),
  ZZ: p => offset(p, ''),
  Z: p => offset(p, ':'),
  X: (_p, d) => String(Math.floor(d.getTime() / 1000)),
  x: (_p, d) => String(d.getTime())
};

// Longest tokens first, so that "YYYY" wins over "YY" and "Y".
const TOKEN_RE = new RegExp(
  `(\\[[^\\[]*\\])|(S{1,9})|(${Object.keys(TOKENS)
    .sort((a, b) => b.length - a.length)
    .join('|')})|([\\s\\S])`,
  'g'
);

/** moment(date).tz(timeZone).format(format): undefined format gives moment's ISO default. */
export function formatDate(date: Date, format: string | undefined, timeZone = 'UTC'): string {
  const p = partsIn(date, timeZone);
  const fmt = format ?? (p.offsetMinutes === 0 ? 'YYYY-MM-DDTHH:mm:ss[Z]' : 'YYYY-MM-DDTHH:mm:ssZ');
  return fmt.replace(TOKEN_RE, (_all, literal?: string, fraction?: string, token?: string, other?: string) => {
    if (literal !== undefined) return literal.slice(1, -1);
    if (fraction !== undefined) return pad(p.millisecond, 3).padEnd(fraction.length, '0').slice(0, fraction.length);
    if (token !== undefined) return TOKENS[token](p, date);
    return other ?? '';
  });
}
