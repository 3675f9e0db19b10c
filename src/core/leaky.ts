/**
 * The leaky ReLU forward, shared by leaky_relu and by prelu with one α for
 * the whole batch (the same function under two names).
 */

/**
 * out = x·(x > 0 ? 1 : slope): a select between two numbers and one
 * multiplication, rounded once; NaN propagates and −0 keeps its sign.
 * Unrolled by four: selects, not branches, on random signs.
 */
export function leakyForward(x: Float64Array, out: Float64Array, slope: number): void {
  const n = x.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    out[i] = a * (a > 0 ? 1 : slope);
    out[i + 1] = b * (b > 0 ? 1 : slope);
    out[i + 2] = c * (c > 0 ? 1 : slope);
    out[i + 3] = d * (d > 0 ? 1 : slope);
  }
  for (; i < n; i++) {
    const a = x[i];
    out[i] = a * (a > 0 ? 1 : slope);
  }
}
