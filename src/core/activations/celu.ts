import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, divDD } from '../numeric/dd.js';
import { expSplit, expX, scaleRoundMul } from '../numeric/exp.js';
import { expm1X } from '../smooth/expm1.js';
import { DEKKER_SAFE } from '../numeric/exact-sum.js';
import { mulRoundSub } from '../smooth/round.js';

const TINY = 2 ** -54;

/**
 * x/α as a double-double. Below |x| = DEKKER_SAFE divDD's residual x − q·α
 * comes from a Dekker product of about x's size, whose low part underflows (α =
 * 7.5e-311, x = −2e-308: q off by 2^-43, the backward 3 ULP off); x and α are
 * scaled by 2^600 first. α·2^600 cannot overflow: callers pass |x/α| ≥ 2^-54,
 * so α < 2^-914 there.
 */
function quotientX(v: number, alpha: number): number {
  return Math.abs(v) < DEKKER_SAFE ? divDD(v * 2 ** 600, 0, alpha * 2 ** 600, 0) : divDD(v, 0, alpha, 0);
}

/**
 * CELU, max(0, x) + min(0, α(e^(x/α) − 1)).
 *
 * x/α is rarely a double: it is formed as a double-double q = qh + ql
 * (divDD) and the double-double expm1 takes both parts, since expm1 of the
 * rounded quotient can be off by up to 1 ULP of x/α, which becomes up to 1
 * ULP of the result before any other error. α·expm1(q) is rounded once.
 * |x/α| < 2^-54 gives x (α(e^q − 1) = x(1 + q/2 + …) rounds to x); x/α < −1e5
 * gives −α. Backward dy·e^(x/α), rounded once (mantissa·2^k below x/α = −690);
 * at x = 0 the derivative is 1 from both sides.
 */
export const celu = defineActivation({
  name: 'celu',
  title: 'Continuously differentiable exponential linear unit',
  summary: 'ELU reparametrised as α(e^(x/α) − 1), so the slope at 0 is 1 from both sides for every α.',
  kind: 'elementwise',
  params: z.strictObject({
    alpha: z
      .number()
      .positive()
      .default(1)
      .describe('α > 0: negative inputs saturate at −α; the slope at 0 stays 1 for every α. (α = 0 would divide by zero; PyTorch rejects it too.)'),
  }),
  learnable: [],
  formula: '\\operatorname{CELU}(x) = \\max(0, x) + \\min\\bigl(0,\\ \\alpha\\,(e^{x/\\alpha} - 1)\\bigr)',
  derivative: "\\operatorname{CELU}'(x) = \\begin{cases} 1 & x > 0 \\\\ e^{x/\\alpha} & x \\le 0 \\end{cases}",
  metadata: {
    range: [-1, 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'At x = 0 the derivative is 1 (e^0 from the left, 1 from the right), so CELU is C¹ for every α; its second derivative jumps from 1/α to 0 there.',
    pros: [
      'C¹ for every α, unlike ELU, whose slope jumps at 0 when α ≠ 1.',
      'α sets the saturation level without changing the unit slope at 0.',
      'Negative outputs pull the mean towards zero, and negative inputs keep a gradient, so units do not die.',
    ],
    cons: [
      'An exponential and a division per negative element.',
      'The gradient vanishes for inputs far below −α.',
      'Not twice differentiable at 0; unbounded above.',
    ],
    references: [
      { title: 'Barron (2017), Continuously Differentiable Exponential Linear Units', url: 'https://arxiv.org/abs/1704.07483' },
      { title: 'PyTorch documentation, torch.nn.CELU', url: 'https://pytorch.org/docs/stable/generated/torch.nn.CELU.html' },
    ],
  },
  example: { inputs: [[-40, -3, -1, 0, 2]], params: { alpha: 2 } },
  forward({ x, out, params }) {
    const alpha = params.alpha;
    if (alpha === 1) {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        out[i] = v > 0 ? v : expm1X(v, 0);
      }
      return;
    }
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v > 0) {
        out[i] = v;
        continue;
      }
      const q = v / alpha;
      if (Math.abs(q) < TINY) out[i] = v;
      else if (q >= -1e5) out[i] = mulRoundSub(alpha, expm1X(quotientX(v, alpha), dd.lo), dd.lo);
      else out[i] = q === q ? -alpha : NaN;
    }
  },
  backward({ x, dy, dx, params }) {
    const alpha = params.alpha;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const g = dy[i];
      if (v > 0) {
        dx[i] = g;
        continue;
      }
      let qh = v;
      let ql = 0;
      if (alpha !== 1) {
        qh = v / alpha;
        if (Math.abs(qh) >= TINY && qh >= -1e5) {
          qh = quotientX(v, alpha);
          ql = dd.lo;
        }
      }
      if (qh >= -690) {
        dx[i] = mulRoundSub(g, expX(qh, ql), dd.lo);
      } else if (qh >= -1e5) {
        const m = expSplit(qh, ql);
        const k = dd.k;
        dx[i] = scaleRoundMul(m, dd.lo, k, g);
      } else {
        dx[i] = qh === qh ? g * 0 : NaN;
      }
    }
    return undefined;
  },
});
