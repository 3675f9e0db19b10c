import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { SPLIT_SAFE } from '../exact-linear.js';
import { dd, divDD, fastTwoSum, twoProd, twoSum } from '../numeric/dd.js';

/**
 * HardSwish, x·relu6(x + 3)/6: 0 for x ≤ −3, x for x ≥ 3, x(x + 3)/6 between.
 *
 * The middle piece is computed exactly and rounded once: x + 3 as an exact
 * sum (TwoSum), x·(x + 3) as an error-free product (Dekker), the division by
 * 6 in double-double, so the result is the double nearest x(x + 3)/6 (up to
 * near-ties). Done naively it is three roundings, and near x = −3, where
 * x + 3 is small, still fine, but near 0 and across the grid errors of 1–2 ULP
 * add up. The middle is evaluated at x clamped to [−3, 3] and selected, so the
 * loop has no unpredictable branch; NaN falls through to the middle and stays
 * NaN.
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
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const t = Math.min(Math.max(v, -3), 3);
      // t(t + 3) exactly: s + sl = t + 3, then t·s error-free, plus t·sl (tiny).
      const s = twoSum(t, 3);
      const sl = dd.lo;
      const p = twoProd(t, s);
      const n = fastTwoSum(p, dd.lo + t * sl);
      const mid = divDD(n, dd.lo, 6, 0);
      out[i] = v >= 3 ? v : mid;
    }
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const d = dy[i];
      const t = Math.min(Math.max(v, -3), 3);
      // dy·(2t + 3)/6: 2t + 3 = s + sl exactly, dy·s error-free, one rounding at the end.
      const s = twoSum(2 * t, 3);
      const sl = dd.lo;
      let mid: number;
      if (Math.abs(d) < SPLIT_SAFE) {
        const p = twoProd(d, s);
        const n = fastTwoSum(p, dd.lo + d * sl);
        mid = divDD(n, dd.lo, 6, 0);
      } else {
        mid = d * ((s + sl) / 6);
      }
      // NaN fails both comparisons and gets the middle, NaN.
      dx[i] = v <= -3 ? 0 : v >= 3 ? d : mid;
    }
    return undefined;
  },
});
