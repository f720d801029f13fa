/**
 * A request to stop a cleanup cleanly: a cancelled job or a job timeout sends SIGINT, then SIGTERM
 * (GitHub's runner, GitLab, Jenkins alike). The image being deleted is finished, so no index is left
 * without its platform manifests; no new image is started; what is left is reported.
 */
export class StopRequest {
  reason?: string;
  private readonly handlers: Array<[NodeJS.Signals, () => void]> = [];

  get requested(): boolean {
    return this.reason !== undefined;
  }

  request(reason: string): void {
    this.reason ??= reason;
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
