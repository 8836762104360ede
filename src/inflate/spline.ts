// The 1-D interpolating cubic spline with not-a-knot ends. This is the curve FITPACK fits for
// k = 3 and s = 0: its interior knots are the data points except the 2nd and the 2nd-to-last, so
// the third derivative is continuous there. scipy's interp2d(kind='cubic') on a rectangular grid
// (= RectBivariateSpline(kx=3, ky=3, s=0)) is the tensor product of this spline along each axis.

/**
 * Solves A·X = B for X by Gaussian elimination with partial pivoting. A is n×n, B is n×m, both
 * row-major f64; both are overwritten, X is returned in B's storage.
 */
function solve(a: Float64Array, b: Float64Array, n: number, m: number): Float64Array {
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[pivot * n + col])) pivot = r;
    if (pivot !== col) {
      for (let k = 0; k < n; k++) [a[col * n + k], a[pivot * n + k]] = [a[pivot * n + k], a[col * n + k]];
      for (let k = 0; k < m; k++) [b[col * m + k], b[pivot * m + k]] = [b[pivot * m + k], b[col * m + k]];
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col] / a[col * n + col];
      if (f === 0) continue;
      for (let k = col; k < n; k++) a[r * n + k] -= f * a[col * n + k];
      for (let k = 0; k < m; k++) b[r * m + k] -= f * b[col * m + k];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    for (let k = 0; k < m; k++) {
      let s = b[r * m + k];
      for (let c = r + 1; c < n; c++) s -= a[r * n + c] * b[c * m + k];
      b[r * m + k] = s / a[r * n + r];
    }
  }
  return b;
}

/**
 * The second derivatives M at the data points as a linear map of the values: M = S·y, S n×n.
 * Rows 1..n−2 are the usual C² conditions; rows 0 and n−1 say the third derivative (the slope
 * of the piecewise-linear M) does not jump at x[1] and at x[n−2]: the not-a-knot conditions.
 */
function secondDerivativeMap(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const h = Float64Array.from({ length: n - 1 }, (_, i) => x[i + 1] - x[i]);
  const a = new Float64Array(n * n);
  const rhs = new Float64Array(n * n);
  a[0] = -h[1];
  a[1] = h[0] + h[1];
  a[2] = -h[0];
  for (let i = 1; i < n - 1; i++) {
    a[i * n + i - 1] = h[i - 1];
    a[i * n + i] = 2 * (h[i - 1] + h[i]);
    a[i * n + i + 1] = h[i];
    // 6·((y[i+1] − y[i]) / h[i] − (y[i] − y[i−1]) / h[i−1]) as coefficients of y.
    rhs[i * n + i - 1] = 6 / h[i - 1];
    rhs[i * n + i] = -6 / h[i - 1] - 6 / h[i];
    rhs[i * n + i + 1] = 6 / h[i];
  }
  const last = (n - 1) * n;
  a[last + n - 3] = -h[n - 2];
  a[last + n - 2] = h[n - 3] + h[n - 2];
  a[last + n - 1] = -h[n - 3];
  return solve(a, rhs, n, n);
}

/**
 * The spline through (x[j], y[j]) as a linear map of y: returns W, row-major
 * [targets.length, x.length] in f64, such that the spline's value at targets[i] is Σ_j W[i,j]·y[j].
 * x must be strictly increasing with at least 4 points (FITPACK needs more points than the
 * degree). Targets outside [x[0], x[n−1]] are clamped to the ends, as FITPACK's evaluator
 * (fpbisp) does, so the curve is extended by its end values.
 */
export function cubicSplineWeights(x: ArrayLike<number>, targets: ArrayLike<number>): Float64Array {
  const n = x.length;
  if (n < 4) throw new Error(`cubicSplineWeights: x needs at least 4 points, got ${n}`);
  for (let i = 1; i < n; i++) {
    if (!(x[i] > x[i - 1])) throw new Error(`cubicSplineWeights: x must be strictly increasing, x[${i - 1}] = ${x[i - 1]}, x[${i}] = ${x[i]}`);
  }
  const s = secondDerivativeMap(x);
  const w = new Float64Array(targets.length * n);
  for (let i = 0; i < targets.length; i++) {
    const t = Math.min(Math.max(targets[i], x[0]), x[n - 1]);
    let k = 0; // the segment [x[k], x[k+1]] holding t
    while (k < n - 2 && t >= x[k + 1]) k++;
    const h = x[k + 1] - x[k];
    const b = (t - x[k]) / h;
    const a = 1 - b;
    // s(t) = a·y[k] + b·y[k+1] + h²/6·((a³ − a)·M[k] + (b³ − b)·M[k+1])
    const ca = ((a * a * a - a) * h * h) / 6;
    const cb = ((b * b * b - b) * h * h) / 6;
    const row = w.subarray(i * n, (i + 1) * n);
    for (let j = 0; j < n; j++) row[j] = ca * s[k * n + j] + cb * s[(k + 1) * n + j];
    row[k] += a;
    row[k + 1] += b;
  }
  return w;
}
