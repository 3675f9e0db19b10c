import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, divDD, fastTwoSum, twoProd, twoSum } from '../numeric/dd.js';
import { HALF_INEXACT, halfPlus, mulRoundSub } from '../smooth/round.js';

/** x(x + 3)/6 rounded once, for −3 ≤ x ≤ 3 (and NaN): x + 3 = s + sl exactly, then x·s error-free, plus x·sl (tiny). */
function middleForward(t: number): number {
  if (Math.abs(t) < HALF_INEXACT) return halfPlus(t, 1); // t/2 + t²/6: the square only breaks ties
  const s = twoSum(t, 3);
  const sl = dd.lo;
  const p = twoProd(t, s);
  const n = fastTwoSum(p, dd.lo + t * sl);
  return divDD(n, dd.lo, 6, 0);
}

/**
 * dy·(2x + 3)/6 rounded once, for −3 < x < 3 (and NaN): 2x + 3 = s + sl
 * exactly, (2x + 3)/6 in double-double, and dy times it through
 * `mulRoundSub`, which also rounds once for a huge dy (beyond Dekker's split;
 * it was three roundings, one ULP off at dy = 8.2e307) and for products just
 * above the subnormals (one ULP off at 2.2e-308).
 */
function middleBackward(t: number, d: number): number {
  // A subnormal t: x/3 underflows in (2x + 3)/6 = 1/2 + x/3, yet it breaks the ties of dy/2, by the sign of dy·x.
  if (Math.abs(t) < HALF_INEXACT && t !== 0) return halfPlus(d, Math.sign(d) * Math.sign(t));
  const s = twoSum(2 * t, 3);
  const q = divDD(s, dd.lo, 6, 0);
  return mulRoundSub(d, q, dd.lo);
}

/**
 * Forward and backward run in blocks of BLOCK elements and two passes, so that
 * the exact middle piece runs only where it is the answer (the per-element
 * form computed it for every element and dropped it for the 5/8 of [-8, 8]
 * outside (−3, 3)), with no branch on the data:
 * 1. sortOut writes the outer pieces, [low, high] at [x ≤ −3] + 2·[x ≥ 3]
 *    from a small table (piecewise.ts), and lists the other elements
 *    (−3 < x < 3, and NaN, which fails both comparisons), with their x and
 *    `other` (dy, for the backward).
 * 2. The middle piece for the listed ones.
 */
const BLOCK = 1024;
const listedAt = new Int32Array(BLOCK);
const listedX = new Float64Array(BLOCK);
const listedOther = new Float64Array(BLOCK);
/** sortOut's candidates: [listed (overwritten in pass 2), low, high]. */
const pieces = new Float64Array(3);

/**
 * Pass 1 over [start, end): target = low for x ≤ −3 and high[i] for x ≥ 3
 * (x itself in the forward, dy in the backward); returns how many are listed.
 */
function sortOut(x: Float64Array, target: Float64Array, start: number, end: number, lowArg: number, high: Float64Array): number {
  const piece = pieces;
  piece[1] = lowArg;
  const at = listedAt;
  const xs = listedX;
  const others = listedOther;
  let k = 0;
  for (let i = start; i < end; i++) {
    const v = x[i];
    const h = high[i];
    const below = +(v <= -3);
    const above = +(v >= 3);
    piece[2] = h;
    target[i] = piece[below + 2 * above];
    at[k] = i;
    xs[k] = v;
    others[k] = h;
    k += 1 - (below | above);
  }
  return k;
}

/**
 * HardSwish, x·relu6(x + 3)/6: 0 for x ≤ −3, x for x ≥ 3, x(x + 3)/6 between.
 *
 * The middle piece is computed exactly and rounded once: x + 3 as an exact
 * sum (TwoSum), x·(x + 3) as an error-free product (Dekker), the division by
 * 6 in double-double, so the result is the double nearest x(x + 3)/6 (up to
 * near-ties). Done naively it is three roundings, and near x = −3, where
 * x + 3 is small, still fine, but near 0 and across the grid errors of 1–2 ULP
 * add up. The outer pieces are written first and the middle computed only
 * where −3 < x < 3 (see sortOut); NaN goes to the middle and stays NaN.
 *
 * Backward is dy·(x/3 + ½) = dy·(2x + 3)/6 in the middle, again with one
 * rounding of the whole product; 0 for x ≤ −3 and dy for x ≥ 3 (current
 * PyTorch: 0 at −3 and 1 at 3). dy beyond 2^995 or infinite skips the exact
 * product, whose split would overflow.
 */
export const hardswish = defineActivation({
  name: 'hardswish',
  title: 'HardSwish',
  summary: 'A piecewise-quadratic swish: x·relu6(x + 3)/6.',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula:
    '\\operatorname{HardSwish}(x) = x \\cdot \\frac{\\operatorname{ReLU6}(x + 3)}{6} = \\begin{cases} 0 & x \\le -3 \\\\ x(x + 3)/6 & -3 < x < 3 \\\\ x & x \\ge 3 \\end{cases}',
  derivative:
    "\\operatorname{HardSwish}'(x) = \\begin{cases} 0 & x \\le -3 \\\\ x/3 + 1/2 & -3 < x < 3 \\\\ 1 & x \\ge 3 \\end{cases}",
  metadata: {
    range: [-0.375, 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: false,
    bounded: false,
    kinks: 'The derivative is taken as 0 at x = −3 and 1 at x = 3 (current PyTorch; older PyTorch gave −1/2 and 3/2).',
    pros: [
      'Tracks swish closely with only a clamp, an addition and a multiplication: no exponential, which suits mobile and quantised inference (MobileNetV3).',
      'Non-monotonic dip below 0 like swish, and unbounded above, so no saturation for large inputs.',
    ],
    cons: [
      'The gradient is exactly 0 below −3, so units pushed there stop learning.',
      'The derivative jumps at ±3 (it is not smooth), unlike swish.',
      'Outputs are not zero-centred.',
    ],
    references: [
      { title: 'Howard et al. (2019), Searching for MobileNetV3', url: 'https://arxiv.org/abs/1905.02244' },
      { title: 'PyTorch documentation, torch.nn.Hardswish', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Hardswish.html' },
    ],
  },
  example: { inputs: [[-4, -1.5, 0, 1.5, 4]] },
  forward({ x, out }) {
    // For x ≤ −3 the middle piece is evaluated at −3 (the clamp): the same value for every such x.
    const low = middleForward(-3);
    for (let start = 0; start < x.length; start += BLOCK) {
      const end = Math.min(x.length, start + BLOCK);
      const count = sortOut(x, out, start, end, low, x);
      for (let m = 0; m < count; m++) out[listedAt[m]] = middleForward(listedX[m]);
    }
  },
  backward({ x, dy, dx }) {
    for (let start = 0; start < x.length; start += BLOCK) {
      const end = Math.min(x.length, start + BLOCK);
      const count = sortOut(x, dx, start, end, 0, dy);
      for (let m = 0; m < count; m++) dx[listedAt[m]] = middleBackward(listedX[m], listedOther[m]);
    }
    return undefined;
  },
});
