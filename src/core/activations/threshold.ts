import { z } from 'zod';
import { defineActivation } from '../activation.js';

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
    const t = params.threshold;
    const fill = params.value;
    const n = x.length;
    // A select through a table (see hardtanh): slot 0 of a lane holds x, 1 holds value, and [x ≤ threshold]
    // picks one without a branch. Four lanes, unrolled.
    const v = new Float64Array(8);
    for (let lane = 0; lane < 8; lane += 2) v[lane + 1] = fill;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      v[0] = a;
      v[2] = b;
      v[4] = c;
      v[6] = d;
      out[i] = v[+(a <= t)];
      out[i + 1] = v[2 + +(b <= t)];
      out[i + 2] = v[4 + +(c <= t)];
      out[i + 3] = v[6 + +(d <= t)];
    }
    for (; i < n; i++) {
      const a = x[i];
      v[0] = a;
      out[i] = v[+(a <= t)];
    }
  },
  backward({ x, dy, dx, params }) {
    const threshold = params.threshold;
    // dy where x > threshold, +0 elsewhere, NaN for a NaN input: a select through a table (see hardtanh) read at
    // [x > threshold] | 2·[x is NaN], flags and no branch; the ternary form was 3× slower on random signs.
    const t = new Float64Array(4);
    t[2] = NaN;
    t[3] = NaN;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      t[1] = dy[i];
      dx[i] = t[+(v > threshold) | (+(v !== v) << 1)];
    }
    return undefined;
  },
});
