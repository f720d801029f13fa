/** The logging surface the library uses. Actions pass one backed by @actions/core; tests record. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** A logger that keeps messages, for tests and for the command-line tool's --json mode. */
export class MemoryLogger implements Logger {
  readonly infos: string[] = [];
  readonly warnings: string[] = [];
  readonly debugs: string[] = [];
  info(message: string): void {
    this.infos.push(message);
  }
  warning(message: string): void {
    this.warnings.push(message);
  }
  debug(message: string): void {
    this.debugs.push(message);
  }
  async group<T>(_name: string, fn: () => Promise<T>): Promise<T> {
    return fn();
  }
}

/** A logger writing to the console, for the command-line tool. */
export class ConsoleLogger implements Logger {
  constructor(private readonly verbose = false) {}
  info(message: string): void {
    process.stderr.write(`${message}\n`);
  }
  warning(message: string): void {
    process.stderr.write(`warning: ${message}\n`);
  }
  debug(message: string): void {
    if (this.verbose) process.stderr.write(`debug: ${message}\n`);
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    process.stderr.write(`== ${name}\n`);
    return fn();
  }
}
