/**
 * A request to stop a cleanup cleanly: a cancelled job or a job timeout sends SIGINT, then SIGTERM
 * (GitHub's runner, GitLab, Jenkins alike). The image being deleted is finished, so no index is left
 * without its platform manifests; no new image is started; what is left is reported.
 */
export class StopRequest {
  reason?: string;
  /** What asked: a signal (a cancelled job), or a budget (the rate-limit floor) the next run continues from. */
  kind?: 'signal' | 'budget';
  private readonly handlers: Array<[NodeJS.Signals, () => void]> = [];
  private readonly budgets: Array<(reserve: number) => string | undefined> = [];

  /** Whether to stop: asked for, or a watched budget ran under its floor (checked each time). */
  get requested(): boolean {
    return this.before(() => 0);
  }

  /**
   * Whether to stop before work that, with what is already committed to, costs `reserve()` requests
   * (worked out only when a budget is watched): a budget stops it when what would be left is under the floor.
   */
  before(reserve: () => number): boolean {
    if (this.reason === undefined)
      for (const check of this.budgets) {
        const why = check(reserve());
        if (why) this.request(why, 'budget');
      }
    return this.reason !== undefined;
  }

  request(reason: string, kind: 'signal' | 'budget' = 'signal'): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.kind = kind;
  }

  /** A budget to check before each new image: it returns why to stop, or undefined. */
  watch(check: (reserve: number) => string | undefined): this {
    this.budgets.push(check);
    return this;
  }

  /** Listens for SIGINT and SIGTERM until `close` (then the process's defaults apply again). */
  listen(onStop: (signal: string) => void): this {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const handler = (): void => {
        this.request(signal);
        onStop(signal);
      };
      process.on(signal, handler);
      this.handlers.push([signal, handler]);
    }
    return this;
  }

  close(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    this.handlers.length = 0;
  }
}

/**
 * The GitHub API budget as a stop reason: when the requests left (as last reported), less what the
 * next image and the images already started still need (`reserve`), are under `floor`, no new image
 * is started. Pure.
 */
export function apiBudget(stats: {remaining?: string; reset?: number}, floor: number, reserve = 0): string | undefined {
  if (stats.remaining === undefined || !(Number(stats.remaining) - reserve < floor)) return undefined;
  const reset = stats.reset ? `; it resets at ${new Date(stats.reset * 1000).toISOString().slice(11, 16)} UTC` : '';
  const need = reserve ? `, the next image and those started need ${reserve}` : '';
  return `the rate-limit floor of ${floor} (${stats.remaining} GitHub API request(s) left${need}${reset})`;
}
