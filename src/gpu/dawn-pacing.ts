// Waiting on Dawn's node bindings without burning a CPU core.
//
// While a promise of the `webgpu` package is pending (mapAsync, onSubmittedWorkDone), the
// bindings poll for finished work by re-queuing themselves with the global `setImmediate`, so
// the main thread spins at 100% of a core for as long as the GPU works. On a CPU adapter
// (lavapipe) that core is taken from the driver's own worker threads: measured on 2 cores, a
// ViT-Tiny training step lost about 30% of its speed to it. The bindings look `setImmediate` up
// on the global object at every tick, so while we wait we give them a paced one: the first few
// ticks stay immediate (short waits keep their latency), later ones wait 1 ms.
//
// Other code that calls `setImmediate` during such a wait is paced the same way.

/** Ticks kept immediate at the start of a wait: about 0.1 ms of polling, enough for small reads. */
const IMMEDIATE_TICKS = 32;
/** Delay of every later tick, in milliseconds. */
const PACED_DELAY_MS = 1;

type SetImmediate = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

let waiters = 0;
let original: SetImmediate | null = null;

function install(): void {
  const global = globalThis as { setImmediate?: SetImmediate };
  if (typeof global.setImmediate !== 'function') return;
  const immediate = global.setImmediate;
  original = immediate;
  let ticks = 0;
  global.setImmediate = (callback, ...args) =>
    ++ticks <= IMMEDIATE_TICKS ? immediate(callback, ...args) : setTimeout(callback, PACED_DELAY_MS, ...args);
}

function uninstall(): void {
  if (original) (globalThis as { setImmediate?: SetImmediate }).setImmediate = original;
  original = null;
}

/** Awaits a promise of Dawn's node bindings with their polling paced (see the file comment). */
export async function pacedWait<T>(start: () => Promise<T>): Promise<T> {
  if (waiters++ === 0) install();
  try {
    return await start();
  } finally {
    if (--waiters === 0) uninstall();
  }
}
