// Handwriting-like digits 0–9 drawn as anti-aliased strokes, white on black, 28×28, fitted into a
// 20×20 box and centred by centre of mass — the way MNIST digits were prepared.

type Point = [number, number];

const arc = (cx: number, cy: number, rx: number, ry: number, from: number, to: number, n = 24): Point[] =>
  Array.from({ length: n + 1 }, (_, i) => {
    const t = ((from + ((to - from) * i) / n) * Math.PI) / 180;
    return [cx + rx * Math.cos(t), cy + ry * Math.sin(t)];
  });

/** Strokes per digit in a unit box (x right, y down); angles in degrees, 0° = right, 90° = down. */
const STROKES: Point[][][] = [
  [arc(0.5, 0.5, 0.34, 0.48, 0, 360)],
  [[[0.38, 0.15], [0.56, 0.0], [0.56, 1.0]]],
  [[...arc(0.5, 0.28, 0.34, 0.28, 200, 360), [0.76, 0.48], [0.12, 1.0], [0.9, 1.0]]],
  [arc(0.47, 0.25, 0.33, 0.25, 210, 450), arc(0.47, 0.73, 0.38, 0.27, 270, 510)],
  [[[0.62, 0.0], [0.08, 0.68], [0.92, 0.68]], [[0.66, 0.3], [0.66, 1.0]]],
  [[[0.85, 0.0], [0.25, 0.0], [0.18, 0.45], ...arc(0.48, 0.68, 0.36, 0.3, 240, 500)]],
  [[[0.72, 0.0], ...arc(0.72, 0.62, 0.55, 0.62, 250, 180, 12)], arc(0.5, 0.72, 0.32, 0.28, 0, 360)],
  [[[0.08, 0.0], [0.92, 0.0], [0.38, 1.0]]],
  [arc(0.5, 0.24, 0.27, 0.24, 0, 360), arc(0.5, 0.73, 0.33, 0.27, 0, 360)],
  [arc(0.5, 0.3, 0.32, 0.3, 0, 360), [[0.82, 0.3], [0.7, 1.0]]],
];

function distanceToSegment(p: Point, a: Point, b: Point): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
}

/** A 28×28 grey image (values in [0, 1]) of `digit`. */
export function drawDigit(digit: number): Float32Array {
  const box = 20;
  const strokeWidth = 2.6; // pixels, about MNIST's pen
  const pad = 1.5;
  const glyph = new Float32Array(box * box);
  const scale = box - 2 * pad;
  for (let y = 0; y < box; y++) {
    for (let x = 0; x < box; x++) {
      const p: Point = [(x + 0.5 - pad) / scale, (y + 0.5 - pad) / scale];
      let d = Infinity;
      for (const stroke of STROKES[digit]) for (let i = 1; i < stroke.length; i++) d = Math.min(d, distanceToSegment(p, stroke[i - 1], stroke[i]));
      glyph[y * box + x] = Math.max(0, Math.min(1, strokeWidth / 2 + 0.5 - d * scale));
    }
  }
  let mass = 0, my = 0, mx = 0;
  glyph.forEach((v, i) => { mass += v; my += v * Math.floor(i / box); mx += v * (i % box); });
  const [oy, ox] = [Math.round(14 - my / mass - 0.5), Math.round(14 - mx / mass - 0.5)];
  const out = new Float32Array(28 * 28);
  glyph.forEach((v, i) => {
    const y = Math.floor(i / box) + oy, x = (i % box) + ox;
    if (y >= 0 && y < 28 && x >= 0 && x < 28) out[y * 28 + x] = v;
  });
  return out;
}
