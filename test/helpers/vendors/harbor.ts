import {isIndex} from '../../../src/shared/registry/media.js';
import {ApiContext, RecordedManifest, VendorRegistry, startVendorRegistry} from '../vendor-registry.js';
import {VendorApiDescription} from '../vendor-spec.js';

/**
 * Harbor, as the cleanup backend meets it: the v2.0 API's artifact routes (list with tags, references
 * and accessories, get, delete, delete tag) answered from what was pushed, with Harbor's model: an
 * index's platform manifests are its references, not artifacts of their own; cosign signatures and
 * manifests with a subject are accessories of their subject; deleting an artifact deletes its
 * references and accessories. Robot-account basic auth on the API and the registry. Every answer is
 * checked against test/fixtures/vendor-specs/harbor/swagger.yaml.
 */

export const HARBOR_ROBOT = 'robot$ci';
export const HARBOR_SECRET = 'harbor-robot-secret';

interface Parsed {
  manifests?: Array<{digest: string; platform?: {os?: string; architecture?: string; variant?: string}}>;
  subject?: {digest: string};
  artifactType?: string;
  config?: {mediaType?: string};
  layers?: Array<{mediaType?: string}>;
}
const parse = (m: RecordedManifest): Parsed => JSON.parse(m.body.toString('utf8')) as Parsed;

/**
 * The accessory type Harbor records, as its own middleware decides (goharbor/harbor
 * src/server/middleware/cosign and src/server/middleware/subject): a manifest pushed under a cosign
 * `sha256-<hex>.sig` tag with a simple-signing layer is `signature.cosign`; a manifest with a subject is
 * typed by its artifactType (else its config's media type): Notation's signature `signature.notation`,
 * cosign's OCI 1.1 signature `signature.cosign`, Harbor's SBOM `harbor.sbom`, anything else (a cosign
 * bundle, an SPDX or CycloneDX SBOM, an attestation) `subject.accessory`.
 */
function accessoryType(m: RecordedManifest): string {
  const p = parse(m);
  if (!p.subject) return 'signature.cosign';
  const from = p.artifactType || p.config?.mediaType;
  if (from === 'application/vnd.cncf.notary.signature') return 'signature.notation';
  if (from === 'application/vnd.dev.cosign.artifact.sig.v1+json') return 'signature.cosign';
  if (from === 'application/vnd.goharbor.harbor.sbom.v1') return 'harbor.sbom';
  return 'subject.accessory';
}

/** Whether Harbor's cosign middleware makes this manifest an accessory: a `.sig` tag and a simple-signing layer. */
const legacyCosign = (m: RecordedManifest): boolean =>
  (parse(m).layers ?? []).some(l => l.mediaType === 'application/vnd.dev.cosign.simplesigning.v1+json');

