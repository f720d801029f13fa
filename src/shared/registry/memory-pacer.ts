import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps a long blob copy's memory flat. Every chunk a socket reads arrives in a fresh buffer outside
 * the JavaScript heap; once uploaded it is garbage, but V8 frees such buffers only when a collection
 * runs, and a copy allocates too little else for one to run often: measured, 30 to 50 MiB of dead
 * buffers pile up before V8 frees them (push-multi's peak grew by that much from a tiny image to a
 * 200 MiB one).
 * This pacer collects sooner: after every CHECK_BYTES bytes streamed, a young-generation collection
 * (about a millisecond: it frees the buffers that died young); when buffers that outlived it still
 * grew by OLD_LIMIT since the last full collection, a full one.
 */
const CHECK_BYTES = 1 << 20;
const OLD_LIMIT = 16 << 20;

type Collect = (type: 'minor' | 'major') => void;

let collect: Collect | null | undefined;
let streamed = 0;
/**
 * The least held since the last full collection, undefined right after one: V8 frees the buffers it
 * found dead on a background thread, so what it freed shows at the next check, not at once.
 */
let floor: number | undefined;

/**
 * The collector, obtained once: the process's own when it was started with --expose-gc; otherwise V8
 * hands one to contexts created while that flag is set, so one is made for it and the flag is put
 * back at once (no other context sees it). Null where that fails: V8's own pacing then applies.
 */
function collector(): Collect | null {
  if (collect !== undefined) return collect;
  collect = null;
  let gc: unknown = (globalThis as {gc?: unknown}).gc;
  if (typeof gc !== 'function') {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc');
    } catch {
      gc = undefined;
    } finally {
      if (!exposedAtStart()) v8.setFlagsFromString('--no-expose-gc');
    }
  }
  // A full collection is asked for without options: Node 20's V8 ignores {type: 'major'}.
  if (typeof gc === 'function') {
    const run = gc as (options?: object) => void;
    collect = type => (type === 'minor' ? run({type: 'minor', execution: 'sync'}) : run());
  }
  return collect;
}

/** Whether the process was started with --expose-gc (a context without gc, such as a test's, may still see it). */
function exposedAtStart(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return args.some(a => a === '--expose-gc' || a === '--expose_gc');
}

/** Counts bytes streamed through a copy; frees dead buffers when enough of them piled up. */
export function noteStreamed(n: number): void {
  streamed += n;
  if (streamed < CHECK_BYTES) return;
  streamed = 0;
  const gc = collector();
  if (!gc) return;
  gc('minor');
  // what native buffers hold (array buffers among them), read from V8 without a look at /proc
  const held = v8.getHeapStatistics().external_memory;
  floor = Math.min(floor ?? held, held);
  if (held < floor + OLD_LIMIT) return;
  gc('major');
  floor = undefined;
}
