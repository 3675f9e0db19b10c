/**
 * Branch-free loops shared by the piecewise-linear activations. A ternary on
 * the data compiles to a branch in V8, mispredicted half the time on random
 * signs (3 to 5× slower); here each element's candidates sit in a small
 * Float64Array and comparison flags (`+(a < b)`, a setcc, no branch) index the
 * one to take. A select read from a table is the select itself, bit for bit,
 * ±0, infinities and NaN included.
 */

/**
 * out = x <= lo ? lo : x >= hi ? hi : x, for lo < hi; NaN stays NaN. That is
 * min(max(x, lo), hi) where a zero bound cannot meet a zero of the other sign
 * (lo = +0 turns −0 into +0, as Math.max(−0, +0) does). Four lanes of
 * [x, lo, hi], unrolled.
 */
export function clampForward(x: Float64Array, out: Float64Array, lo: number, hi: number): void {
  const n = x.length;
  const t = new Float64Array(16);
  for (let lane = 0; lane < 16; lane += 4) {
    t[lane + 1] = lo;
    t[lane + 2] = hi;
  }
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const a = x[i];
    const b = x[i + 1];
    const c = x[i + 2];
    const d = x[i + 3];
    t[0] = a;
    t[4] = b;
    t[8] = c;
    t[12] = d;
    out[i] = t[+(a <= lo) + 2 * +(a >= hi)];
    out[i + 1] = t[4 + +(b <= lo) + 2 * +(b >= hi)];
    out[i + 2] = t[8 + +(c <= lo) + 2 * +(c >= hi)];
    out[i + 3] = t[12 + +(d <= lo) + 2 * +(d >= hi)];
  }
  for (; i < n; i++) {
    const a = x[i];
    t[0] = a;
    out[i] = t[+(a <= lo) + 2 * +(a >= hi)];
  }
}

/** dx = dy where lo < x < hi, +0 elsewhere, NaN for a NaN x: table [0, dy, NaN, NaN] at [inside] | 2·[x is NaN]. */
export function gradientInside(x: Float64Array, dy: Float64Array, dx: Float64Array, lo: number, hi: number): void {
  const t = new Float64Array(4);
  t[2] = NaN;
  t[3] = NaN;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    t[1] = dy[i];
    dx[i] = t[(+(v > lo) & +(v < hi)) | (+(v !== v) << 1)];
  }
}

/**
 * dx = dy where x < lo or x > hi, +0 elsewhere, NaN for a NaN x (as
 * gradientInside). lo = −∞ makes it dy where x > hi: relu, threshold.
 */
export function gradientOutside(x: Float64Array, dy: Float64Array, dx: Float64Array, lo: number, hi: number): void {
  const t = new Float64Array(4);
  t[2] = NaN;
  t[3] = NaN;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    t[1] = dy[i];
    dx[i] = t[+(v < lo) | +(v > hi) | (+(v !== v) << 1)];
  }
}
