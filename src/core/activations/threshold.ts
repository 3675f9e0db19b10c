import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { gradientOutside } from '../piecewise.js';

/**
 * Threshold, x if x > threshold else value (as PyTorch's nn.Threshold; with
 * value 0 it is ONNX's ThresholdedRelu).
 *
 * Both parameters are required: PyTorch has no defaults for them either.
 * Forward is the select `x <= threshold ? value : x`: x = threshold gives
 * value, and a NaN input (for which x <= threshold is false) gives NaN, not
 * value; taken without a branch (see forward). Backward passes dy where
 * x > threshold and gives 0 elsewhere, the threshold itself included.
 */
export const threshold = defineActivation({
  name: 'threshold',
  title: 'Threshold',
  summary: 'Passes inputs above a threshold through and replaces the rest by a fixed value.',
  kind: 'elementwise',
  params: z.strictObject({
    threshold: z.number().describe('Inputs strictly above this pass through (required).'),
    value: z.number().describe('What inputs at or below the threshold become (required).'),
  }),
  learnable: [],
  formula: 'f(x) = \\begin{cases} x & x > \\text{threshold} \\\\ \\text{value} & x \\le \\text{threshold} \\end{cases}',
  derivative: "f'(x) = \\begin{cases} 1 & x > \\text{threshold} \\\\ 0 & x \\le \\text{threshold} \\end{cases}",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: false,
    bounded: false,
    kinks:
      'A jump at x = threshold (unless value equals it), where the output is value and the derivative is taken as 0 (strict >). Range and monotonicity depend on the parameters: monotonic when value ≤ threshold.',
    pros: [
      'Generalises ReLU (threshold 0, value 0) to any cut-off and fill value: a thresholded ReLU ignores weak positive responses.',
      'Costs one comparison.',
    ],
    cons: [
      'Zero gradient at and below the threshold, so units can die as with ReLU.',
      'Discontinuous at the threshold unless value equals it.',
      'Two hyperparameters with no defaults.',
    ],
    references: [
      { title: 'PyTorch documentation, torch.nn.Threshold', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Threshold.html' },
      { title: 'Konda, Memisevic & Krueger (2015), Zero-bias autoencoders and the benefits of co-adapting features (thresholded ReLU)', url: 'https://arxiv.org/abs/1402.3337' },
    ],
  },
  example: { inputs: [[-2, 0.5, 1, 1.5, 3]], params: { threshold: 1, value: 0 } },
  forward({ x, out, params }) {
    const threshold = params.threshold;
    const n = x.length;
    // A select through a table (core/piecewise.ts): slot 0 of a lane holds x, 1 holds value, and
    // [x ≤ threshold] picks one without a branch. Four lanes, unrolled.
    const t = new Float64Array(8);
    for (let lane = 0; lane < 8; lane += 2) t[lane + 1] = params.value;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      t[0] = a;
      t[2] = b;
      t[4] = c;
      t[6] = d;
      out[i] = t[+(a <= threshold)];
      out[i + 1] = t[2 + +(b <= threshold)];
      out[i + 2] = t[4 + +(c <= threshold)];
      out[i + 3] = t[6 + +(d <= threshold)];
    }
    for (; i < n; i++) {
      const a = x[i];
      t[0] = a;
      out[i] = t[+(a <= threshold)];
    }
  },
  backward({ x, dy, dx, params }) {
    gradientOutside(x, dy, dx, -Infinity, params.threshold);
    return undefined;
  },
});