export async function startHarbor(): Promise<VendorRegistry | undefined> {
  const spec = new VendorApiDescription('harbor/swagger.yaml');
  const basic = `Basic ${Buffer.from(`${HARBOR_ROBOT}:${HARBOR_SECRET}`).toString('base64')}`;
  const ids = new Map<string, number>();
  const idOf = (repo: string, digest: string): number => {
    const k = `${repo}@${digest}`;
    if (!ids.has(k)) ids.set(k, ids.size + 1);
    return ids.get(k) as number;
  };

  /** Harbor's view of a repository: top-level artifacts, with their references and accessories. */
  const model = (emu: VendorRegistry, repo: string) => {
    const all = emu.active(repo);
    const subjectOf = (m: RecordedManifest): string | undefined => {
      const s = parse(m).subject?.digest;
      if (s && emu.find(repo, s)) return s;
      const sig = legacyCosign(m) && m.tags.map(t => t.match(/^sha256-([a-f0-9]{64})\.sig$/)?.[1]).find(Boolean);
      return sig && emu.find(repo, `sha256:${sig}`) ? `sha256:${sig}` : undefined;
    };
    const accessories = new Map<string, RecordedManifest[]>();
    for (const m of all) {
      const s = subjectOf(m);
      if (s) accessories.set(s, [...(accessories.get(s) ?? []), m]);
    }
    const accessory = new Set([...accessories.values()].flat().map(m => m.digest));
    const children = new Set(
      all
        .filter(m => !accessory.has(m.digest) && isIndex(m.mediaType))
        .flatMap(m => (parse(m).manifests ?? []).map(d => d.digest))
    );
    const top = all.filter(m => !accessory.has(m.digest) && !children.has(m.digest));
    return {top, accessories, isTop: (d: string) => top.some(m => m.digest === d)};
  };

  const artifact = (repo: string, m: RecordedManifest, acc: RecordedManifest[]): unknown => {
    const at = new Date(m.pushedAt).toISOString();
    const id = idOf(repo, m.digest);
    return {
      id,
      type: 'IMAGE',
      media_type: 'application/vnd.oci.image.config.v1+json',
      manifest_media_type: m.mediaType,
      project_id: 1,
      repository_id: 1,
      repository_name: repo,
      digest: m.digest,
      size: m.body.length,
      push_time: at,
      pull_time: '0001-01-01T00:00:00.000Z',
      ...(isIndex(m.mediaType)
        ? {
            references: (parse(m).manifests ?? []).map(d => ({
              parent_id: id,
              child_id: idOf(repo, d.digest),
              child_digest: d.digest,
              ...(d.platform ? {platform: {architecture: d.platform.architecture, os: d.platform.os}} : {})
            }))
          }
        : {}),
      tags: m.tags.map(t => ({
        id: idOf(repo, `${m.digest}:${t}`),
        repository_id: 1,
        artifact_id: id,
        name: t,
        push_time: at,
        pull_time: '0001-01-01T00:00:00.000Z',
        immutable: false
      })),
      accessories: acc.map(a => ({
        id: idOf(repo, a.digest),
        artifact_id: idOf(repo, a.digest),
        subject_artifact_id: id,
        subject_artifact_digest: m.digest,
        subject_artifact_repo: repo,
        size: a.body.length,
        digest: a.digest,
        type: accessoryType(a),
        icon: '',
        creation_time: new Date(a.pushedAt).toISOString()
      }))
    };
  };

  /**
   * Deletes an artifact as Harbor's artifact controller does (deleteDeeply): its accessories as roots
   * (tags and all), its references unless another artifact lists them or they carry a tag.
   */
  const remove = async (emu: VendorRegistry, repo: string, digest: string): Promise<void> => {
    const m = emu.find(repo, digest);
    if (!m) return;
    const {accessories} = model(emu, repo);
    await emu.deleteManifest(repo, digest);
    for (const a of accessories.get(digest) ?? []) await remove(emu, repo, a.digest);
    for (const d of parse(m).manifests ?? []) {
      const stillListed = emu
        .active(repo)
        .some(x => isIndex(x.mediaType) && (parse(x).manifests ?? []).some(y => y.digest === d.digest));
      const tagged = (emu.find(repo, d.digest)?.tags.length ?? 0) > 0;
      if (!stillListed && !tagged) await remove(emu, repo, d.digest);
    }
  };

  return startVendorRegistry({
    registryAuth: a => a === basic,
    challenge: () => 'Basic realm="harbor"',
    api: async (c: ApiContext, emu: VendorRegistry) => {
      const p = c.url.pathname;
      if (!p.startsWith('/api/v2.0/')) return false;
      const reply = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
        emu.violations.push(...spec.check(c.method, p, status, body));
        c.answer(status, body, {'x-request-id': 'req-1', ...headers});
      };
      const errors = (status: number, code: string, message: string): void =>
        reply(status, {errors: [{code, message}]});
      if (c.headers.authorization !== basic) return (errors(401, 'UNAUTHORIZED', 'unauthorized'), true);
      const m = p.match(
        /^\/api\/v2\.0\/projects\/([^/]+)\/repositories\/([^/]+)\/artifacts(?:\/([^/]+)(?:\/tags\/([^/]+))?)?$/
      );
      if (!m) return false;
      const repo = `${decodeURIComponent(m[1])}/${decodeURIComponent(decodeURIComponent(m[2]))}`;
      if (!m[3] && c.method === 'GET') {
        if (!emu.repositories().includes(repo)) return (errors(404, 'NOT_FOUND', `repository ${repo} not found`), true);
        const size = Math.min(Number(c.url.searchParams.get('page_size') ?? 10), 100, emu.maxPage);
        const page = Number(c.url.searchParams.get('page') ?? 1);
        const {top, accessories} = model(emu, repo);
        const items = top.slice((page - 1) * size, page * size);
        const more = page * size < top.length;
        const next = `${p}?page=${page + 1}&page_size=${size}&with_tag=true&with_accessory=true`;
        return (
          reply(
            200,
            items.map(x => artifact(repo, x, accessories.get(x.digest) ?? [])),
            {'x-total-count': String(top.length), ...(more ? {link: `<${next}>; rel="next"`} : {})}
          ),
          true
        );
      }
      const ref = decodeURIComponent(m[3] ?? '');
      const found = ref.startsWith('sha256:') ? emu.find(repo, ref) : emu.active(repo).find(x => x.tags.includes(ref));
      if (!found) return (errors(404, 'NOT_FOUND', `artifact ${repo}@${ref} not found`), true);
      if (m[4] && c.method === 'DELETE') {
        const tag = decodeURIComponent(m[4]);
        if (!found.tags.includes(tag)) return (errors(404, 'NOT_FOUND', `tag ${tag} not found`), true);
        emu.deleteTag(repo, tag);
        return (reply(200, undefined), true);
      }
      if (c.method === 'GET') {
        const {accessories} = model(emu, repo);
        return (reply(200, artifact(repo, found, accessories.get(found.digest) ?? [])), true);
      }
      if (c.method === 'DELETE') {
        const {isTop} = model(emu, repo);
        if (!isTop(found.digest))
          return (
            errors(412, 'PRECONDITION', 'the artifact is referenced by another artifact or is an accessory'),
            true
          );
        await remove(emu, repo, found.digest);
        return (reply(200, undefined), true);
      }
      return false;
    }
  });
}
