import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { gradientOutside } from '../piecewise.js';

/**
 * Hard shrinkage, x if |x| > λ else 0.
 *
 * Forward is x·(|x| > λ ? 1 : 0) + 0: exact; the + 0 makes the zeroed
 * inputs +0 (not −0), and NaN·0 stays NaN, so NaN propagates without a branch.
 * Backward passes dy where |x| > λ and gives 0 at |x| = λ (strict >); a NaN
 * input gives NaN. The forward loop is unrolled four ways (faster in V8).
 */
export const hardshrink = defineActivation({
  name: 'hardshrink',
  title: 'Hard shrinkage',
  summary: 'Zeroes inputs with |x| ≤ lambd and passes the rest through unchanged.',
  kind: 'elementwise',
  params: z.strictObject({
    lambd: z.number().min(0).default(0.5).describe('The threshold λ ≥ 0: inputs with |x| ≤ λ become 0.'),
  }),
  learnable: [],
  formula: '\\operatorname{HardShrink}(x) = \\begin{cases} x & |x| > \\lambda \\\\ 0 & |x| \\le \\lambda \\end{cases}',
  derivative: "\\operatorname{HardShrink}'(x) = \\begin{cases} 1 & |x| > \\lambda \\\\ 0 & |x| \\le \\lambda \\end{cases}",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: true,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'Jumps at x = ±lambd, where the output is 0 and the derivative is taken as 0 (the comparison is a strict >).',
    pros: [
      'Gives exact zeros for small inputs, a sparse code (hard thresholding, as in wavelet denoising).',
      'Passes large inputs through unchanged, with gradient 1: no shrinkage bias on the survivors.',
      'Odd-symmetric, so outputs are zero-centred for symmetric inputs; costs one comparison.',
    ],
    cons: [
      'Discontinuous at ±λ: small input changes there flip the output by λ.',
      'Zero gradient inside [−λ, λ], so inputs stuck there get no learning signal.',
    ],
    references: [
      { title: 'Donoho & Johnstone (1994), Ideal spatial adaptation by wavelet shrinkage', url: 'https://doi.org/10.1093/biomet/81.3.425' },
      { title: 'PyTorch documentation, torch.nn.Hardshrink', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Hardshrink.html' },
    ],
  },
  example: { inputs: [[-2, -0.5, 0, 0.3, 2]] },
  forward({ x, out, params }) {
    const l = params.lambd;
    const n = x.length;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      out[i] = a * +(Math.abs(a) > l) + 0;
      out[i + 1] = b * +(Math.abs(b) > l) + 0;
      out[i + 2] = c * +(Math.abs(c) > l) + 0;
      out[i + 3] = d * +(Math.abs(d) > l) + 0;
    }
    for (; i < n; i++) {
      const a = x[i];
      out[i] = a * +(Math.abs(a) > l) + 0;
    }
  },
  backward({ x, dy, dx, params }) {
    gradientOutside(x, dy, dx, -params.lambd, params.lambd);
    return undefined;
  },
});
