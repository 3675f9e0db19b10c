import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Soft shrinkage, x − λ if x > λ, x + λ if x < −λ, else 0.
 *
 * Forward is x − clamp(x, −λ, λ): one subtraction, so rounded once; inside
 * [−λ, λ] it is x − x = +0 exactly; ±Infinity stay infinite and NaN
 * propagates. For λ > 0 the clamp is the select `x < −λ ? −λ : x > λ ? λ : x`
 * (the same bits as Math.min/Math.max then), unrolled four ways, which V8
 * runs faster; λ = 0 keeps Math.min/Math.max for their signed-zero rules. Backward passes
 * dy where |x| > λ and gives 0 at |x| = λ; a NaN input gives NaN.
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
    if (l === 0) {
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = v - Math.min(Math.max(v, m), l);
      }
      return;
    }
    // Masks, not selects (see relu): (x − λ)·[x > λ] + (x + λ)·[x < −λ] + 0 is x − λ, x + λ or +0 exactly (the
    // terms times 0 are ±0, and x ∓ λ is not 0 where it is kept). Infinities and NaN take the select, which gives
    // +0 inside (a − a) and NaN for NaN, as the clamp form does.
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      const ra = (a - l) * +(a > l) + (a - m) * +(a < m) + 0;
      out[i] = ra - ra === 0 ? ra : a > l ? a - l : a < m ? a - m : a - a;
      const rb = (b - l) * +(b > l) + (b - m) * +(b < m) + 0;
      out[i + 1] = rb - rb === 0 ? rb : b > l ? b - l : b < m ? b - m : b - b;
      const rc = (c - l) * +(c > l) + (c - m) * +(c < m) + 0;
      out[i + 2] = rc - rc === 0 ? rc : c > l ? c - l : c < m ? c - m : c - c;
      const rd = (d - l) * +(d > l) + (d - m) * +(d < m) + 0;
      out[i + 3] = rd - rd === 0 ? rd : d > l ? d - l : d < m ? d - m : d - d;
    }
    for (; i < n; i++) {
      const a = x[i];
      const ra = (a - l) * +(a > l) + (a - m) * +(a < m) + 0;
      out[i] = ra - ra === 0 ? ra : a > l ? a - l : a < m ? a - m : a - a;
    }
  },
  backward({ x, dy, dx, params }) {
    const l = params.lambd;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      dx[i] = Math.abs(v) > l ? dy[i] : v === v ? 0 : NaN;
    }
    return undefined;
  },
});
