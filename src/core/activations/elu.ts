import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, mulDD1 } from '../numeric/dd.js';
import { expSplit, expX, exponentNear, mulPow2, scaleRoundMul } from '../numeric/exp.js';
import { expm1X } from '../smooth/expm1.js';
import { mulRoundSub } from '../smooth/round.js';

/**
 * ELU, x if x > 0 else α(e^x − 1).
 *
 * e^x − 1 comes from the double-double expm1 of `smooth/expm1.ts` (never
 * exp(x) − 1, which loses every digit for tiny x); α times it is rounded
 * once. Backward dy·α·e^x with the double-double exp, rounded once; where
 * α·e^x nears the subnormal range (below x = −690 for α ≥ 1/16, earlier for
 * smaller α) it is formed as mantissa·2^k, α's exponent taken out first, and
 * rounded once. At x = 0 the derivative is α (the x ≤ 0 branch, α·e^0), as
 * ACTIVATIONS.md fixes.
 */
export const elu = defineActivation({
  name: 'elu',
  title: 'Exponential linear unit',
  summary: 'The identity for positive inputs; a smooth exponential that saturates at −α for negative ones.',
  kind: 'elementwise',
  params: z.strictObject({
    alpha: z
      .number()
      .default(1)
      .describe('α: negative inputs saturate at −α; the slope just left of 0 is α. Any finite number (PyTorch accepts any too).'),
  }),
  learnable: [],
  formula: '\\operatorname{ELU}(x) = \\begin{cases} x & x > 0 \\\\ \\alpha\\,(e^{x} - 1) & x \\le 0 \\end{cases}',
  derivative: "\\operatorname{ELU}'(x) = \\begin{cases} 1 & x > 0 \\\\ \\alpha\\,e^{x} & x \\le 0 \\end{cases}",
  metadata: {
    range: [-1, 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks:
      'At x = 0 the derivative is taken as α (α·e^0, the value of the x ≤ 0 branch). With the default α = 1 both one-sided slopes are 1, so ELU is C¹ there (its second derivative still jumps); for α ≠ 1 the slope jumps from α to 1.',
    pros: [
      'Negative outputs pull the mean activation towards zero, which Clevert et al. found speeds up learning compared with ReLU.',
      'Negative inputs keep the gradient α·e^x, so units do not die.',
      'Saturates softly at −α for very negative inputs, which makes the off state robust to noise.',
    ],
    cons: [
      'An exponential per negative element: dearer than ReLU.',
      'The gradient still vanishes for very negative inputs (α·e^x → 0).',
      'Not differentiable at 0 unless α = 1; unbounded above.',
    ],
    references: [
      { title: 'Clevert, Unterthiner & Hochreiter (2015), Fast and Accurate Deep Network Learning by Exponential Linear Units (ELUs)', url: 'https://arxiv.org/abs/1511.07289' },
      { title: 'PyTorch documentation, torch.nn.ELU', url: 'https://pytorch.org/docs/stable/generated/torch.nn.ELU.html' },
    ],
  },
  example: { inputs: [[-40, -1, -1e-10, 0, 2]], params: { alpha: 1 } },
  forward({ x, out, params }) {
    const alpha = params.alpha;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v > 0 ? v : mulRoundSub(alpha, expm1X(v, 0), dd.lo);
    }
  },
  backward({ x, dy, dx, params }) {
    const alpha = params.alpha;
    // α = αm·2^αe, αm near 1, so the split form's m·αm stays near 1 for any α.
    const alphaE = alpha === 0 ? 0 : exponentNear(alpha);
    const alphaM = mulPow2(alpha, -alphaE);
    // α·e^x from the double-double exp keeps a normal low part down to 2^-1000; Dekker's split of α needs |α| < 2^996.
    const plainFrom = Math.abs(alpha) >= 2 ** 996 ? Infinity : alpha === 0 ? -690 : Math.max(-690, -1000 * Math.LN2 - Math.log(Math.abs(alpha)));
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const g = dy[i];
      if (v > 0) {
        dx[i] = g;
      } else if (v >= plainFrom) {
        const p = mulDD1(expX(v, 0), dd.lo, alpha);
        dx[i] = mulRoundSub(g, p, dd.lo);
      } else if (v >= -1e5) {
        const m = expSplit(v, 0);
        const k = dd.k;
        const p = mulDD1(m, dd.lo, alphaM);
        dx[i] = scaleRoundMul(p, dd.lo, k + alphaE, g);
      } else {
        dx[i] = v === v ? g * 0 * alpha : NaN; // g·α could overflow to Infinity, and Infinity·0 is NaN
      }
    }
    return undefined;
  },
});
