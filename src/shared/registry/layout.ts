import fs from 'node:fs';
import path from 'node:path';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {UserError} from '../errors.js';
import {sha256} from './digest.js';
import {Descriptor, ImageIndex, MEDIA, manifestMediaType} from './media.js';
import {BlobState, ImageSource, ImageTarget, StoredManifest} from './store.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

function blobPath(root: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  if (!alg || !hex || !/^[a-f0-9]+$/.test(hex)) throw new Error(`invalid digest ${digest}`);
  return path.join(root, 'blobs', alg, hex);
}

/** Reads the entries of a tar file (ustar, GNU long names, pax path) as offsets into the file. */
export function indexTar(file: string): Map<string, {offset: number; size: number}> {
  const fd = fs.openSync(file, 'r');
  const entries = new Map<string, {offset: number; size: number}>();
  try {
    const header = Buffer.alloc(512);
    let pos = 0;
    let longName: string | undefined;
    for (;;) {
      if (fs.readSync(fd, header, 0, 512, pos) < 512) break;
      if (header.every(b => b === 0)) break;
      const field = (start: number, len: number): string =>
        header
          .subarray(start, start + len)
          .toString('utf8')
          .replace(/\0.*$/s, '');
      const size = parseInt(field(124, 12).trim() || '0', 8);
      const type = String.fromCharCode(header[156] || 48);
      const prefix = field(345, 155);
      let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      longName = undefined;
      const data = pos + 512;
      if (type === 'L' || type === 'x') {
        const buf = Buffer.alloc(size);
        fs.readSync(fd, buf, 0, size, data);
        if (type === 'L') longName = buf.toString('utf8').replace(/\0.*$/s, '');
        else longName = buf.toString('utf8').match(/(?:^|\n)\d+ path=([^\n]*)\n/)?.[1];
      } else if (type === '0' || type === '\0' || type === '7') {
        name = name.replace(/^\.\//, '');
        entries.set(name, {offset: data, size});
      }
      pos = data + Math.ceil(size / 512) * 512;
    }
  } finally {
    fs.closeSync(fd);
  }
  return entries;
}

/** An OCI image layout, as a directory or a tarball (`docker buildx build --output type=oci`). */
export class OciLayout implements ImageSource, ImageTarget {
  readonly name: string;
  private readonly tar?: Map<string, {offset: number; size: number}>;

  constructor(
    readonly root: string,
    private readonly writable = false
  ) {
    this.name = `oci:${root}`;
    if (fs.existsSync(root) && fs.statSync(root).isFile()) {
      this.tar = indexTar(root);
      if (!this.tar.has('index.json'))
        throw new UserError(`source: ${root} is a tar file but not an OCI image layout (no index.json)`);
    } else if (writable) {
      fs.mkdirSync(path.join(root, 'blobs', 'sha256'), {recursive: true});
      if (!fs.existsSync(path.join(root, 'oci-layout'))) {
        fs.writeFileSync(path.join(root, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}));
      }
      if (!fs.existsSync(path.join(root, 'index.json'))) {
        fs.writeFileSync(
          path.join(root, 'index.json'),
          JSON.stringify({schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: []})
        );
      }
    } else if (!fs.existsSync(path.join(root, 'index.json'))) {
      throw new UserError(
        `source: ${root} is not an OCI image layout directory (no index.json). Build with --output type=oci,dest=${root}.`
      );
    }
  }

  private read(rel: string): Buffer | undefined {
    if (this.tar) {
      const e = this.tar.get(rel);
      if (!e) return undefined;
      const buf = Buffer.alloc(e.size);
      const fd = fs.openSync(this.root, 'r');
      try {
        fs.readSync(fd, buf, 0, e.size, e.offset);
      } finally {
        fs.closeSync(fd);
      }
      return buf;
    }
    const p = path.join(this.root, rel);
    return fs.existsSync(p) ? fs.readFileSync(p) : undefined;
  }

  private index(): ImageIndex {
    const raw = this.read('index.json');
    if (!raw) throw new UserError(`${this.name}: index.json is missing`);
    return JSON.parse(raw.toString('utf8')) as ImageIndex;
  }

  private rel(digest: string): string {
    return path.relative(this.root, blobPath(this.root, digest)).split(path.sep).join('/');
  }

  async resolve(ref?: string): Promise<StoredManifest> {
    const manifests = this.index().manifests;
    let d: Descriptor | undefined;
    if (ref?.startsWith('sha256:')) d = manifests.find(m => m.digest === ref) ?? {mediaType: '', digest: ref, size: 0};
    else if (ref) d = manifests.find(m => m.annotations?.[REF_NAME] === ref);
    else {
      // The image itself, not the signature or referrer tags stored beside it.
      const images = manifests.filter(m => !/^sha256-[a-f0-9]{64}/.test(m.annotations?.[REF_NAME] ?? ''));
      if (images.length === 1) d = images[0];
    }
    if (!d) {
      const names = manifests.map(m => m.annotations?.[REF_NAME]).filter(Boolean);
      throw new UserError(
        `${this.name}: no image ${ref ? `"${ref}"` : ''} in the layout${names.length ? ` (it has ${names.join(', ')})` : ''}`
      );
    }
    const m = await this.getManifest(d.digest);
    if (!m) throw new UserError(`${this.name}: manifest ${d.digest} is listed in index.json but its blob is missing`);
    return m;
  }

  async getManifest(digest: string): Promise<StoredManifest | undefined> {
    const body = this.read(this.rel(digest));
    if (!body) return undefined;
    if (sha256(body) !== digest) throw new Error(`${this.name}: blob ${digest} does not match its digest`);
    return {body, digest, mediaType: manifestMediaType(body)};
  }

  async openBlob(digest: string): Promise<Readable> {
    const rel = this.rel(digest);
    if (this.tar) {
      const e = this.tar.get(rel);
      if (!e) throw new Error(`${this.name}: blob ${digest} is missing`);
      if (e.size === 0) return Readable.from([]);
      return fs.createReadStream(this.root, {start: e.offset, end: e.offset + e.size - 1});
    }
    return fs.createReadStream(path.join(this.root, rel));
  }

  async listTags(): Promise<string[]> {
    return this.index()
      .manifests.map(m => m.annotations?.[REF_NAME])
      .filter((t): t is string => !!t);
  }

  async referrers(): Promise<Descriptor[] | undefined> {
    return undefined;
  }

  // Target side (directories only).
  private ensureWritable(): void {
    if (!this.writable || this.tar) throw new Error(`${this.name} is not writable`);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return this.tar ? this.tar.has(this.rel(digest)) : fs.existsSync(blobPath(this.root, digest));
  }

  async mountBlob(): Promise<BlobState> {
    return 'absent';
  }

  async putBlob(digest: string, _size: number, open: () => Promise<Readable>): Promise<void> {
    this.ensureWritable();
    const final = blobPath(this.root, digest);
    const tmp = `${final}.${process.pid}.${Date.now()}.tmp`;
    try {
      await pipeline(await open(), fs.createWriteStream(tmp));
      fs.renameSync(tmp, final);
    } finally {
      fs.rmSync(tmp, {force: true});
    }
  }

  async hasManifest(digest: string): Promise<boolean> {
    return this.hasBlob(digest);
  }

  async tagDigest(tag: string): Promise<string | undefined> {
    return this.index().manifests.find(m => m.annotations?.[REF_NAME] === tag)?.digest;
  }

  async putManifest(ref: string, manifest: StoredManifest): Promise<boolean> {
    this.ensureWritable();
    const file = blobPath(this.root, manifest.digest);
    if (!fs.existsSync(file)) fs.writeFileSync(file, manifest.body);
    if (ref.startsWith('sha256:')) return true;
    const index = this.index();
    index.manifests = index.manifests.filter(m => m.annotations?.[REF_NAME] !== ref);
    index.manifests.push({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.body.length,
      annotations: {[REF_NAME]: ref}
    });
    const tmp = path.join(this.root, `index.json.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(index));
    fs.renameSync(tmp, path.join(this.root, 'index.json'));
    return true;
  }
}
