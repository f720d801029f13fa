import {describe, expect, test} from '@jest/globals';
import {tagKindOfName} from '../../src/shared/tag/kind.js';
import {Case, derive} from './helpers.js';

describe('tag names', () => {
  const cases: Array<[string, Case, string[]]> = [
    ['default rules on a branch', {ref: 'refs/heads/feature/x'}, ['feature-x']],
    ['default rules on a semver tag give latest', {ref: 'refs/tags/v1.2.3'}, ['v1.2.3', 'latest']],
    ['a pre-release git tag does not take latest through type=ref', {ref: 'refs/tags/v1.3.0-rc.1'}, ['v1.3.0-rc.1']],
    [
      'latest=true still gives a pre-release latest when asked',
      {ref: 'refs/tags/v1.3.0-rc.1', flavor: ['latest=true']},
      ['v1.3.0-rc.1', 'latest']
    ],
    ['pull request', {ref: 'refs/pull/42/merge', event: 'pull_request'}, ['pr-42']],
    [
      'semver aliases',
      {
        ref: 'refs/tags/v2.5.1',
        tags: [
          'type=semver,pattern={{version}}',
          'type=semver,pattern={{major}}.{{minor}}',
          'type=semver,pattern={{major}}'
        ]
      },
      ['2.5.1', '2.5', '2', 'latest']
    ],
    [
      'semver pre-release with a channel tag',
      {
        ref: 'refs/tags/v2.0.0-rc.3',
        tags: ['type=semver,pattern={{version}},channel=true', 'type=semver,pattern={{major}}']
      },
      ['2.0.0-rc.3', 'rc']
    ],
    [
      'named channel',
      {ref: 'refs/tags/v2.0.0-beta.1', tags: ['type=semver,pattern={{version}},channel=next']},
      ['2.0.0-beta.1', 'next']
    ],
    [
      'channel is not added to a release',
      {ref: 'refs/tags/v2.0.0', tags: ['type=semver,pattern={{version}},channel=true']},
      ['2.0.0', 'latest']
    ],
    [
      'monorepo prefix strips the component',
      {ref: 'refs/tags/app/v1.2.3', tagPrefix: 'app/', tags: ['type=semver,pattern={{version}}', 'type=ref,event=tag']},
      ['1.2.3', 'v1.2.3', 'latest']
    ],
    [
      'monorepo prefix ignores other components',
      {ref: 'refs/tags/db/v9.9.9', tagPrefix: 'app/', tags: ['type=semver,pattern={{version}}', 'type=sha']},
      ['sha-0123456']
    ],
    ['environment tag', {ref: 'refs/heads/main', tags: ['type=env'], environment: 'staging'}, ['staging']],
    [
      'combined environment and version',
      {ref: 'refs/tags/v1.4.0', tags: ['type=env,pattern={{env}}-{{version}}', 'type=env'], environment: 'prod'},
      ['prod-1.4.0', 'prod']
    ],
    ['fixed environment name', {ref: 'refs/heads/main', tags: ['type=env,value=dev']}, ['dev']],
    ['no environment, no env tag', {ref: 'refs/heads/main', tags: ['type=env', 'type=sha']}, ['sha-0123456']],
    [
      'latest is never emitted twice',
      {ref: 'refs/tags/v1.0.0', tags: ['type=semver,pattern={{version}}', 'type=raw,value=latest']},
      ['1.0.0', 'latest']
    ],
    [
      'flavor prefix expressions render on latest',
      {ref: 'refs/tags/v1.0.0', tags: ['type=semver,pattern={{version}}'], flavor: ['prefix={{tag}}-,onlatest=true']},
      ['v1.0.0-1.0.0', 'v1.0.0-latest']
    ],
    [
      'semver match without a capture group uses the whole match',
      {ref: 'refs/tags/release-1.2.3', tags: ['type=semver,pattern={{version}},match=\\d+\\.\\d+\\.\\d+']},
      ['1.2.3', 'latest']
    ],
    ['branch names are sanitised', {ref: 'refs/heads/Fix/Bug#12', tags: ['type=ref,event=branch']}, ['Fix-Bug-12']]
  ];
  test.each(cases)('%s', (_name, c, expected) => {
    expect(derive(c).tagNames).toEqual(expected);
  });
});

