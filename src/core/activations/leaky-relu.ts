import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { leakyForward } from '../leaky.js';

/**
 * Leaky ReLU, x if x > 0 else slope·x.
 *
 * Forward is x·(x > 0 ? 1 : slope): a select between two numbers and one
 * multiplication, so the result is rounded once, −0 keeps its sign and NaN
 * propagates. Backward is dy·(x > 0 ? 1 : slope), so the slope at x = 0
 * (ACTIVATIONS.md; JAX gives 1 there); a NaN input gives NaN. The forward
 * loop is unrolled four ways, which V8 runs about 1.5× as fast.
 */
export const leakyRelu = defineActivation({
  name: 'leaky_relu',
  title: 'Leaky ReLU',
  summary: 'Passes positive inputs through and scales negative ones by a small fixed slope.',
  kind: 'elementwise',
  params: z.strictObject({
    negative_slope: z
      .number()
      .default(0.01)
      .describe('Slope for x ≤ 0 (the float64 value as sent; Keras uses 0.2 or 0.3, ONNX LeakyRelu alpha).'),
  }),
  learnable: [],
  formula: '\\operatorname{LeakyReLU}(x) = \\begin{cases} x & x > 0 \\\\ a x & x \\le 0 \\end{cases},\\quad a = \\text{negative\\_slope}',
  derivative: "\\operatorname{LeakyReLU}'(x) = \\begin{cases} 1 & x > 0 \\\\ a & x \\le 0 \\end{cases}",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'The derivative at x = 0 is taken as negative_slope.',
    pros: [
      'Negative inputs keep a small gradient, so units do not die as plain ReLU units can.',
      'As cheap as ReLU: a comparison and a multiplication.',
      'Negative outputs pull the mean activation a little towards zero.',
    ],
    cons: [
      'The slope is one more hyperparameter, and results can be sensitive to it.',
      'Outputs are still far from zero-centred for small slopes; no sparsity, since negatives are not zeroed.',
      'Not differentiable at 0; peers disagree on the value there (JAX uses 1).',
    ],
    references: [
      { title: 'Maas, Hannun & Ng (2013), Rectifier Nonlinearities Improve Neural Network Acoustic Models', url: 'https://ai.stanford.edu/~amaas/papers/relu_hybrid_icml2013_final.pdf' },
      { title: 'PyTorch documentation, torch.nn.LeakyReLU', url: 'https://pytorch.org/docs/stable/generated/torch.nn.LeakyReLU.html' },
    ],
  },
  example: { inputs: [[-2, -0.5, 0, 0.5, 2]], params: { negative_slope: 0.2 } },
  forward({ x, out, params }) {
    leakyForward(x, out, params.negative_slope);
  },
  backward({ x, dy, dx, params }) {
    const a = params.negative_slope;
    // dy·(x > 0 ? 1 : slope), NaN for a NaN input: the factor read from a table [slope, 1, NaN, NaN] at
    // [x > 0] | 2·[x is NaN], flags and no branch (see leakyForward).
    const factor = new Float64Array(4);
    factor[0] = a;
    factor[1] = 1;
    factor[2] = NaN;
    factor[3] = NaN;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      dx[i] = dy[i] * factor[+(v > 0) | (+(v !== v) << 1)];
    }
    return undefined;
  },
});
