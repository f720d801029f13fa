/** The logging surface the library uses. Actions pass one backed by @actions/core; tests record. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}
