import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {Clouds, STS_KEY, startClouds} from '../helpers/clouds.js';
import {Fixture, multiPlatformFixture} from '../helpers/images.js';
import {Proxy, startProxy} from '../helpers/proxy.js';
import {Registry, TokenServer, startRegistry, startTokenServer} from '../helpers/registry.js';
import {errorLines, pushResults, runBundledAction} from '../helpers/run-action.js';
import {requireTool} from '../helpers/tools.js';
import {startForwardProxy} from '../helpers/proxy.js';

const ready = !!requireTool('docker-registry');
const maybe = ready ? test : test.skip;
const CLOUD_PASSWORD = 'cloud-issued-registry-password';

let clouds: Clouds;
let ecr: Registry;
let gar: Registry;
let acrTokens: TokenServer;
let acr: Registry;
let acrProxy: Proxy;
let fixture: Fixture;

const results = pushResults;
const errors = errorLines;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: `${clouds.url}/oidc?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runtime-token',
    AWS_ENDPOINT_URL_ECR: clouds.url,
    AWS_ENDPOINT_URL_STS: clouds.url,
    AWS_EC2_METADATA_DISABLED: 'true',
    AZURE_AUTHORITY_HOST: clouds.url,
    REGISTRY_ACTIONS_GCP_STS_URL: `${clouds.url}/v1/token`,
    REGISTRY_ACTIONS_GCP_IAM_URL: clouds.url,
    ...extra
  };
}

beforeAll(async () => {
  if (!ready) return;
  clouds = await startClouds(CLOUD_PASSWORD);
  acrTokens = await startTokenServer({anonymousPull: false, refreshTokens: {'acr-refresh-token': 'acr-user'}});
  [ecr, gar, acr] = (await Promise.all([
    startRegistry({users: [['AWS', CLOUD_PASSWORD]]}),
    startRegistry({users: [['oauth2accesstoken', CLOUD_PASSWORD]]}),
    startRegistry({token: acrTokens})
  ])) as Registry[];
  acrProxy = await startProxy(acr.host);
  acrProxy.handlers.push({
    path: /^\/oauth2\/exchange$/,
    handle: (_req, res, body) => {
      const form = new URLSearchParams(body);
      const ok = form.get('grant_type') === 'access_token' && form.get('access_token') === 'aad-access-token';
      res.writeHead(ok ? 200 : 401, {'content-type': 'application/json'});
      res.end(JSON.stringify(ok ? {refresh_token: 'acr-refresh-token'} : {error: 'invalid'}));
    }
  });
  fixture = multiPlatformFixture({seed: 'clouds'});
}, 60000);

afterAll(async () => {
  await Promise.all([acrProxy, ecr, gar, acr, clouds, acrTokens].filter(Boolean).map(x => x.stop()));
});

describe('cloud registry logins through their real APIs (local servers)', () => {
  maybe('ECR: role assumed with the OIDC token, repository created, token from GetAuthorizationToken', async () => {
    const run = await runBundledAction(
      'push-multi',
      {
        source: `oci:${fixture.dir}:v1`,
        destinations: `${ecr.host}/team/app,provider=ecr,region=eu-west-1,role=arn:aws:iam::123456789012:role/push`,
        tags: 'v1',
        'create-repositories': 'true'
      },
      env()
    );
    expect({code: run.code, errors: errors(run)}).toEqual({code: 0, errors: []});
    const sts = clouds.requests.find(r => r.action === 'AssumeRoleWithWebIdentity');
    expect(new URLSearchParams(sts?.body).get('WebIdentityToken')).toBe('oidc-token-for-sts.amazonaws.com');
    expect(new URLSearchParams(sts?.body).get('RoleArn')).toBe('arn:aws:iam::123456789012:role/push');
    const ops = clouds.requests.filter(r => r.target).map(r => r.target?.split('.')[1]);
    expect(ops).toEqual(['DescribeRepositories', 'CreateRepository', 'GetAuthorizationToken']);
    for (const r of clouds.requests.filter(r => r.target)) expect(r.authorization).toContain(`Credential=${STS_KEY}/`);
    expect(clouds.ecrRepositories.has('team/app')).toBe(true);
    expect(run.stdout).toContain(`::add-mask::${CLOUD_PASSWORD}`);
  });

  maybe('sync into ECR: the role and region of its logins line create the mirror repository first', async () => {
    const source = (await startRegistry()) as Registry;
    try {
      const seeded = await runBundledAction('push-multi', {
        source: `oci:${fixture.dir}:v1`,
        destinations: `${source.host}/upstream/base`,
        tags: '1.0'
      });
      expect(seeded.code).toBe(0);
      const from = clouds.requests.length;
      const run = await runBundledAction(
        'sync',
        {
          config: `images:\n  - source: ${source.host}/upstream/base\n    destinations: ['${ecr.host}/mirror/{name}']\n`,
          logins: `${ecr.host},provider=ecr,region=eu-west-1,role=arn:aws:iam::123456789012:role/mirror`,
          'create-repositories': 'true'
        },
        env()
      );
      expect({code: run.code, errors: errors(run)}).toEqual({code: 0, errors: []});
      const sts = clouds.requests.slice(from).find(r => r.action === 'AssumeRoleWithWebIdentity');
      expect(new URLSearchParams(sts?.body).get('RoleArn')).toBe('arn:aws:iam::123456789012:role/mirror');
      expect(clouds.ecrRepositories.has('mirror/base')).toBe(true);
      expect(run.outputs.copied).toBe('1');
    } finally {
      await source.stop();
    }
  });

  maybe('ECR behind a proxy: STS, the ECR API and the registry are all reached through HTTP_PROXY', async () => {
    const fwd = await startForwardProxy();
    try {
      const from = clouds.requests.length;
      const run = await runBundledAction(
        'push-multi',
        {
          source: `oci:${fixture.dir}:v1`,
          destinations: `${ecr.host}/team/proxied,provider=ecr,region=eu-west-1,role=arn:aws:iam::123456789012:role/push`,
          tags: 'v1'
        },
        // The OIDC token comes from another host name, so the proxy's log tells it from the AWS calls.
        env({
          HTTP_PROXY: fwd.url,
          ACTIONS_ID_TOKEN_REQUEST_URL: `${clouds.url.replace('127.0.0.1', 'localhost')}/oidc?api-version=2.0`
        })
      );
      expect({code: run.code, errors: errors(run)}).toEqual({code: 0, errors: []});
      const ops = clouds.requests.slice(from).map(r => r.action ?? r.target?.split('.')[1]);
      expect(ops).toEqual(expect.arrayContaining(['AssumeRoleWithWebIdentity', 'GetAuthorizationToken']));
      const hosts = new Set(fwd.log.map(l => l.split(' ')[1].replace(/^http:\/\/([^/]+).*$/, '$1')));
      const aws = new URL(clouds.url).host;
      // The OIDC token request is @actions/core's own (it goes direct to loopback hosts); its host is named
      // localhost so that it is never taken for one of the AWS calls.
      expect([...hosts].filter(h => !h.startsWith('localhost')).sort()).toEqual([aws, ecr.host].sort());
    } finally {
      await fwd.stop();
    }
  });

  maybe('ECR Public: a SigV4-signed GetAuthorizationToken with the assumed role, user AWS', async () => {
    const from = clouds.requests.length;
    const run = await runBundledAction(
      'push-multi',
      {
        source: `oci:${fixture.dir}:v1`,
        destinations: `${ecr.host}/public/app,provider=ecr-public,role=arn:aws:iam::123456789012:role/push`,
        tags: 'v1'
      },
      env({AWS_ENDPOINT_URL_ECR_PUBLIC: clouds.url})
    );
    expect({code: run.code, errors: errors(run)}).toEqual({code: 0, errors: []});
    const call = clouds.requests.slice(from).find(r => r.target === 'SpencerFrontendService.GetAuthorizationToken');
    expect(call?.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${STS_KEY}/\\d{8}/us-east-1/ecr-public/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-target[a-z0-9;-]*, Signature=[0-9a-f]{64}$`
      )
    );
    expect(clouds.requests.slice(from).some(r => r.action === 'AssumeRoleWithWebIdentity')).toBe(true);
    expect(run.stdout).toContain(`::add-mask::${CLOUD_PASSWORD}`);
  });

  maybe('ECR with a role but no id-token permission fails at once with the permissions block', async () => {
    const run = await runBundledAction(
      'push-multi',
      {
        source: `oci:${fixture.dir}:v1`,
        destinations: `${ecr.host}/team/other,provider=ecr,region=eu-west-1,role=arn:aws:iam::123456789012:role/push`,
        tags: 'v1'
      },
      env({ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: ''})
    );
    expect(run.code).toBe(1);
    expect(results(run)[0].error).toMatch(/needs the id-token permission/);
    expect(run.stdout).toContain('id-token: write');
  });

  maybe('Artifact Registry: workload identity federation, then the service account token', async () => {
    const run = await runBundledAction(
      'push-multi',
      {
        source: `oci:${fixture.dir}:v1`,
        destinations: `${gar.host}/proj/repo/app,provider=gar,workload-identity-provider=projects/1/locations/global/workloadIdentityPools/gh/providers/gh,service-account=push@proj.iam.gserviceaccount.com`,
        tags: 'v1'
      },
      env()
    );
    expect({code: run.code, errors: errors(run)}).toEqual({code: 0, errors: []});
    const sts = clouds.requests.find(r => r.path === '/v1/token');
    expect(JSON.parse(sts?.body ?? '{}')).toMatchObject({
      audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh',
      subjectToken:
        'oidc-token-for-https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh'
    });
    const iam = clouds.requests.find(r => r.path.endsWith(':generateAccessToken'));
    expect(iam?.authorization).toBe('Bearer google-federated-token');
  });

  maybe(
    'ACR: Azure AD token exchanged at /oauth2/exchange for a refresh token, used with the token service',
    async () => {
      const run = await runBundledAction(
        'push-multi',
        {
          source: `oci:${fixture.dir}:v1`,
          destinations: `${acrProxy.host}/team/app,provider=acr,tenant=tenant-1,client-id=client-1`,
          tags: 'v1'
        },
        env()
      );
      expect({code: run.code, errors: errors(run)}).toEqual({code: 0, errors: []});
      const aad = clouds.requests.find(r => r.path === '/tenant-1/oauth2/v2.0/token');
      expect(new URLSearchParams(aad?.body).get('client_assertion')).toBe('oidc-token-for-api://AzureADTokenExchange');
      expect(
        acrTokens.requests.some(r => r.user === 'acr-user' && r.scopes.includes('repository:team/app:pull,push'))
      ).toBe(true);
    }
  );
});
