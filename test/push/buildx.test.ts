import {describe, expect, test} from '@jest/globals';
import {BuildOptions, buildxCommand} from '../../src/shared/push/buildx.js';

const base: BuildOptions = {
  context: '.',
  platforms: [],
  buildArgs: [],
  labels: [],
  annotations: [],
  cacheFrom: [],
  cacheTo: [],
  output: '/tmp/out/image.tar',
  secretEnvs: []
};

describe('buildx arguments', () => {
  test('the minimal build writes an OCI tarball', () => {
    expect(buildxCommand(base)).toEqual({
      command: 'docker',
      args: ['buildx', 'build', '--provenance=mode=min', '--output', 'type=oci,dest=/tmp/out/image.tar', '.']
    });
  });
  test('every option, in a stable order, labels and annotations from the tag action', () => {
    const cmd = buildxCommand({
      ...base,
      context: 'app',
      file: 'app/Dockerfile',
      platforms: ['linux/amd64', 'linux/arm64'],
      target: 'runtime',
      builder: 'ci',
      buildArgs: ['VERSION=1.2.3'],
      labels: ['org.opencontainers.image.version=1.2.3'],
      annotations: ['index:org.opencontainers.image.version=1.2.3'],
      cacheFrom: ['type=gha'],
      cacheTo: ['type=gha,mode=max'],
      secretEnvs: ['npmrc=NPM_TOKEN']
    });
    expect(cmd.args).toEqual([
      'buildx',
      'build',
      '--builder',
      'ci',
      '--file',
      'app/Dockerfile',
      '--platform',
      'linux/amd64,linux/arm64',
      '--target',
      'runtime',
      '--build-arg',
      'VERSION=1.2.3',
      '--label',
      'org.opencontainers.image.version=1.2.3',
      '--annotation',
      'index:org.opencontainers.image.version=1.2.3',
      '--cache-from',
      'type=gha',
      '--cache-to',
      'type=gha,mode=max',
      '--secret',
      'id=npmrc,env=NPM_TOKEN',
      '--provenance=mode=min',
      '--output',
      'type=oci,dest=/tmp/out/image.tar',
      'app'
    ]);
    expect(cmd.args.join(' ')).not.toContain('NPM_TOKEN=');
  });
  test.each([
    [{buildArgs: ['VERSION']}, /build-args: "VERSION" is not NAME=value/],
    [{secretEnvs: ['npmrc=token value']}, /secret-envs: "npmrc=token value" is not id=ENV_NAME/],
    [{context: ''}, /context: give the build context/]
  ])('%j is refused', (o, message) => {
    expect(() => buildxCommand({...base, ...o})).toThrow(message);
  });
});