describe('classification', () => {
  test('immutable versions and sha, floating aliases, branches and latest', () => {
    const meta = derive({
      ref: 'refs/tags/v3.1.4',
      tags: [
        'type=semver,pattern={{version}}',
        'type=semver,pattern={{major}}.{{minor}}',
        'type=semver,pattern={{major}}',
        'type=sha',
        'type=raw,value=stable',
        'type=raw,value=build-7,kind=immutable'
      ]
    });
    const kinds = Object.fromEntries(meta.classified.map(t => [t.tag, t.kind]));
    expect(kinds).toEqual({
      '3.1.4': 'immutable',
      '3.1': 'floating',
      '3': 'floating',
      'sha-0123456': 'immutable',
      stable: 'floating',
      'build-7': 'immutable',
      latest: 'floating'
    });
    const aliases = Object.fromEntries(meta.classified.map(t => [t.tag, t.alias]));
    expect(aliases['3.1']).toEqual({scope: 'minor', major: 3, minor: 1});
    expect(aliases['3']).toEqual({scope: 'major', major: 3});
    expect(aliases.latest).toEqual({scope: 'all'});
    expect(meta.classified[0].ref).toBe('ghcr.io/acme/app:3.1.4');
  });

  // ghcr-cleanup sees only names: its kind:immutable|floating must agree with how this action classified
  // the tags it derived (without a kind= override), for every built-in tag type.
  test.each<[string, string, string[]]>([
    [
      'release',
      'refs/tags/v3.1.4',
      [
        'type=semver,pattern={{version}}',
        'type=semver,pattern={{major}}.{{minor}}',
        'type=semver,pattern={{major}}',
        'type=semver,pattern={{version}},prefix=v',
        'type=sha',
        'type=sha,format=long',
        'type=ref,event=tag',
        'type=pep440,pattern={{version}}',
        'type=raw,value=stable',
        'type=env,value=prod'
      ]
    ],
    [
      'pre-release',
      'refs/tags/v2.0.0-rc.3',
      ['type=semver,pattern={{version}},channel=true', 'type=ref,event=tag', 'type=sha']
    ],
    [
      'branch',
      'refs/heads/feature/x',
      ['type=ref,event=branch', 'type=edge,branch=feature/x', 'type=sha', 'type=schedule']
    ],
    ['schedule', 'refs/heads/main', ["type=schedule,pattern={{date 'YYYYMMDD'}}", 'type=raw,value=nightly']]
  ])('name classification agrees with the derived kinds: %s', (_n, ref, tags) => {
    const meta = derive({ref, tags});
    expect(meta.classified.length).toBeGreaterThan(0);
    for (const t of meta.classified)
      expect({tag: t.tag, kind: tagKindOfName(t.tag)}).toEqual({tag: t.tag, kind: t.kind});
  });

  test('latest=highest marks latest and the semver aliases', () => {
    const meta = derive({
      ref: 'refs/tags/v1.2.3',
      tags: ['type=semver,pattern={{version}}', 'type=semver,pattern={{major}}'],
      flavor: ['latest=highest']
    });
    expect(meta.classified.filter(t => t.highest).map(t => t.tag)).toEqual(['1', 'latest']);
  });
});

describe('images', () => {
  test('image names are lowercased, disabled images dropped', () => {
    const meta = derive({ref: 'refs/heads/main', images: ['ghcr.io/Acme/App', 'name=docker.io/acme/app,enable=false']});
    expect(meta.tags).toEqual(['ghcr.io/acme/app:main']);
  });
});

describe('refusals', () => {
  const cases: Array<[string, Case, RegExp]> = [
    [
      'a tag over 128 characters',
      {ref: 'refs/heads/main', tags: [`type=raw,value=${'a'.repeat(129)}`]},
      /129 characters long; registries accept at most 128/
    ],
    [
      'a tag starting with a dot',
      {ref: 'refs/heads/main', tags: ['type=raw,value=.hidden']},
      /must start with a letter, digit or _/
    ],
    [
      'enable that is not a boolean',
      {ref: 'refs/heads/main', tags: ['type=raw,value=x,enable=maybe']},
      /enable must render to true or false/
    ],
    [
      'an unknown date attribute',
      {ref: 'refs/heads/main', tags: ["type=raw,value={{date 'YYYY' zone='UTC'}}"]},
      /unknown date attribute "zone"/
    ],
    [
      'an unknown time zone',
      {ref: 'refs/heads/main', tags: ["type=raw,value={{date 'YYYY' tz='Mars/Base'}}"]},
      /unknown time zone "Mars\/Base"/
    ],
    ['a broken template', {ref: 'refs/heads/main', tags: ['type=raw,value={{branch']}, /cannot render "\{\{branch"/]
  ];
  test.each(cases)('%s', (_name, c, message) => {
    expect(() => derive(c)).toThrow(message);
  });
});
