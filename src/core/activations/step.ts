import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Heaviside step, 1 if x > 0 else 0 (so 0 at x = 0, like relu's gate).
 *
 * Forward is a select between constants, `x > 0 ? 1 : x <= 0 ? 0 : x`, so
 * NaN (which fails both) gives NaN; unrolled four ways (faster in V8). Backward is 0
 * everywhere (ACTIVATIONS.md: the derivative is 0 wherever it exists and is
 * taken as 0 at the jump), whatever dy is, except that a NaN input gives a
 * NaN gradient.
 */
export const step = defineActivation({
  name: 'step',
  title: 'Binary step',
  summary: 'Outputs 1 for positive inputs and 0 otherwise (Heaviside step).',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: 'H(x) = \\begin{cases} 1 & x > 0 \\\\ 0 & x \\le 0 \\end{cases}',
  derivative: "H'(x) = 0",
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: true,
    kinks: 'A jump at x = 0, where the output is 0; the derivative is taken as 0 everywhere, the jump included.',
    pros: [
      'The threshold unit of the perceptron: a hard yes/no decision, exactly 0 or 1.',
      'Costs one comparison.',
    ],
    cons: [
      'The gradient is 0 everywhere, so nothing before it can learn by backpropagation (training needs a surrogate gradient such as the straight-through estimator).',
      'Outputs are not zero-centred.',
    ],
    references: [
      { title: 'Rosenblatt (1958), The perceptron: a probabilistic model for information storage and organization in the brain', url: 'https://doi.org/10.1037/h0042519' },
      { title: 'McCulloch & Pitts (1943), A logical calculus of the ideas immanent in nervous activity', url: 'https://doi.org/10.1007/BF02478259' },
    ],
  },
  example: { inputs: [[-2, -0.5, 0, 0.5, 2]] },
  forward({ x, out }) {
    const n = x.length;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      out[i] = a === a ? +(a > 0) : a;
      out[i + 1] = b === b ? +(b > 0) : b;
      out[i + 2] = c === c ? +(c > 0) : c;
      out[i + 3] = d === d ? +(d > 0) : d;
    }
    for (; i < n; i++) {
      const a = x[i];
      out[i] = a === a ? +(a > 0) : a;
    }
  },
  backward({ x, dx }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      dx[i] = v === v ? 0 : NaN;
    }
    return undefined;
  },
});
