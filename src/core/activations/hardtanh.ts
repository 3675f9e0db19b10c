import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { clampForward, gradientInside } from '../piecewise.js';

/**
 * HardTanh, clamp(x, min_val, max_val).
 *
 * Forward is `Math.min(Math.max(x, min), max)`: exact, NaN propagates. When
 * neither bound is a zero it is the select `x < min ? min : x > max ? max : x`,
 * the same bits (a zero x is strictly inside then, and keeps its sign as
 * Math.max/min would), taken without a branch (core/piecewise.ts); with a zero
 * bound the signs of zeros need Math.max/min's rules, so that loop stays.
 * Backward passes dy only strictly between the bounds, so the derivative is 0
 * at both kinks (as PyTorch; JAX and tfjs give 1); a NaN input gives NaN.
 */
export const hardtanh = defineActivation({
  name: 'hardtanh',
  title: 'HardTanh',
  summary: 'Clamps every input to [min_val, max_val]: a piecewise-linear tanh.',
  kind: 'elementwise',
  params: z
    .strictObject({
      min_val: z.number().default(-1).describe('Lower bound of the output; must be less than max_val.'),
      max_val: z.number().default(1).describe('Upper bound of the output; must be greater than min_val.'),
    })
    .refine((p) => p.min_val < p.max_val, { path: ['min_val'], message: 'min_val must be less than max_val' }),
  learnable: [],
  formula: '\\operatorname{HardTanh}(x) = \\min(\\max(x, \\text{min\\_val}), \\text{max\\_val})',
  derivative:
    "\\operatorname{HardTanh}'(x) = \\begin{cases} 1 & \\text{min\\_val} < x < \\text{max\\_val} \\\\ 0 & \\text{otherwise} \\end{cases}",
  metadata: {
    range: [-1, 1],
    zeroCentred: true,
    monotonic: true,
    smooth: false,
    bounded: true,
    kinks: 'The derivative is taken as 0 at both kinks, x = min_val and x = max_val.',
    pros: [
      'Zero-centred and bounded like tanh, at the cost of two comparisons instead of exponentials.',
      'The gradient is exactly 1 inside the linear region, so it does not shrink there as tanh\'s does.',
    ],
    cons: [
      'The gradient is exactly 0 outside [min_val, max_val]: saturated units stop learning.',
      'Not differentiable at the bounds; peers disagree on the value there.',
    ],
    references: [
      { title: 'Collobert (2004), Large Scale Machine Learning (PhD thesis), the HardTanh unit', url: 'https://ronan.collobert.com/pub/matos/2004_phdthesis_lip6.pdf' },
      { title: 'PyTorch documentation, torch.nn.Hardtanh', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Hardtanh.html' },
    ],
  },
  example: { inputs: [[-2, -1, 0, 0.5, 2]] },
  forward({ x, out, params }) {
    const lo = params.min_val;
    const hi = params.max_val;
    const n = x.length;
    if (lo === 0 || hi === 0) {
      for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(x[i], lo), hi);
      return;
    }
    // Branch-free (core/piecewise.ts); with nonzero bounds its x <= lo and x >= hi pick the same values as the select.
    clampForward(x, out, lo, hi);
  },
  backward({ x, dy, dx, params }) {
    gradientInside(x, dy, dx, params.min_val, params.max_val);
    return undefined;
  },
});
