import { afterEach, describe, expect, it, vi } from 'vitest';
import { pacedWait, pauseFor } from '../src/gpu/dawn-pacing.js';
import { Tensor } from '../src/tensor/tensor.js';
import { testGpu } from './helpers/gpu.js';

type Tick = (callback: () => void) => unknown;
const globalTick = () => (globalThis as unknown as { setImmediate: Tick }).setImmediate;

/**
 * Re-queues itself with whatever `setImmediate` the global holds at each tick, as Dawn's bindings
 * do; `onTick` runs at the start of every tick.
 */
function pollingPromise(ticksNeeded: number, seen: Tick[], onTick: (tick: number) => void = () => {}): Promise<number> {
  return new Promise((resolve) => {
    let ticks = 0;
    const tick = () => {
      onTick(ticks + 1);
      if (++ticks === ticksNeeded) return resolve(ticks);
      const current = globalTick();
      seen.push(current);
      current(tick);
    };
    const current = globalTick();
    seen.push(current);
    current(tick);
  });
}

describe('pacedWait', () => {
  afterEach(() => vi.restoreAllMocks());

  it('hands the polling a paced setImmediate while waiting, and restores the original after', async () => {
    const original = globalTick();
    const seen: Tick[] = [];
    await expect(pacedWait(() => pollingPromise(100, seen))).resolves.toBe(100);
    expect(seen.length).toBe(100); // the first call and one after each of the 99 ticks that do not resolve
    expect(seen.every((tick) => tick !== original)).toBe(true);
    expect(globalTick()).toBe(original);
  });

  it('paces ticks after the first few with a timer', async () => {
    // 32 immediate ticks, then 1 ms each: 60 ticks cannot finish in under 28 timer periods.
    const t0 = performance.now();
    await pacedWait(() => pollingPromise(60, []));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(27);
  });

  it('restores the original when the awaited promise rejects', async () => {
    const original = globalTick();
    await expect(pacedWait(() => Promise.reject(new Error('device lost')))).rejects.toThrow('device lost');
    expect(globalTick()).toBe(original);
  });

  it('keeps pacing until the last of several concurrent waits ends', async () => {
    const original = globalTick();
    let releaseFirst!: () => void;
    const first = pacedWait(() => new Promise<void>((resolve) => (releaseFirst = resolve)));
    const second = pacedWait(() => pollingPromise(5, []));
    await second;
    expect(globalTick()).not.toBe(original);
    releaseFirst();
    await first;
    expect(globalTick()).toBe(original);
  });

  it('leaves setImmediate as it was after a GPU read and a sync', async () => {
    const gpu = await testGpu();
    const original = globalTick();
    const t = Tensor.fromArray(gpu, new Float32Array([1, 2, 3]), [3]);
    expect(Array.from(await t.read())).toEqual([1, 2, 3]);
    await gpu.sync();
    t.dispose();
    expect(globalTick()).toBe(original);
  });

  // 40 ticks: the first 32 immediate, the 8 after them paced. Timers are counted by their 1 ms
  // delay, so one the test runner may set meanwhile does not count.
  const pacingTimers = (timers: { mock: { calls: unknown[][] } }) => timers.mock.calls.filter(([, delay]) => delay === 1).length;

  it('with pause sleep, paces each tick after the first few by sleeping 1 ms on the thread, never a timer', async () => {
    const original = globalTick();
    const sleeps = vi.spyOn(Atomics, 'wait');
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const seen: Tick[] = [];
    await expect(pacedWait(() => pollingPromise(40, seen), 'sleep')).resolves.toBe(40);
    expect(sleeps).toHaveBeenCalledTimes(8);
    for (const [, , , timeout] of sleeps.mock.calls) expect(timeout).toBe(1);
    expect(pacingTimers(timers)).toBe(0);
    expect(globalTick()).toBe(original);
  });

  it('with pause timer, paces the same ticks with 1 ms timers and never sleeps', async () => {
    const sleeps = vi.spyOn(Atomics, 'wait');
    const timers = vi.spyOn(globalThis, 'setTimeout');
    await pacedWait(() => pollingPromise(40, []), 'timer');
    expect(sleeps).not.toHaveBeenCalled();
    expect(pacingTimers(timers)).toBe(8);
  });

  it('with pause sleep, lets what a tick resolved run before the next tick sleeps', async () => {
    // Dawn resolves other pending promises inside a tick (a mapAsync finishing while a sync waits);
    // their continuations must not wait out the sleep. Tick 32 is the last immediate one; the
    // tick it queues (33, the last) is the first to sleep.
    const order: string[] = [];
    vi.spyOn(Atomics, 'wait').mockImplementation(() => {
      order.push('sleep');
      return 'timed-out';
    });
    let resolveOther!: () => void;
    void new Promise<void>((resolve) => (resolveOther = resolve)).then(() => order.push('continuation'));
    await pacedWait(() => pollingPromise(33, [], (tick) => tick === 32 && resolveOther()), 'sleep');
    expect(order).toEqual(['continuation', 'sleep']);
  });

  it('sleeps under Deno, whose timers fire about 2 ms after setTimeout(f, 1), and uses timers elsewhere', () => {
    expect(pauseFor('deno')).toBe('sleep');
    expect(pauseFor('node')).toBe('timer');
    expect(pauseFor('bun')).toBe('timer');
  });
});
