/**
 * The leaky ReLU forward, shared by leaky_relu and by prelu with one α for
 * the whole batch (the same function under two names).
 */

/**
 * out = x·(x > 0 ? 1 : slope), rounded once; NaN propagates and −0 keeps its
 * sign. The factor is m + slope·(1 − m) with m = [x > 0] as a number: exactly
 * 1 or slope (slope·0 is ±0 and 1 ± 0 is 1), and the comparison compiles to a
 * flag, where a ternary select compiled to a branch (5× slower on random
 * signs). Unrolled by four.
 */
export function leakyForward(x: Float64Array, out: Float64Array, slope: number): void {
  const n = x.length;
  if (!Number.isFinite(slope) || Object.is(slope, -0)) {
    // slope·0 would be NaN (the schemas allow only finite numbers: this is for direct callers), and for slope −0
    // the factor would come out +0 (0 + −0).
    for (let i = 0; i < n; i++) out[i] = x[i] * (x[i] > 0 ? 1 : slope);
    return;
  }
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    const ma = +(a > 0);
    out[i] = a * (ma + slope * (1 - ma));
    const mb = +(b > 0);
    out[i + 1] = b * (mb + slope * (1 - mb));
    const mc = +(c > 0);
    out[i + 2] = c * (mc + slope * (1 - mc));
    const md = +(d > 0);
    out[i + 3] = d * (md + slope * (1 - md));
  }
  for (; i < n; i++) {
    const a = x[i];
    const ma = +(a > 0);
    out[i] = a * (ma + slope * (1 - ma));
  }
}
