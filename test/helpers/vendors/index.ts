import {Credential} from '../../../src/shared/registry/auth.js';
import {ApiRequest, Fault, VendorRegistry} from '../vendor-registry.js';
import {AAD_TOKEN, ACR_PUSH_PASSWORD, startAcr} from './acr.js';
import {ECR_PASSWORD, ecrOperation, startEcr} from './ecr.js';
import {HUB_PAT, HUB_USER, startDockerHub} from './dockerhub.js';
import {GAR_TOKEN, startGar} from './gar.js';
import {HARBOR_ROBOT, HARBOR_SECRET, startHarbor} from './harbor.js';

/** One registry backend of ghcr-cleanup with its emulator: how to start it, push to it, and point the action at it. */
export interface VendorCase {
  name: string;
  start(): Promise<VendorRegistry | undefined>;
  /** The first path segment of test repositories (a Harbor project, a Docker Hub namespace…). */
  namespace: string;
  /** How the tests push images to it. */
  credential: Credential;
  inputs(emu: VendorRegistry): Record<string, string>;
  env(emu: VendorRegistry): Record<string, string>;
  /** Whether its API lists untagged manifests. */
  untagged: boolean;
  /** Whether its API can make an image's deletion conditional on its tags (ECR by tag, GAR without force, Hub by tag). */
  conditionalDelete: boolean;
  /** Whether a request is one of its delete calls. */
  isDelete(r: ApiRequest): boolean;
  /** A throttling answer as the vendor sends it, on a route the run calls. */
  throttle: Omit<Fault, 'times'>;
  /** A server error on the second page of the listing. */
  secondPage: Omit<Fault, 'times'>;
}

