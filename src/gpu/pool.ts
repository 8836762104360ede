// A pool of storage buffers, bucketed by size, so a training loop that allocates the same shapes
// every step reuses buffers instead of creating and destroying them. It also keeps the books:
// how many buffers and bytes are live (held by tensors) and the peak.

export interface MemoryStats {
  liveBuffers: number;
  liveBytes: number;
  peakLiveBytes: number;
  pooledBuffers: number;
  pooledBytes: number;
}

export const STORAGE_USAGE = 0x0080 | 0x0004 | 0x0008; // STORAGE | COPY_SRC | COPY_DST

/**
 * Rounds a request up to its bucket: multiples of 256 bytes below 64 KiB, then eight buckets per
 * power of two (at most 12.5% slack), so similar shapes share buffers.
 */
export function bucketSize(bytes: number): number {
  const b = Math.max(bytes, 4);
  if (b <= 65536) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private live = new Set<GPUBuffer>();
  private liveBytes = 0;
  private peak = 0;
  private pooledBytes = 0;
  private pooledCount = 0;

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(
        `cannot allocate a GPU buffer of ${bytes} bytes: the adapter's maxBufferSize is ${this.maxBufferSize} bytes`,
      );
    }
    const reused = this.free.get(size)?.pop();
    let buffer: GPUBuffer;
    if (reused) {
      buffer = reused;
      this.pooledBytes -= size;
      this.pooledCount--;
    } else {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE });
    }
    this.live.add(buffer);
    this.liveBytes += size;
    this.peak = Math.max(this.peak, this.liveBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) throw new Error('BufferPool.release: buffer is not live (released twice?)');
    this.liveBytes -= buffer.size;
    let list = this.free.get(buffer.size);
    if (!list) this.free.set(buffer.size, (list = []));
    list.push(buffer);
    this.pooledBytes += buffer.size;
    this.pooledCount++;
  }

  /** Destroys every pooled (not live) buffer, giving the memory back to the driver. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
    this.pooledCount = 0;
  }

  resetPeak(): void {
    this.peak = this.liveBytes;
  }

  stats(): MemoryStats {
    return {
      liveBuffers: this.live.size,
      liveBytes: this.liveBytes,
      peakLiveBytes: this.peak,
      pooledBuffers: this.pooledCount,
      pooledBytes: this.pooledBytes,
    };
  }

  destroyAll(): void {
    this.trim();
    for (const b of this.live) b.destroy();
    this.live.clear();
    this.liveBytes = 0;
  }
}
