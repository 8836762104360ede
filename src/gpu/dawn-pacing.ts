// Waiting on Dawn's node bindings without burning a CPU core.
//
// While a promise of the `webgpu` package is pending (mapAsync, onSubmittedWorkDone), the
// bindings poll for finished work by re-queuing themselves with the global `setImmediate`, so
// the main thread spins at 100% of a core for as long as the GPU works. On a CPU adapter
// (lavapipe) that core is taken from the driver's own worker threads: measured on 2 cores, a
// ViT-Tiny training step lost about 30% of its speed to it. The bindings look `setImmediate` up
// on the global object at every tick (in Node, Deno and Bun alike), so while we wait we give them
// a paced one: the first few ticks stay immediate (short waits keep their latency), later ones
// come 1 ms apart.
//
// How a later tick waits its millisecond depends on the runtime (docs/performance.md, "Runtimes").
// Node's and Bun's timers fire 1.1 ms after `setTimeout(f, 1)`, so there the tick is a timer and
// the event loop stays free. Deno's timers run on a coarser grid: `setTimeout(f, 1)` fires after
// about 2.1 ms, so the poll would come at half the rate and a wait would end on average 0.5 ms
// later (more under load); there a tick re-queues with the real `setImmediate` and the queued
// tick first sleeps 1 ms on the thread (`Atomics.wait`, no CPU used). That blocks the event loop
// for at most 1 ms at a time, and only while we wait on the GPU.
//
// Other code that calls `setImmediate` during such a wait is paced the same way.

import { detectRuntime, type RuntimeName } from './device.js';

/** Ticks kept immediate at the start of a wait: about 0.1 ms of polling, enough for small reads. */
const IMMEDIATE_TICKS = 32;
/** Delay of every later tick, in milliseconds. */
const PACED_DELAY_MS = 1;

/** How a paced tick waits: a 1 ms timer, or a 1 ms sleep of the thread then an immediate. */
export type PacedPause = 'timer' | 'sleep';

/** The pause each runtime gets: a sleep where timers are too coarse for 1 ms (see the file comment). */
export function pauseFor(runtime: RuntimeName): PacedPause {
  return runtime === 'deno' ? 'sleep' : 'timer';
}

type SetImmediate = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

let waiters = 0;
let original: SetImmediate | null = null;

/** A cell nobody notifies: `Atomics.wait` on it is a plain sleep with a timeout. */
let sleepCell: Int32Array | null = null;

function sleep(ms: number): void {
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}

function install(pause: PacedPause): void {
  const global = globalThis as { setImmediate?: SetImmediate };
  if (typeof global.setImmediate !== 'function') return;
  const immediate = global.setImmediate;
  original = immediate;
  let ticks = 0;
  const paced: SetImmediate =
    pause === 'timer'
      ? (callback, ...args) => setTimeout(callback, PACED_DELAY_MS, ...args)
      : // The sleep opens the queued tick, so whatever this tick resolved runs before it.
        (callback, ...args) =>
          immediate(() => {
            sleep(PACED_DELAY_MS);
            callback(...args);
          });
  global.setImmediate = (callback, ...args) => (++ticks <= IMMEDIATE_TICKS ? immediate(callback, ...args) : paced(callback, ...args));
}

function uninstall(): void {
  if (original) (globalThis as { setImmediate?: SetImmediate }).setImmediate = original;
  original = null;
}

/**
 * Awaits a promise of Dawn's node bindings with their polling paced (see the file comment).
 * `pause` is this runtime's unless given (tests run both kinds in one runtime); concurrent waits
 * share the first one's.
 */
export async function pacedWait<T>(start: () => Promise<T>, pause: PacedPause = pauseFor(detectRuntime())): Promise<T> {
  if (waiters++ === 0) install(pause);
  try {
    return await start();
  } finally {
    if (--waiters === 0) uninstall();
  }
}