export const VENDORS: VendorCase[] = [
  {
    name: 'ecr',
    start: startEcr,
    namespace: 'team',
    credential: {kind: 'basic', username: 'AWS', password: ECR_PASSWORD},
    inputs: emu => ({
      backend: 'ecr',
      'registry-url': emu.host,
      logins: `${emu.host},provider=ecr,region=eu-west-1`
    }),
    env: emu => ({
      AWS_ENDPOINT_URL_ECR: emu.url,
      AWS_ACCESS_KEY_ID: 'AKIAEMULATOR00000000',
      AWS_SECRET_ACCESS_KEY: 'emulator-secret',
      AWS_REGION: 'eu-west-1',
      AWS_MAX_ATTEMPTS: '4'
    }),
    untagged: true,
    conditionalDelete: true,
    // ECR's JSON API takes every call on POST /: the operation is in X-Amz-Target.
    isDelete: r => ecrOperation(r) === 'BatchDeleteImage',
    throttle: {
      method: 'POST',
      path: /^\/$/,
      when: r => ecrOperation(r) === 'BatchDeleteImage',
      status: 400,
      body: {__type: 'ThrottlingException', message: 'Rate exceeded'},
      headers: {'content-type': 'application/x-amz-json-1.1'}
    },
    secondPage: {
      method: 'POST',
      path: /^\/$/,
      when: r => ecrOperation(r) === 'DescribeImages' && !!JSON.parse(r.body.toString('utf8') || '{}').nextToken,
      status: 500,
      body: {__type: 'ServerException', message: 'internal error'},
      headers: {'content-type': 'application/x-amz-json-1.1'}
    }
  },
  {
    name: 'acr',
    start: startAcr,
    namespace: 'team',
    credential: {kind: 'basic', username: 'admin', password: ACR_PUSH_PASSWORD},
    inputs: emu => ({backend: 'acr', 'registry-url': emu.host, logins: `${emu.host},provider=acr`}),
    // The job's Azure AD token (workload identity gives it; AZURE_ACCESS_TOKEN stands in for it here).
    env: () => ({AZURE_ACCESS_TOKEN: AAD_TOKEN}),
    untagged: true,
    conditionalDelete: false,
    isDelete: r => r.method === 'DELETE' && /\/manifests\/sha256:/.test(r.url.pathname),
    throttle: {
      method: 'GET',
      path: /^\/acr\/v1\/.+\/_manifests$/,
      status: 429,
      headers: {'retry-after': '1', 'x-ms-error-code': 'TOOMANYREQUESTS'},
      body: {error: {code: 'TOOMANYREQUESTS', message: 'too many requests'}}
    },
    secondPage: {
      method: 'GET',
      path: /^\/acr\/v1\/.+\/_manifests$/,
      when: r => r.url.searchParams.has('last'),
      status: 500,
      body: {error: {code: 'INTERNAL', message: 'internal error'}}
    }
  },
  {
    name: 'harbor',
    start: startHarbor,
    namespace: 'library',
    credential: {kind: 'basic', username: HARBOR_ROBOT, password: HARBOR_SECRET},
    inputs: emu => ({
      backend: 'harbor',
      'registry-url': emu.host,
      logins: `${emu.host},username=${HARBOR_ROBOT},password-env=HARBOR_SECRET`
    }),
    env: () => ({HARBOR_SECRET}),
    untagged: true,
    conditionalDelete: false,
    isDelete: r => r.method === 'DELETE' && /\/artifacts\/sha256:[a-f0-9]+$/.test(r.url.pathname),
    // Harbor documents no rate limit: a proxy's 503 in front of it, once, on a delete.
    throttle: {
      method: 'DELETE',
      path: /\/artifacts\/sha256:/,
      status: 500,
      headers: {'x-request-id': 'req-throttled'},
      body: {errors: [{code: 'INTERNAL_SERVER_ERROR', message: 'try again'}]}
    },
    secondPage: {
      method: 'GET',
      path: /\/artifacts$/,
      when: r => r.url.searchParams.get('page') === '2',
      status: 500,
      body: {errors: [{code: 'INTERNAL_SERVER_ERROR', message: 'internal error'}]}
    }
  },
  {
    name: 'gar',
    start: startGar,
    namespace: 'acme-prod/images',
    credential: {kind: 'basic', username: 'oauth2accesstoken', password: GAR_TOKEN},
    inputs: emu => ({
      backend: 'gar',
      'registry-url': emu.host,
      'api-url': emu.url,
      logins: `${emu.host},provider=gar,location=europe-west1`
    }),
    // The Workload Identity access token (GOOGLE_OAUTH_ACCESS_TOKEN stands in for the exchange here).
    env: () => ({GOOGLE_OAUTH_ACCESS_TOKEN: GAR_TOKEN}),
    untagged: true,
    conditionalDelete: true,
    isDelete: r => r.method === 'DELETE' && /\/versions\//.test(r.url.pathname),
    throttle: {
      method: 'DELETE',
      path: /\/versions\//,
      status: 429,
      headers: {'retry-after': '1'},
      body: {error: {code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED'}}
    },
    secondPage: {
      method: 'GET',
      path: /\/dockerImages$/,
      when: r => !!r.url.searchParams.get('pageToken'),
      status: 500,
      body: {error: {code: 500, message: 'internal error', status: 'INTERNAL'}}
    }
  },
  {
    name: 'dockerhub',
    start: startDockerHub,
    namespace: 'acme',
    credential: {kind: 'basic', username: HUB_USER, password: HUB_PAT},
    inputs: emu => ({
      backend: 'dockerhub',
      'registry-url': emu.host,
      'api-url': emu.url,
      logins: `${emu.host},username=${HUB_USER},password-env=HUB_TOKEN`
    }),
    env: () => ({HUB_TOKEN: HUB_PAT}),
    untagged: false,
    conditionalDelete: true,
    isDelete: r => r.method === 'DELETE' && /\/tags\/[^/]+\/$/.test(r.url.pathname),
    // Hub's API rate limit: 429 with Retry-After.
    throttle: {
      method: 'DELETE',
      path: /\/tags\/[^/]+\/$/,
      status: 429,
      headers: {'retry-after': '1', 'x-ratelimit-remaining': '0'},
      body: {message: 'too many requests'}
    },
    secondPage: {
      method: 'GET',
      path: /\/tags$/,
      when: r => r.url.searchParams.get('page') === '2',
      status: 500,
      body: {message: 'internal error'}
    }
  }
];
