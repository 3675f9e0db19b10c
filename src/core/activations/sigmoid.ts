import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Logistic sigmoid. PLACEHOLDER numerics, to be replaced by the accurate kernel.
 */
export const sigmoid = defineActivation({
  name: 'sigmoid',
  title: 'Logistic sigmoid',
  summary: 'Squashes every input into (0, 1).',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\sigma(x) = \\frac{1}{1 + e^{-x}}',
  derivative: "\\sigma'(x) = \\sigma(x)\\,\\sigma(-x)",
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: true,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Reads as a probability, which suits gates and binary outputs.',
      'Smooth and bounded, so it never blows up.',
    ],
    cons: [
      'Saturates at both ends: the gradient is at most 1/4 and vanishes for large |x|.',
      'Outputs are not zero-centred.',
      'Needs an exponential per element.',
    ],
    references: [
      { title: 'Rumelhart, Hinton & Williams (1986), Learning representations by back-propagating errors', url: 'https://doi.org/10.1038/323533a0' },
    ],
  },
  example: { inputs: [[-700, -1, 0, 1, 40]] },
  forward({ x, out }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
      else { const e = Math.exp(v); out[i] = e / (1 + e); }
    }
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const e = Math.exp(-Math.abs(x[i]));
      const s = 1 / (1 + e);
      dx[i] = dy[i] * (e * s * s);
    }
    return undefined;
  },
});
