import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Heaviside step, 1 if x > 0 else 0 (so 0 at x = 0, like relu's gate).
 *
 * Forward is a select between constants; NaN gives NaN. Backward is 0
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
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v > 0 ? 1 : v === v ? 0 : NaN;
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
