import {isIndex} from '../../../src/shared/registry/media.js';
import {SmithyModel} from '../smithy.js';
import {ApiContext, ApiRequest, RecordedManifest, VendorRegistry, startVendorRegistry} from '../vendor-registry.js';

/**
 * Amazon ECR, as the cleanup backend meets it: the ECR JSON 1.1 API (GetAuthorizationToken,
 * DescribeImages, ListImages, BatchDeleteImage) answered from what was pushed, and its registry API
 * with the password GetAuthorizationToken hands out. Every request and answer is checked against ECR's
 * Smithy model (../shared/specs/aws-ecr); the tests use the real AWS SDK against it.
 */

export const ECR_PASSWORD = 'ecr-emulator-password';
const TARGET = 'AmazonEC2ContainerRegistry_V20150921.';

/** The ECR operation of a request (X-Amz-Target). */
export const ecrOperation = (r: ApiRequest): string => String(r.headers['x-amz-target'] ?? '').replace(TARGET, '');

interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

export async function startEcr(): Promise<VendorRegistry | undefined> {
  const model = new SmithyModel('aws-ecr/ecr-2015-09-21.json', 'com.amazonaws.ecr');
  const basic = `Basic ${Buffer.from(`AWS:${ECR_PASSWORD}`).toString('base64')}`;
  return startVendorRegistry({
    registryAuth: a => a === basic,
    challenge: () => 'Basic realm="ecr-emulator"',
    api: (c: ApiContext, emu: VendorRegistry) => {
      const target = String(c.headers['x-amz-target'] ?? '');
      if (c.method !== 'POST' || c.url.pathname !== '/' || !target.startsWith(TARGET)) return false;
      const op = target.slice(TARGET.length);
      const input = JSON.parse(c.body.toString('utf8') || '{}') as Record<string, unknown>;
      emu.violations.push(...model.checkRequest(op, input));
      const reply = (status: number, body: unknown): void => {
        emu.violations.push(...model.checkResponse(op, status, body));
        c.answer(status, body, {'content-type': 'application/x-amz-json-1.1'});
      };
      const error = (type: string, message: string): void => reply(400, {__type: type, message});
      const repo = String(input.repositoryName ?? '');
      const images = emu.active(repo);
      const detail = (m: RecordedManifest): Record<string, unknown> => ({
        registryId: '123456789012',
        repositoryName: repo,
        imageDigest: m.digest,
        ...(m.tags.length ? {imageTags: [...m.tags]} : {}),
        imageSizeInBytes: m.body.length,
        imagePushedAt: m.pushedAt / 1000,
        imageManifestMediaType: m.mediaType,
        ...(JSON.parse(m.body.toString('utf8')).artifactType
          ? {artifactMediaType: JSON.parse(m.body.toString('utf8')).artifactType}
          : {})
      });
      const page = <T>(all: T[], requested: number): {items: T[]; nextToken?: string} => {
        const max = Math.min(requested, emu.maxPage);
        const start = Number(input.nextToken ?? 0);
        const items = all.slice(start, start + max);
        return {items, ...(start + max < all.length ? {nextToken: String(start + max)} : {})};
      };
      const filtered = (): RecordedManifest[] => {
        const status = (input.filter as {tagStatus?: string} | undefined)?.tagStatus ?? 'ANY';
        return images.filter(m => status === 'ANY' || (status === 'TAGGED') === m.tags.length > 0);
      };
      switch (op) {
        case 'GetAuthorizationToken':
          return (
            reply(200, {
              authorizationData: [
                {
                  authorizationToken: Buffer.from(`AWS:${ECR_PASSWORD}`).toString('base64'),
                  expiresAt: Date.now() / 1000 + 43200,
                  proxyEndpoint: emu.url
                }
              ]
            }),
            true
          );
        case 'DescribeImages': {
          if (!emu.repositories().includes(repo))
            return (error('RepositoryNotFoundException', `repository ${repo} not found`), true);
          const ids = input.imageIds as ImageId[] | undefined;
          if (ids) {
            const found = ids.map(id =>
              images.find(m => (id.imageDigest ? m.digest === id.imageDigest : m.tags.includes(id.imageTag ?? '')))
            );
            if (found.some(f => !f))
              return (error('ImageNotFoundException', 'the requested image does not exist'), true);
            return (reply(200, {imageDetails: (found as RecordedManifest[]).map(detail)}), true);
          }
          const {items, nextToken} = page(filtered(), Number(input.maxResults ?? 100));
          return (reply(200, {imageDetails: items.map(detail), ...(nextToken ? {nextToken} : {})}), true);
        }
        case 'ListImages': {
          if (!emu.repositories().includes(repo))
            return (error('RepositoryNotFoundException', `repository ${repo} not found`), true);
          const all = filtered().flatMap(m =>
            m.tags.length ? m.tags.map(t => ({imageDigest: m.digest, imageTag: t})) : [{imageDigest: m.digest}]
          );
          const {items, nextToken} = page(all, Number(input.maxResults ?? 100));
          return (reply(200, {imageIds: items, ...(nextToken ? {nextToken} : {})}), true);
        }
        case 'BatchDeleteImage':
          void (async () => {
            const deleted: ImageId[] = [];
            const failures: Array<{imageId: ImageId; failureCode: string; failureReason: string}> = [];
            for (const id of input.imageIds as ImageId[]) {
              const m = emu
                .active(repo)
                .find(x => (id.imageDigest ? x.digest === id.imageDigest : x.tags.includes(id.imageTag ?? '')));
              if (!m) {
                failures.push({imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found'});
                continue;
              }
              if (id.imageTag) {
                if (!m.tags.includes(id.imageTag)) {
                  failures.push({
                    imageId: id,
                    failureCode: 'ImageTagDoesNotMatchDigest',
                    failureReason: 'tag does not match'
                  });
                  continue;
                }
                emu.deleteTag(repo, id.imageTag);
                // ECR: removing an image's last tag deletes the image.
                if (!m.tags.length) await emu.deleteManifest(repo, m.digest);
                deleted.push(id);
                continue;
              }
              const parent = emu
                .active(repo)
                .find(
                  x =>
                    x.digest !== m.digest &&
                    isIndex(x.mediaType) &&
                    (JSON.parse(x.body.toString('utf8')) as {manifests?: Array<{digest: string}>}).manifests?.some(
                      d => d.digest === m.digest
                    )
                );
              if (parent) {
                failures.push({
                  imageId: id,
                  failureCode: 'ImageReferencedByManifestList',
                  failureReason: `referenced by ${parent.digest}`
                });
                continue;
              }
              await emu.deleteManifest(repo, m.digest);
              deleted.push({imageDigest: m.digest});
            }
            reply(200, {imageIds: deleted, failures});
          })();
          return true;
        default:
          emu.violations.push(`ECR ${op}: not emulated`);
          return (error('InvalidParameterException', `${op} is not emulated`), true);
      }
    }
  });
}
