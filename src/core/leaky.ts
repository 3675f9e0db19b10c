/**
 * The leaky ReLU forward, shared by leaky_relu and by prelu (the same function
 * under two names; prelu may also give one α per column or per element).
 */

/**
 * out = x·(x > 0 ? 1 : slope), rounded once; NaN propagates and −0 keeps its
 * sign. The factor is taken from a table [slope, 1] at [x > 0], a flag: the
 * ternary compiled to a branch, 5× slower on random signs. Unrolled by four.
 */
export function leakyForward(x: Float64Array, out: Float64Array, slope: number): void {
  const n = x.length;
  const factor = new Float64Array(2);
  factor[0] = slope;
  factor[1] = 1;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    out[i] = a * factor[+(a > 0)];
    out[i + 1] = b * factor[+(b > 0)];
    out[i + 2] = c * factor[+(c > 0)];
    out[i + 3] = d * factor[+(d > 0)];
  }
  for (; i < n; i++) {
    const a = x[i];
    out[i] = a * factor[+(a > 0)];
  }
}

/**
 * As leakyForward with a slope per position of a repeating period: one per
 * column (`slopes.length` = cols) or one per element (the whole batch). The
 * table interleaves them with ones: [slope₀, 1, slope₁, 1, …].
 */
export function leakyForwardSlopes(x: Float64Array, out: Float64Array, slopes: Float64Array): void {
  const n = x.length;
  const period = slopes.length;
  const factors = new Float64Array(2 * period);
  for (let c = 0; c < period; c++) {
    factors[2 * c] = slopes[c];
    factors[2 * c + 1] = 1;
  }
  for (let o = 0; o < n; o += period) {
    let c = 0;
    for (; c + 3 < period; c += 4) {
      const a = x[o + c];
      const b = x[o + c + 1];
      const d = x[o + c + 2];
      const e = x[o + c + 3];
      out[o + c] = a * factors[2 * c + +(a > 0)];
      out[o + c + 1] = b * factors[2 * c + 2 + +(b > 0)];
      out[o + c + 2] = d * factors[2 * c + 4 + +(d > 0)];
      out[o + c + 3] = e * factors[2 * c + 6 + +(e > 0)];
    }
    for (; c < period; c++) {
      const v = x[o + c];
      out[o + c] = v * factors[2 * c + +(v > 0)];
    }
  }
}
