/**
 * The leaky ReLU forward, shared by leaky_relu and by prelu (the same function
 * under two names; prelu may also give one α per column or per element).
 */

/** Slopes the factor below cannot carry: slope·0 is NaN for ±∞ and NaN (the schemas allow only finite numbers: for direct callers), and 0 + (−0) is +0. */
const needsSelect = (slope: number): boolean => !Number.isFinite(slope) || Object.is(slope, -0);

/**
 * out = x·(x > 0 ? 1 : slope), rounded once; NaN propagates and −0 keeps its
 * sign. The factor is m + slope·(1 − m) with m = [x > 0] as a number: exactly
 * 1 or slope (slope·0 is ±0 and 1 ± 0 is 1), and the comparison compiles to a
 * flag, where a ternary select compiled to a branch (5× slower on random
 * signs). Unrolled by four.
 */
export function leakyForward(x: Float64Array, out: Float64Array, slope: number): void {
  const n = x.length;
  if (needsSelect(slope)) {
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

/**
 * As leakyForward with a slope per position of a repeating period: one per
 * column (`slopes.length` = cols) or one per element (the whole batch).
 */
export function leakyForwardSlopes(x: Float64Array, out: Float64Array, slopes: Float64Array): void {
  const n = x.length;
  const period = slopes.length;
  if (slopes.some(needsSelect)) {
    for (let i = 0; i < n; i++) out[i] = x[i] * (x[i] > 0 ? 1 : slopes[i % period]);
    return;
  }
  for (let o = 0; o < n; o += period) {
    let c = 0;
    for (; c + 3 < period; c += 4) {
      const a = x[o + c];
      const b = x[o + c + 1];
      const d = x[o + c + 2];
      const e = x[o + c + 3];
      const ma = +(a > 0);
      out[o + c] = a * (ma + slopes[c] * (1 - ma));
      const mb = +(b > 0);
      out[o + c + 1] = b * (mb + slopes[c + 1] * (1 - mb));
      const md = +(d > 0);
      out[o + c + 2] = d * (md + slopes[c + 2] * (1 - md));
      const me = +(e > 0);
      out[o + c + 3] = e * (me + slopes[c + 3] * (1 - me));
    }
    for (; c < period; c++) {
      const v = x[o + c];
      const m = +(v > 0);
      out[o + c] = v * (m + slopes[c] * (1 - m));
    }
  }
}
