// IEEE 754 binary16 ("half") decoding. Every half value is exactly representable as an f32, so
// the decode is exact; NaN payloads are not kept (every NaN decodes to the canonical NaN).

/** The value of the half-precision bit pattern `bits` (0..0xffff). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  // Zero and subnormals: no implicit leading 1, fixed exponent 2⁻¹⁴, so fraction · 2⁻¹⁴ · 2⁻¹⁰.
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
