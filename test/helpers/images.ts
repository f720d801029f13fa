import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const REF = 'org.opencontainers.image.ref.name';

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  platform?: {os: string; architecture: string; variant?: string};
  annotations?: Record<string, string>;
}

/** A tar archive holding the given files (ustar, regular files). */
export function tar(files: Array<{name: string; data: Buffer}>): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    const sum = h.reduce((a, b) => a + b, 0);
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Deterministic incompressible bytes (AES-CTR keystream) for layer content. */
export function pseudoRandom(seed: string, size: number): Buffer {
  const key = crypto.createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

const LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export class LayoutBuilder {
  readonly dir: string;
  private readonly refs: Desc[] = [];
  constructor(dir?: string) {
    this.dir = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'layout-'));
    fs.mkdirSync(path.join(this.dir, 'blobs', 'sha256'), {recursive: true});
    fs.writeFileSync(path.join(this.dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
  }

  blob(data: Buffer, mediaType: string): Desc {
    const hex = crypto.createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(path.join(this.dir, 'blobs', 'sha256', hex), data);
    return {mediaType, digest: `sha256:${hex}`, size: data.length};
  }

  json(obj: unknown, mediaType: string): Desc {
    return this.blob(Buffer.from(JSON.stringify(obj)), mediaType);
  }

  /** One platform's image: a config and `layers` gzip layers of `layerSize` bytes each. */
  image(
    platform: {os: string; architecture: string; variant?: string},
    seed: string,
    layers = 2,
    layerSize = 2048,
    created?: string
  ): Desc {
    const descs: Desc[] = [];
    const diffIds: string[] = [];
    for (let i = 0; i < layers; i++) {
      const raw = tar([{name: `data/${seed}-${i}.bin`, data: pseudoRandom(`${seed}-${i}`, layerSize)}]);
      diffIds.push(`sha256:${crypto.createHash('sha256').update(raw).digest('hex')}`);
      descs.push(this.blob(zlib.gzipSync(raw, {level: 1}), 'application/vnd.oci.image.layer.v1.tar+gzip'));
    }
    const config = this.json(
      {
        architecture: platform.architecture,
        os: platform.os,
        variant: platform.variant,
        rootfs: {type: 'layers', diff_ids: diffIds},
        config: {},
        ...(created ? {created} : {})
      },
      'application/vnd.oci.image.config.v1+json'
    );
    const m = this.json({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: descs}, OCI_MANIFEST);
    return {...m, platform};
  }

  /**
   * One platform's image on shared base layers (as images built FROM one base share them) and one
   * small layer of its own.
   */
  imageOn(platform: {os: string; architecture: string}, base: Desc[], seed: string): Desc {
    const own = this.blob(zlib.gzipSync(tar([{name: `app/${seed}`, data: pseudoRandom(seed, 512)}])), LAYER_GZIP);
    const layers = [...base, own];
    const config = this.json(
      {...platform, rootfs: {type: 'layers', diff_ids: layers.map(l => l.digest)}, config: {}},
      'application/vnd.oci.image.config.v1+json'
    );
    const m = this.json({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers}, OCI_MANIFEST);
    return {...m, platform};
  }

  /** One platform's image holding exactly the given files (one gzip layer). */
  imageWithFiles(
    platform: {os: string; architecture: string; variant?: string},
    files: Array<{name: string; data: Buffer}>
  ): Desc {
    const raw = tar(files);
    const layer = this.blob(zlib.gzipSync(raw, {level: 1}), 'application/vnd.oci.image.layer.v1.tar+gzip');
    const config = this.json(
      {
        architecture: platform.architecture,
        os: platform.os,
        variant: platform.variant,
        rootfs: {type: 'layers', diff_ids: [`sha256:${crypto.createHash('sha256').update(raw).digest('hex')}`]},
        config: {}
      },
      'application/vnd.oci.image.config.v1+json'
    );
    const m = this.json({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer]}, OCI_MANIFEST);
    return {...m, platform};
  }

  index(manifests: Desc[]): Desc {
    return this.json({schemaVersion: 2, mediaType: OCI_INDEX, manifests}, OCI_INDEX);
  }

  /** A cosign-style (legacy format) signature manifest for `digest`, tagged sha256-<hex>.sig. */
  signature(digest: string, repo: string): Desc {
    const payload = Buffer.from(
      JSON.stringify({
        critical: {
          identity: {'docker-reference': repo},
          image: {'docker-manifest-digest': digest},
          type: 'cosign container image signature'
        },
        optional: null
      })
    );
    const layer = this.blob(payload, 'application/vnd.dev.cosign.simplesigning.v1+json');
    layer.annotations = {'dev.cosignproject.cosign/signature': crypto.randomBytes(64).toString('base64')};
    const config = this.json(
      {architecture: '', os: '', config: {}, rootfs: {type: 'layers', diff_ids: [layer.digest]}},
      'application/vnd.oci.image.config.v1+json'
    );
    const m = this.json({schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer]}, OCI_MANIFEST);
    this.tag(m, `${digest.replace(':', '-')}.sig`);
    return m;
  }

  tag(desc: Desc, name: string): void {
    this.refs.push({mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: {[REF]: name}});
    fs.writeFileSync(
      path.join(this.dir, 'index.json'),
      JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: this.refs})
    );
  }
}

export interface Fixture {
  dir: string;
  digest: string;
  platforms: string[];
  manifests: Desc[];
  signature: Desc;
}

/** A multi-platform image with a cosign .sig tag, as an OCI layout tagged `tag`. */
export function multiPlatformFixture(
  opts: {platforms?: string[]; seed?: string; layers?: number; layerSize?: number; tag?: string; created?: string} = {}
): Fixture {
  const platforms = opts.platforms ?? ['linux/amd64', 'linux/arm64'];
  const b = new LayoutBuilder();
  const manifests = platforms.map(p => {
    const [os_, architecture, variant] = p.split('/');
    return b.image(
      {os: os_, architecture, variant},
      `${opts.seed ?? 'app'}-${p}`,
      opts.layers ?? 2,
      opts.layerSize ?? 2048,
      opts.created
    );
  });
  const index = b.index(manifests);
  b.tag(index, opts.tag ?? 'v1');
  const signature = b.signature(index.digest, 'registry.example/app');
  return {dir: b.dir, digest: index.digest, platforms, manifests, signature};
}

/** The layout directory packed as a tarball, as `docker buildx build --output type=oci,dest=x.tar` writes. */
export function layoutTarball(dir: string): string {
  const files: Array<{name: string; data: Buffer}> = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), {withFileTypes: true})) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else files.push({name: r, data: fs.readFileSync(path.join(dir, r))});
    }
  };
  walk('');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'layout-tar-')), 'image.tar');
  fs.writeFileSync(out, tar(files));
  return out;
}
