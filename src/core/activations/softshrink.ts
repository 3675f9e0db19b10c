import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { gradientOutside } from '../piecewise.js';

/**
 * Soft shrinkage, x − λ if x > λ, x + λ if x < −λ, else 0.
 *
 * Forward is x − clamp(x, −λ, λ): one subtraction, so rounded once; inside
 * [−λ, λ] it is x − x = +0 exactly; ±Infinity stay infinite and NaN
 * propagates. For λ > 0 the clamp is the select `x < −λ ? −λ : x > λ ? λ : x`
 * (the same bits as Math.min/Math.max then), taken without a branch (see
 * forward). Backward passes dy where |x| > λ and gives 0 at |x| = λ; a NaN
 * input gives NaN.
 */
export const softshrink = defineActivation({
  name: 'softshrink',
  title: 'Soft shrinkage',
  summary: 'Moves every input towards zero by lambd, and zeroes those within lambd of it.',
  kind: 'elementwise',
  params: z.strictObject({
    lambd: z.number().min(0).default(0.5).describe('The shrinkage λ ≥ 0.'),
  }),
  learnable: [],
  formula:
    '\\operatorname{SoftShrink}(x) = \\begin{cases} x - \\lambda & x > \\lambda \\\\ x + \\lambda & x < -\\lambda \\\\ 0 & \\text{otherwise} \\end{cases}',
  derivative: "\\operatorname{SoftShrink}'(x) = \\begin{cases} 1 & |x| > \\lambda \\\\ 0 & |x| \\le \\lambda \\end{cases}",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: true,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'Kinks at x = ±lambd, where the derivative is taken as 0.',
    pros: [
      'Continuous, unlike hard shrinkage, and gives exact zeros for small inputs: the proximal operator of the L1 norm (ISTA, LISTA).',
      'Odd-symmetric, so outputs are zero-centred for symmetric inputs; costs a clamp and a subtraction.',
    ],
    cons: [
      'Shrinks every surviving input by λ, a bias on large values.',
      'Zero gradient inside [−λ, λ], so inputs stuck there get no learning signal.',
    ],
    references: [
      { title: 'Donoho (1995), De-noising by soft-thresholding', url: 'https://doi.org/10.1109/18.382009' },
      { title: 'Gregor & LeCun (2010), Learning Fast Approximations of Sparse Coding', url: 'https://icml.cc/Conferences/2010/papers/449.pdf' },
      { title: 'PyTorch documentation, torch.nn.Softshrink', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Softshrink.html' },
    ],
  },
  example: { inputs: [[-2, -0.5, 0, 0.3, 2]] },
  forward({ x, out, params }) {
    const l = params.lambd;
    const m = -l;
    const n = x.length;
    // x − clamp(x, −λ, λ), the clamp a select through a table (as core/piecewise.ts's clampForward, with
    // x − … fused in): a lane holds x, −λ and λ, and
    // [x < −λ] + 2·[x > λ] picks one without a branch (for λ = ±0 as well: the clamp of a nonzero x is then a zero,
    // which the subtraction loses, and ±0 − ±0 is +0 as with Math.min/max's clamp). Four lanes, unrolled.
    const t = new Float64Array(16);
    for (let lane = 0; lane < 16; lane += 4) {
      t[lane + 1] = m;
      t[lane + 2] = l;
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
      out[i] = a - t[+(a < m) + 2 * +(a > l)];
      out[i + 1] = b - t[4 + +(b < m) + 2 * +(b > l)];
      out[i + 2] = c - t[8 + +(c < m) + 2 * +(c > l)];
      out[i + 3] = d - t[12 + +(d < m) + 2 * +(d > l)];
    }
    for (; i < n; i++) {
      const a = x[i];
      t[0] = a;
      out[i] = a - t[+(a < m) + 2 * +(a > l)];
    }
  },
  backward({ x, dy, dx, params }) {
    gradientOutside(x, dy, dx, -params.lambd, params.lambd);
    return undefined;
  },
});
