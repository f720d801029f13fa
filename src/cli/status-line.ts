/** push-multi's progress line: `<destination>: 12.5 of 200.0 MiB sent, 3 of 8 blobs done (41 MiB/s)`. */
const PROGRESS = /^(\S+): ([\d.]+) of ([\d.]+) MiB sent, (\d+) of (\d+) blobs done \((\d+) MiB\/s\)$/;
/** The folded group that ends a destination's copy: `<destination>: copied, …`. */
const FINISHED = /^▸ (\S+): (copied|up-to-date|planned|failed),/;

/**
 * On a terminal, the copy's progress lines become one status line redrawn in place (each destination's
 * percentage, blobs and rate) under the log, instead of a new line every interval. Other lines print
 * above it; a destination leaves it when its result is printed.
 */
export class StatusLine {
  private readonly shown = new Map<string, string>();
  private drawn = false;

  constructor(
    private readonly write: (s: string) => void,
    private readonly width: () => number
  ) {}

  /** The status line's text for the destinations in progress. Pure. */
  static render(progress: Iterable<string>, width: number): string {
    const text = [...progress].join(' · ');
    return text.length > width - 1 ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
  }

  /** Prints a line of the log: a progress line updates the status line, any other prints above it. */
  line(text: string): void {
    const p = text.match(PROGRESS);
    if (p) {
      const [, dest, sent, total, done, blobs, rate] = p;
      const pct = Number(total) > 0 ? Math.floor((Number(sent) / Number(total)) * 100) : 100;
      this.shown.set(dest, `${dest} ${pct}% ${done}/${blobs} blobs ${rate} MiB/s`);
      this.redraw();
      return;
    }
    const f = text.match(FINISHED);
    if (f) this.shown.delete(f[1]);
    this.clear();
    this.write(`${text}\n`);
    this.redraw();
  }

  /** Removes the status line (before exiting, or before printing the outputs). */
  clear(): void {
    if (this.drawn) this.write('\r\x1b[K');
    this.drawn = false;
  }

  private redraw(): void {
    if (this.shown.size === 0) return this.clear();
    this.write(`\r\x1b[K${StatusLine.render(this.shown.values(), this.width())}`);
    this.drawn = true;
  }
}
