import { describe, expect, it } from 'vitest';
import { backgroundValues, foregroundMask } from '../src/data/background.js';
import { cropForeground } from '../src/data/resize.js';

// A [C, Z, Y, X] volume of dims [X, Y, Z] = [6, 5, 4] filled with `background[c]` per channel.
const dims: [number, number, number] = [6, 5, 4];
const n = 120;
const at = (c: number, x: number, y: number, z: number) => ((c * 4 + z) * 5 + y) * 6 + x;
function volume(background: number[]): Float32Array {
  const image = new Float32Array(background.length * n);
  background.forEach((b, c) => image.fill(b, c * n, (c + 1) * n));
  return image;
}

describe('the scan background', () => {
  it('is the value the 8 corners share, per channel (a z-scored brain: −mean/std outside it)', () => {
    const image = volume([-3.55, -2.75]);
    image[at(0, 2, 2, 1)] = 0.4; // tissue in channel 0 only
    image[at(1, 3, 1, 2)] = -2.7; // tissue darker than 0 but not the background, channel 1 only
    expect([...backgroundValues(image, 2, dims)]).toEqual([Math.fround(-3.55), Math.fround(-2.75)]);
    const mask = foregroundMask(image, 2, dims);
    expect([...mask.keys()].filter((i) => mask[i])).toEqual([at(0, 2, 2, 1), at(0, 3, 1, 2)]);
  });

  it('is 0 when the corners differ (tissue reaching one corner), the usual nonzero rule', () => {
    const image = volume([0]);
    image[at(0, 5, 4, 3)] = 2; // the last corner
    image[at(0, 1, 1, 1)] = -1;
    expect([...backgroundValues(image, 1, dims)]).toEqual([0]);
    const mask = foregroundMask(image, 1, dims);
    expect([...mask.keys()].filter((i) => mask[i])).toEqual([at(0, 1, 1, 1), at(0, 5, 4, 3)]);
  });

  it('cropForeground boxes the brain of a z-scored scan, not its whole grid', () => {
    const image = volume([-3.55, 7]);
    image[at(0, 1, 2, 1)] = 0; // a 0 inside the brain is tissue here: it differs from −3.55
    image[at(1, 4, 3, 2)] = 6;
    expect(cropForeground(image, 2, dims).box).toEqual({ start: [1, 2, 1], end: [5, 4, 3] });
    expect(cropForeground(volume([-3.55]), 1, dims, 1).box).toEqual({ start: [0, 0, 0], end: [6, 5, 4] }); // all background: the whole grid
  });

  it('refuses an image that is not whole channels of dims', () => {
    expect(() => foregroundMask(new Float32Array(119), 1, dims)).toThrow(/foregroundMask: 119 values are not 1 channel\(s\) of \[6, 5, 4\]/);
  });
});
