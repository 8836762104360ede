// The shape check shared by the volume operations of data/ (resize.ts, background.ts); internal.

/** Throws unless `data` is `channels` (a positive integer) channels of a grid of `dims` ([C, Z, Y, X] over dims [X, Y, Z]). */
export function checkVolume(op: string, data: ArrayLike<number>, channels: number, dims: readonly number[]): void {
  if (!(Number.isInteger(channels) && channels >= 1) || data.length !== channels * dims[0] * dims[1] * dims[2]) {
    throw new Error(`${op}: ${data.length} values are not ${channels} channel(s) of [${dims.join(', ')}]`);
  }
}
