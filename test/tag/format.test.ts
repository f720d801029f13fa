import {describe, expect, test} from '@jest/globals';
import {formatDate} from '../../src/shared/tag/datefmt.js';
import {normalizePep440, parsePep440} from '../../src/shared/tag/pep440.js';
import {buildTime as now} from '../../src/shared/tag/build-time.js';

describe('moment-compatible date formats', () => {
  const d = new Date('2020-01-10T00:30:05.123Z');
  test.each<[string | undefined, string, string]>([
    ['YYYYMMDD', 'UTC', '20200110'],
    ['YYYYMMDD-HHmmss', 'Asia/Tokyo', '20200110-093005'],
    ['YYYY-MM-DDTHH:mm:ss.SSS[Z]', 'UTC', '2020-01-10T00:30:05.123Z'],
    [undefined, 'UTC', '2020-01-10T00:30:05Z'],
    [undefined, 'Asia/Tokyo', '2020-01-10T09:30:05+09:00'],
    [undefined, 'America/New_York', '2020-01-09T19:30:05-05:00'],
    ['dddd, MMMM Do YYYY, h:mm:ss a', 'UTC', 'Friday, January 10th 2020, 12:30:05 am'],
    ['YY Q M D DDD DDDD W WW E d', 'UTC', '20 1 1 10 10 010 2 02 5 5'],
    ['X x', 'UTC', '1578616205 1578616205123'],
    ['[YYYY] ZZ', 'Asia/Kolkata', 'YYYY +0530']
  ])('%s in %s', (format, tz, expected) => {
    expect(formatDate(d, format, tz)).toBe(expected);
  });
});

describe('PEP 440', () => {
  test.each([
    ['v1.1.1', '1.1.1'],
    ['1.1beta2', '1.1b2'],
    ['1.0dev4', '1.0.dev4'],
    ['1.2post1', '1.2.post1'],
    ['1.2.3rc2', '1.2.3rc2'],
    ['1!2.0-alpha.3.post-4.dev5+Local_7', '1!2.0a3.post4.dev5+local.7'],
    ['1.0-1', '1.0.post1']
  ])('%s normalises to %s', (input, expected) => {
    const v = parsePep440(input);
    expect(v).not.toBeNull();
    expect(normalizePep440(v!)).toBe(expected);
  });
  test.each(['sometag', '1.2.3-beta.x', 'v1..2'])('%s is not PEP 440', input => {
    expect(parsePep440(input)).toBeNull();
  });
});

describe('SOURCE_DATE_EPOCH', () => {
  test('pins the time', () => {
    expect(now({SOURCE_DATE_EPOCH: '1578616200'}).toISOString()).toBe('2020-01-10T00:30:00.000Z');
  });
  test('an invalid value is refused with the fix', () => {
    expect(() => now({SOURCE_DATE_EPOCH: 'yesterday'})).toThrow(
      /SOURCE_DATE_EPOCH: "yesterday" is not a Unix timestamp/
    );
  });
});
