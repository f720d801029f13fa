import {describe, expect, test} from '@jest/globals';
import {UserError} from '../../src/shared/errors.js';
import {parseFlavor} from '../../src/shared/tag/flavor.js';
import {parseImages} from '../../src/shared/tag/images.js';
import {parseAnnotationLevels} from '../../src/shared/tag/meta.js';
import {parseTagLine, parseTags} from '../../src/shared/tag/spec.js';

describe('tag lines', () => {
  const good: Array<[string, string, Record<string, string>]> = [
    [
      'type=semver,pattern={{version}}',
      'semver',
      {pattern: '{{version}}', value: '', match: '', enable: 'true', priority: '900'}
    ],
    ['foo', 'raw', {value: 'foo', enable: 'true', priority: '200'}],
    ['type=sha', 'sha', {prefix: 'sha-', format: 'short', enable: 'true', priority: '100'}],
    ['type=ref,event=pr', 'ref', {event: 'pr', prefix: 'pr-', enable: 'true', priority: '600'}],
    [
      'type=match,"pattern=v(\\d.\\d)",group=1',
      'match',
      {pattern: 'v(\\d.\\d)', group: '1', value: '', enable: 'true', priority: '800'}
    ],
    ['type=env', 'env', {value: '{{environment}}', pattern: '{{env}}', enable: 'true', priority: '750'}],
    ['type=raw,value=a=b', 'raw', {value: 'a=b', enable: 'true', priority: '200'}]
  ];
  test.each(good)('%s', (line, type, attrs) => {
    const spec = parseTagLine(line);
    expect(spec.type).toBe(type);
    expect(spec.attrs).toEqual(attrs);
  });

  const bad: Array<[string, RegExp]> = [
    [
      'type=version,pattern=x',
      /tags: unknown tag type "version" in "type=version,pattern=x"\. Allowed types: schedule, semver/
    ],
    ['type=semver', /type=semver needs a pattern attribute/],
    ['type=ref', /type=ref needs a event attribute/],
    ['type=ref,event=push', /unknown event "push".*Allowed events: branch, tag, pr/],
    ['type=sha,format=medium', /unknown format "medium"/],
    ['type=match,pattern=x,group=one', /group "one" is not a number/],
    ['type=raw,value=x,priority=high', /priority "high" is not a number/],
    ['type=raw,value=x,kind=sometimes', /unknown kind "sometimes"/]
  ];
  test.each(bad)('%s is refused', (line, message) => {
    expect(() => parseTagLine(line)).toThrow(UserError);
    expect(() => parseTagLine(line)).toThrow(message);
  });

  test('unknown attributes warn instead of being silently ignored', () => {
    const {warnings} = parseTags(['type=sha,formt=long']);
    expect(warnings).toEqual([expect.stringContaining('attribute "formt" is not used by type=sha')]);
  });

  test('priority order, stable for equal priorities', () => {
    const {specs} = parseTags(['type=raw,value=a', 'type=sha', 'type=raw,value=b', 'type=semver,pattern={{major}}']);
    expect(specs.map(s => s.attrs.value ?? s.type)).toEqual(['', 'a', 'b', 'sha']);
  });

  test('empty input gives the default rules', () => {
    expect(parseTags([]).specs.map(s => `${s.type}:${s.attrs.event ?? ''}`)).toEqual([
      'schedule:',
      'ref:branch',
      'ref:tag',
      'ref:pr'
    ]);
  });
});

describe('flavor', () => {
  test('parses every key', () => {
    expect(parseFlavor(['latest=false', 'prefix=a-,onlatest=true', 'suffix=-b'])).toEqual({
      latest: 'false',
      prefix: 'a-',
      prefixLatest: true,
      suffix: '-b',
      suffixLatest: false
    });
  });
  test.each([
    ['latest=sometimes', /latest=sometimes is not allowed/],
    ['colour=blue', /unknown key "colour"/],
    ['prefix', /"prefix" is not key=value/]
  ])('%s is refused', (line, message) => {
    expect(() => parseFlavor([line])).toThrow(message);
  });
});

describe('images', () => {
  test.each([
    ['ghcr.io/acme/app:1.0', /includes a tag or digest/],
    ['ghcr.io/acme/my app', /is not a valid image name/],
    ['name=,enable=true', /the image name is empty/],
    ['name=a/b,colour=red', /unknown attribute "colour"/]
  ])('%s is refused', (line, message) => {
    expect(() => parseImages([line])).toThrow(message);
  });
  test('comma-separated single line (old form)', () => {
    expect(parseImages(['a/b,ghcr.io/C/D']).map(i => i.name)).toEqual(['a/b', 'ghcr.io/c/d']);
  });
});

describe('annotation levels', () => {
  test('accepts the buildx levels', () => {
    expect(parseAnnotationLevels('manifest,index,index-descriptor,manifest[linux/amd64]')).toHaveLength(4);
  });
  test('refuses anything else', () => {
    expect(() => parseAnnotationLevels('manifest,layer')).toThrow(/"layer" is not an annotation level/);
  });
});
