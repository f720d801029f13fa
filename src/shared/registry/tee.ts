import {PassThrough, Readable} from 'node:stream';
import {VerifyingStream, verifiedUpstream} from './digest.js';
import {ImageSource} from './store.js';

interface Group {
  outs: PassThrough[];
  started: boolean;
  timer?: NodeJS.Timeout;
  size: number;
}

/**
 * A source that downloads each blob once for many destinations: the destinations that ask for the same
 * blob at about the same time share one GET, streamed to all of them (the slowest sets the pace, so
 * memory stays flat). A destination that asks later, or retries, gets its own download. Each consumer
 * still verifies the digest of what it reads.
 */
export class TeeSource implements ImageSource {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly source: ImageSource,
    /** How many destinations will upload blobs (and so may ask for each one). */
    private readonly consumers: number,
    /** How long the first asker waits for the others before its download starts. */
    private readonly waitMs = 150
  ) {}

  get name(): string {
    return this.source.name;
  }
  get mountFrom(): ImageSource['mountFrom'] {
    return this.source.mountFrom;
  }
  resolve: ImageSource['resolve'] = ref => this.source.resolve(ref);
  getManifest: ImageSource['getManifest'] = d => this.source.getManifest(d);
  listTags: ImageSource['listTags'] = () => this.source.listTags();
  referrers: ImageSource['referrers'] = d => this.source.referrers(d);

  async openBlob(digest: string, size: number): Promise<Readable> {
    if (this.consumers <= 1) return this.source.openBlob(digest, size);
    let group = this.groups.get(digest);
    if (!group || group.started) {
      group = {outs: [], started: false, size};
      this.groups.set(digest, group);
      const g = group;
      g.timer = setTimeout(() => this.start(digest, g), this.waitMs);
    }
    const out = new PassThrough({highWaterMark: 1 << 20});
    verifiedUpstream.add(out);
    group.outs.push(out);
    if (group.outs.length >= this.consumers) this.start(digest, group);
    return out;
  }

  private start(digest: string, group: Group): void {
    if (group.started) return;
    group.started = true;
    clearTimeout(group.timer);
    if (this.groups.get(digest) === group) this.groups.delete(digest);
    // A consumer may have given up while waiting (its upload failed before reading): leave it out.
    group.outs = group.outs.filter(o => !o.destroyed);
    if (group.outs.length === 0) return;
    this.source.openBlob(digest, group.size).then(
      raw => {
        // Hashed once here for every consumer; a mismatch fails them all before their uploads commit.
        const input = raw.pipe(new VerifyingStream(digest));
        raw.on('error', err => input.destroy(err));
        input.on('close', () => {
          if (!raw.readableEnded) raw.destroy();
        });
        input.on('error', err => {
          for (const o of group.outs) o.destroy(err);
        });
        let open = group.outs.length;
        for (const o of group.outs) {
          input.pipe(o);
          // A consumer that gives up (its upload failed) must not hold the others back; when every one
          // has gone, the download stops too.
          o.on('close', () => {
            if (!o.writableFinished) input.unpipe(o);
            if (--open === 0 && !input.readableEnded) input.destroy();
          });
        }
        input.on('close', () => {
          if (!input.readableEnded)
            for (const o of group.outs) if (!o.writableFinished) o.destroy(new Error('source stream closed early'));
        });
      },
      err => {
        for (const o of group.outs) o.destroy(err as Error);
      }
    );
  }
}
