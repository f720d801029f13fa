import http from 'node:http';
import net from 'node:net';

export interface CloudRequest {
  path: string;
  target?: string;
  action?: string;
  authorization?: string;
  body: string;
}

export interface Clouds {
  url: string;
  requests: CloudRequest[];
  /** Repositories the fake ECR knows. */
  ecrRepositories: Set<string>;
  stop(): Promise<void>;
}

export const STS_KEY = 'ASIAFAKEASSUMEDKEY01';

/**
 * Local servers speaking the cloud APIs the logins use, on one port: the Actions OIDC token endpoint,
 * AWS STS (query protocol, XML) and ECR (JSON 1.1), Azure AD's token endpoint, Google STS and IAM
 * credentials. `registryPassword` is what each hands out as the registry password.
 */
export async function startClouds(registryPassword: string): Promise<Clouds> {
  const requests: CloudRequest[] = [];
  const ecrRepositories = new Set<string>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', d => (body += d));
    req.on('end', () => {
      const path = req.url ?? '/';
      const target = req.headers['x-amz-target'] as string | undefined;
      const form = new URLSearchParams(body);
      const record: CloudRequest = {
        path,
        target,
        action: form.get('Action') ?? undefined,
        authorization: req.headers.authorization,
        body
      };
      requests.push(record);
      const json = (status: number, obj: unknown, type = 'application/json'): void => {
        res.writeHead(status, {'content-type': type});
        res.end(JSON.stringify(obj));
      };
      if (path.startsWith('/oidc')) {
        const audience = new URL(path, 'http://x').searchParams.get('audience');
        return json(200, {value: `oidc-token-for-${audience}`});
      }
      if (target === 'SpencerFrontendService.GetAuthorizationToken') {
        return json(
          200,
          {
            authorizationData: {
              authorizationToken: Buffer.from(`AWS:${registryPassword}`).toString('base64'),
              expiresAt: Date.now() / 1000 + 43200
            }
          },
          'application/x-amz-json-1.1'
        );
      }
      if (target?.startsWith('AmazonEC2ContainerRegistry_V20150921.')) {
        const op = target.split('.')[1];
        const input = JSON.parse(body || '{}') as {repositoryName?: string; repositoryNames?: string[]};
        const amz = 'application/x-amz-json-1.1';
        if (op === 'GetAuthorizationToken') {
          return json(
            200,
            {
              authorizationData: [
                {
                  authorizationToken: Buffer.from(`AWS:${registryPassword}`).toString('base64'),
                  expiresAt: Date.now() / 1000 + 43200,
                  proxyEndpoint: 'https://ecr.example'
                }
              ]
            },
            amz
          );
        }
        if (op === 'DescribeRepositories') {
          const name = input.repositoryNames?.[0] ?? '';
          if (!ecrRepositories.has(name))
            return json(
              400,
              {__type: 'RepositoryNotFoundException', message: `The repository with name '${name}' does not exist`},
              amz
            );
          return json(200, {repositories: [{repositoryName: name}]}, amz);
        }
        if (op === 'CreateRepository') {
          ecrRepositories.add(input.repositoryName ?? '');
          return json(
            200,
            {repository: {repositoryName: input.repositoryName, repositoryUri: `ecr.example/${input.repositoryName}`}},
            amz
          );
        }
        return json(400, {__type: 'UnknownOperationException'}, amz);
      }
      if (form.get('Action') === 'AssumeRoleWithWebIdentity') {
        res.writeHead(200, {'content-type': 'text/xml'});
        res.end(
          `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>${STS_KEY}</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-session</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><SubjectFromWebIdentityToken>repo:acme/app</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/push/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`
        );
        return;
      }
      if (/\/oauth2\/v2\.0\/token$/.test(path))
        return json(200, {access_token: 'aad-access-token', token_type: 'Bearer', expires_in: 3600});
      if (path === '/v1/token')
        return json(200, {access_token: 'google-federated-token', token_type: 'Bearer', expires_in: 3600});
      if (/:generateAccessToken$/.test(path))
        return json(200, {accessToken: registryPassword, expireTime: '2099-01-01T00:00:00Z'});
      json(404, {message: `no route for ${path}`});
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {url, requests, ecrRepositories, stop: () => new Promise(r => server.close(() => r()))};
}
