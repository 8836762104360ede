import { describe, expect, it } from 'vitest';
import { pacedWait } from '../src/gpu/dawn-pacing.js';
import { Tensor } from '../src/tensor/tensor.js';
import { testGpu } from './helpers/gpu.js';

type Tick = (callback: () => void) => unknown;
const globalTick = () => (globalThis as unknown as { setImmediate: Tick }).setImmediate;

/** Re-queues itself with whatever `setImmediate` the global holds at each tick, as Dawn's bindings do. */
function pollingPromise(ticksNeeded: number, seen: Tick[]): Promise<number> {
  return new Promise((resolve) => {
    let ticks = 0;
    const tick = () => {
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
});
