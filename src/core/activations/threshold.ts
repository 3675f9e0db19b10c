import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Threshold, x if x > threshold else value (as PyTorch's nn.Threshold; with
 * value 0 it is ONNX's ThresholdedRelu).
 *
 * Both parameters are required: PyTorch has no defaults for them either.
 * Forward is the select `x <= threshold ? value : x`: x = threshold gives
 * value, and a NaN input (for which x <= threshold is false) gives NaN, not
 * value; unrolled four ways (faster in V8). Backward passes dy where
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
    if (Object.is(fill, -0)) {
      for (let i = 0; i < n; i++) out[i] = x[i] <= t ? fill : x[i];
      return;
    }
    // Masks, not selects (see relu): x·[x > t] + value·[x ≤ t] is x or value exactly (the other term is ±0; value is
    // not −0 here). ±0 inputs, infinities and NaN take the select.
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      const ma = +(a > t);
      const ra = a * ma + fill * (1 - ma);
      out[i] = ra - ra === 0 && a !== 0 ? ra : a <= t ? fill : a;
      const mb = +(b > t);
      const rb = b * mb + fill * (1 - mb);
      out[i + 1] = rb - rb === 0 && b !== 0 ? rb : b <= t ? fill : b;
      const mc = +(c > t);
      const rc = c * mc + fill * (1 - mc);
      out[i + 2] = rc - rc === 0 && c !== 0 ? rc : c <= t ? fill : c;
      const md = +(d > t);
      const rd = d * md + fill * (1 - md);
      out[i + 3] = rd - rd === 0 && d !== 0 ? rd : d <= t ? fill : d;
    }
    for (; i < n; i++) {
      const a = x[i];
      const ma = +(a > t);
      const ra = a * ma + fill * (1 - ma);
      out[i] = ra - ra === 0 && a !== 0 ? ra : a <= t ? fill : a;
    }
  },
  backward({ x, dy, dx, params }) {
    const t = params.threshold;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      dx[i] = v > t ? dy[i] : v === v ? 0 : NaN;
    }
    return undefined;
  },
});
