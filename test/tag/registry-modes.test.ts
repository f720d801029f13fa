import path from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import semver from 'semver';
import {aliasMayMove, releasedVersions} from '../../src/shared/tag/registry-modes.js';
import {multiPlatformFixture} from '../helpers/images.js';
import {
  IMPLEMENTATIONS,
  Implementation,
  Registry,
  allImplementations,
  skopeo,
  startRegistry
} from '../helpers/registry.js';
import {ROOT, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';

describe('highest-of-line decisions', () => {
  const existing = releasedVersions(['1.4.0', 'v1.5.2', '2.0.0', '2.1.0-rc.1', 'latest', 'sha-abc', '1']);
  test.each<[string, Parameters<typeof aliasMayMove>[1], boolean]>([
    ['2.0.1', {scope: 'all'}, true],
    ['1.5.3', {scope: 'all'}, false],
    ['1.5.3', {scope: 'major', major: 1}, true],
    ['1.4.9', {scope: 'major', major: 1}, false],
    ['1.4.9', {scope: 'minor', major: 1, minor: 4}, true],
    ['2.0.0', {scope: 'all'}, true]
  ])('%s moving %j: %s', (version, line, expected) => {
    expect(aliasMayMove(version, line, existing)).toBe(expected);
  });
  test('pre-releases and non-versions are not counted', () => {
    expect(releasedVersions(['2.1.0-rc.1', 'edge', 'v3']).map(v => v.version)).toEqual([]);
    expect(semver.valid('1.5.2')).toBe('1.5.2');
  });
});

// Against each registry implementation the tests run (none of them ours).
const ready = allImplementations() && !!requireTool('skopeo');
const maybe = ready ? test : test.skip;
const regs: Partial<Record<Implementation, Registry>> = {};

beforeAll(async () => {
  if (!ready) return;
  const f = multiPlatformFixture({seed: 'modes'});
  for (const impl of IMPLEMENTATIONS) {
    const reg = (await startRegistry('none', impl)) as Registry;
    regs[impl] = reg;
    for (const t of ['1.4.0', '2.0.0'])
      await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${f.dir}:v1`, `docker://${reg.host}/app:${t}`]);
  }
}, 60000);
afterAll(async () => {
  for (const r of Object.values(regs)) await r?.stop();
});

describe.each(IMPLEMENTATIONS)('the tag action reading the registry (%s)', impl => {
  const reg = (): Registry => regs[impl] as Registry;
  const release = (version: string, inputs: Record<string, string>) =>
    runBundledAction(
      'tag',
      {images: `${reg().host}/app`, ...inputs},
      {
        GITHUB_EVENT_NAME: 'push',
        GITHUB_EVENT_PATH: path.join(ROOT, 'test', 'fixtures', 'events', 'push-tag.json'),
        GITHUB_REF: `refs/tags/v${version}`,
        GITHUB_SHA: '90dd6032fac8bda1b6c4436a2e65de27961ed071',
        SOURCE_DATE_EPOCH: '1767225600'
      }
    );
  const tags =
    'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=semver,pattern={{major}}';
  maybe('latest=highest: a patch to an old line keeps its own aliases but not latest', async () => {
    const run = await release('1.4.1', {tags, flavor: 'latest=highest'});
    expect(run.code).toBe(0);
    expect(run.outputs['tag-names'].split('\n')).toEqual(['1.4.1', '1.4', '1']);
  });
  maybe('latest=highest: the newest release takes latest', async () => {
    const run = await release('2.0.1', {tags, flavor: 'latest=highest'});
    expect(run.outputs['tag-names'].split('\n')).toEqual(['2.0.1', '2.0', '2', 'latest']);
  });
  maybe('immutable: an existing version tag fails the step before any push', async () => {
    const run = await release('2.0.0', {tags: 'type=semver,pattern={{version}}', immutable: '*.*.*'});
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      new RegExp(
        `::error::immutable: these tags already exist on another digest and must not move: ${reg().host.replace(/\./g, '\\.')}/app:2\\.0\\.0`
      )
    );
  });
  maybe('immutable: a new version passes', async () => {
    const run = await release('2.0.2', {tags: 'type=semver,pattern={{version}}', immutable: '*.*.*'});
    expect(run.code).toBe(0);
  });
});
