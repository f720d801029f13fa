import {isIndex} from '../../../src/shared/registry/media.js';
import {SmithyModel} from '../smithy.js';
import {ApiContext, ApiRequest, RecordedManifest, VendorRegistry, startVendorRegistry} from '../vendor-registry.js';

/**
 * Amazon ECR, as the cleanup backend meets it: the ECR JSON 1.1 API (GetAuthorizationToken,
 * DescribeImages, ListImages, BatchDeleteImage) answered from what was pushed, and its registry API
 * with the password GetAuthorizationToken hands out. Every request and answer is checked against ECR's
 * Smithy model (test/fixtures/vendor-specs/aws-ecr); the tests use the real AWS SDK against it.
 */

export const ECR_PASSWORD = 'ecr-emulator-password';
const TARGET = 'AmazonEC2ContainerRegistry_V20150921.';

/** The ECR operation of a request (X-Amz-Target). */
export const ecrOperation = (r: ApiRequest): string => String(r.headers['x-amz-target'] ?? '').replace(TARGET, '');

interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

interface LifecycleRule {
  rulePriority: number;
  selection: {
    tagStatus: 'tagged' | 'untagged' | 'any';
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: 'imageCountMoreThan' | 'sinceImagePushed';
    countNumber: number;
  };
}

/**
 * ECR's lifecycle evaluation as its documentation describes it, image by image, blind to indexes:
 * rules by priority; an image a rule selects is that rule's (lower rules do not see it); a tagged rule
 * selects images with, for every listed prefix or pattern, a tag that matches; oldest first.
 */
function ecrWouldExpire(
  images: RecordedManifest[],
  text: string,
  now: number
): Array<{m: RecordedManifest; rule: number}> {
  const rules = (JSON.parse(text) as {rules: LifecycleRule[]}).rules.sort((a, b) => a.rulePriority - b.rulePriority);
  const claimed = new Set<string>();
  const out: Array<{m: RecordedManifest; rule: number}> = [];
  const glob = (p: string): RegExp =>
    new RegExp(
      `^${p
        .split('*')
        .map(x => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`
    );
  for (const r of rules) {
    const s = r.selection;
    const selected = images.filter(m => {
      if (claimed.has(m.digest)) return false;
      if (s.tagStatus === 'any') return true;
      if (s.tagStatus === 'untagged') return m.tags.length === 0;
      if (!m.tags.length) return false;
      if (s.tagPrefixList) return s.tagPrefixList.every(p => m.tags.some(t => t.startsWith(p)));
      return (s.tagPatternList ?? []).every(p => m.tags.some(t => glob(p).test(t)));
    });
    for (const m of selected) claimed.add(m.digest);
    const newest = [...selected].sort((a, b) => b.pushedAt - a.pushedAt);
    const expire =
      s.countType === 'imageCountMoreThan'
        ? newest.slice(s.countNumber)
        : newest.filter(m => now - m.pushedAt > s.countNumber * 86_400_000);
    out.push(...expire.map(m => ({m, rule: r.rulePriority})));
  }
  return out;
}

export async function startEcr(): Promise<VendorRegistry | undefined> {
  const policies = new Map<string, string>();
  const previews = new Map<
    string,
    {text: string; expire: Array<{m: RecordedManifest; rule: number}>; polled: number}
  >();
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
        case 'BatchGetImage': {
          // The manifests named, each found or a failure of its own (ImageNotFound), as ECR answers.
          if (!emu.repositories().includes(repo))
            return (error('RepositoryNotFoundException', `repository ${repo} not found`), true);
          const got: unknown[] = [];
          const failures: unknown[] = [];
          for (const id of input.imageIds as ImageId[]) {
            const m = images.find(x =>
              id.imageDigest ? x.digest === id.imageDigest : x.tags.includes(id.imageTag ?? '')
            );
            if (!m)
              failures.push({imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found'});
            else
              got.push({
                registryId: '123456789012',
                repositoryName: repo,
                imageId: {imageDigest: m.digest, ...(id.imageTag ? {imageTag: id.imageTag} : {})},
                imageManifest: m.body.toString('utf8'),
                imageManifestMediaType: m.mediaType
              });
          }
          return (reply(200, {images: got, failures}), true);
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
            // The model gives imageIds at least one item: an answer deleting nothing leaves it out.
            reply(200, {...(deleted.length ? {imageIds: deleted} : {}), failures});
          })();
          return true;
        case 'PutLifecyclePolicy':
          policies.set(repo, String(input.lifecyclePolicyText));
          return (
            reply(200, {
              registryId: '123456789012',
              repositoryName: repo,
              lifecyclePolicyText: input.lifecyclePolicyText
            }),
            true
          );
        case 'GetLifecyclePolicy': {
          const text = policies.get(repo);
          if (!text) return (error('LifecyclePolicyNotFoundException', 'no lifecycle policy'), true);
          return (reply(200, {registryId: '123456789012', repositoryName: repo, lifecyclePolicyText: text}), true);
        }
        case 'StartLifecyclePolicyPreview': {
          const text = String(input.lifecyclePolicyText ?? policies.get(repo) ?? '');
          if (!text) return (error('LifecyclePolicyNotFoundException', 'no lifecycle policy'), true);
          previews.set(repo, {text, expire: ecrWouldExpire(images, text, Date.now()), polled: 0});
          return (
            reply(200, {
              registryId: '123456789012',
              repositoryName: repo,
              lifecyclePolicyText: text,
              status: 'IN_PROGRESS'
            }),
            true
          );
        }
        case 'GetLifecyclePolicyPreview': {
          const pv = previews.get(repo);
          if (!pv) return (error('LifecyclePolicyPreviewNotFoundException', 'no preview'), true);
          // The first poll finds it still running, as a real preview is for a while.
          if (pv.polled++ === 0)
            return (
              reply(200, {
                registryId: '123456789012',
                repositoryName: repo,
                lifecyclePolicyText: pv.text,
                status: 'IN_PROGRESS'
              }),
              true
            );
          const {items, nextToken} = page(pv.expire, Number(input.maxResults ?? 100));
          return (
            reply(200, {
              registryId: '123456789012',
              repositoryName: repo,
              lifecyclePolicyText: pv.text,
              status: 'COMPLETE',
              previewResults: items.map(({m, rule}) => ({
                imageDigest: m.digest,
                ...(m.tags.length ? {imageTags: [...m.tags]} : {}),
                imagePushedAt: m.pushedAt / 1000,
                action: {type: 'EXPIRE'},
                appliedRulePriority: rule
              })),
              summary: {expiringImageTotalCount: pv.expire.length},
              ...(nextToken ? {nextToken} : {})
            }),
            true
          );
        }
        default:
          emu.violations.push(`ECR ${op}: not emulated`);
          return (error('InvalidParameterException', `${op} is not emulated`), true);
      }
    }
  });
}
