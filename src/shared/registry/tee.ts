import {PassThrough, Readable} from 'node:stream';
import {VerifyingStream, verifiedUpstream} from './digest.js';
import {ImageSource} from './store.js';

interface Group {
  /** Destinations whose plan needs this blob and that have neither asked for it nor let it go. */
  waiting: number;
  outs: PassThrough[];
  started: boolean;
  size: number;
}

/**
 * A source that downloads each blob once for many destinations. Which destinations need a blob is
 * known from their copy plans (after the existence checks), so one download feeds exactly those: it
 * starts when the last of them asks for it or lets it go (mounted it, or failed before reading). No
 * clock decides anything. A destination that asks again (a retry) gets its own download. Each
 * consumer still verifies the digest of what it reads.
 */
export class TeeSource {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly source: ImageSource) {}

  /**
   * The view one destination reads through: `blobs` are the digests its plan will read from the
   * source. Call close() when its copy is over, whatever the outcome.
   */
  consumer(blobs: string[]): TeeConsumer {
    for (const d of new Set(blobs)) {
      const g = this.groups.get(d) ?? {waiting: 0, outs: [], started: false, size: 0};
      g.waiting++;
      this.groups.set(d, g);
    }
    return new TeeConsumer(this, this.source, new Set(blobs));
  }

  /** A consumer asks for a blob its plan named. */
  join(digest: string, size: number): Readable {
    const g = this.groups.get(digest) as Group;
    const out = new PassThrough({highWaterMark: 1 << 20});
    verifiedUpstream.add(out);
    g.outs.push(out);
    g.size = size;
    g.waiting--;
    this.maybeStart(digest, g);
    return out;
  }

  /** A consumer will not read a blob its plan named (mounted, or its copy ended first). */
  leave(digest: string): void {
    const g = this.groups.get(digest);
    if (!g) return;
    g.waiting--;
    this.maybeStart(digest, g);
  }

  private maybeStart(digest: string, group: Group): void {
    if (group.started || group.waiting > 0) return;
    group.started = true;
    this.groups.delete(digest);
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

/** One destination's view of a TeeSource: its planned blobs come from the shared download, once each. */
export class TeeConsumer implements ImageSource {
  constructor(
    private readonly tee: TeeSource,
    private readonly source: ImageSource,
    /** Planned blobs not yet asked for or let go. */
    private readonly pending: Set<string>
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
    if (!this.pending.delete(digest)) return this.source.openBlob(digest, size);
    return this.tee.join(digest, size);
  }

  notNeeded(digest: string): void {
    if (this.pending.delete(digest)) this.tee.leave(digest);
  }

  /** The copy is over: blobs it never asked for are let go, so no other destination waits on it. */
  close(): void {
    for (const d of [...this.pending]) this.notNeeded(d);
  }
}
