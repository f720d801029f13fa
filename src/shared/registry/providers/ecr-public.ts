import crypto from 'node:crypto';
import {UserError, errorMessage} from '../../errors.js';
import {Credential} from '../auth.js';
import {ProviderContext} from './context.js';
import {AwsCredentials, assumeRole, authorizationToken} from './ecr.js';
import {httpFetch} from '../../http.js';

/** ECR Public's API lives in us-east-1 only, whatever region the images are served from. */
const REGION = 'us-east-1';

/** SHA-256 and HMAC-SHA-256 in the shape the SigV4 signer expects. */
class NodeSha256 {
  private h: crypto.Hash | crypto.Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = this.fresh();
  }
  private fresh(): crypto.Hash | crypto.Hmac {
    return this.secret === undefined ? crypto.createHash('sha256') : crypto.createHmac('sha256', toBuffer(this.secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.fresh();
  }
}

function toBuffer(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}

export interface EcrPublicOptions {
  registry: string;
  roleArn?: string;
}

/**
 * Registry credentials for public.ecr.aws from ECR Public's GetAuthorizationToken, signed with SigV4
 * (credentials from the environment's default chain, or a role assumed with the workflow's OIDC token).
 */
export async function ecrPublicCredential(opts: EcrPublicOptions, ctx: ProviderContext): Promise<Credential> {
  try {
    const assumed: AwsCredentials | undefined = await assumeRole(
      {registry: opts.registry, roleArn: opts.roleArn},
      REGION,
      ctx
    );
    const {defaultProvider} = await import('@aws-sdk/credential-provider-node');
    const {SignatureV4} = await import('@smithy/signature-v4');
    const credentials = assumed ?? (await defaultProvider()());
    const endpoint = new URL(
      ctx.env.AWS_ENDPOINT_URL_ECR_PUBLIC ||
        ctx.env.AWS_ENDPOINT_URL ||
        `https://api.ecr-public.${REGION}.amazonaws.com/`
    );
    const signer = new SignatureV4({credentials, region: REGION, service: 'ecr-public', sha256: NodeSha256});
    const body = '{}';
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port ? Number(endpoint.port) : undefined,
      path: endpoint.pathname,
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'SpencerFrontendService.GetAuthorizationToken'
      },
      body
    });
    const res = await httpFetch(endpoint, {method: 'POST', headers: signed.headers as Record<string, string>, body});
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    const token = (JSON.parse(text) as {authorizationData?: {authorizationToken?: string}}).authorizationData
      ?.authorizationToken;
    if (!token) throw new Error('no authorization data');
    return authorizationToken(token, ctx);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `${opts.registry}: ECR Public GetAuthorizationToken failed (${errorMessage(err)}). Give AWS credentials allowed ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken (AWS_* variables, aws-actions/configure-aws-credentials, or role=<arn> with id-token: write).`
    );
  }
}
