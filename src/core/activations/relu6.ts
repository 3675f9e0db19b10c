import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * ReLU6, min(max(0, x), 6).
 *
 * Forward is the select `x <= 0 ? 0 : x >= 6 ? 6 : x`, the same bits as
 * `Math.min(Math.max(0, x), 6)` (−0 becomes +0; NaN fails both comparisons and
 * propagates), taken without a branch (see forward). Backward passes dy only
 * strictly inside (0, 6), so the derivative is 0 at both kinks (as PyTorch); a
 * NaN input gives NaN.
 */
export const relu6 = defineActivation({
  name: 'relu6',
  title: 'ReLU6',
  summary: 'ReLU capped at 6: clamps every input to [0, 6].',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{ReLU6}(x) = \\min(\\max(0, x), 6)',
  derivative: "\\operatorname{ReLU6}'(x) = \\begin{cases} 1 & 0 < x < 6 \\\\ 0 & \\text{otherwise} \\end{cases}",
  metadata: {
    range: [0, 6],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: true,
    kinks: 'The derivative is taken as 0 at both kinks, x = 0 and x = 6.',
    pros: [
      'Bounded output keeps activations in a fixed range, which suits low-precision and fixed-point inference (MobileNet).',
      'As cheap as ReLU: two comparisons.',
      'Sparse: negative inputs give exact zeros.',
    ],
    cons: [
      'Zero gradient below 0 and above 6, so units can die at either end.',
      'Outputs are not zero-centred.',
      'The cap at 6 is arbitrary; inputs beyond it lose all gradient.',
    ],
    references: [
      { title: 'Krizhevsky (2010), Convolutional Deep Belief Networks on CIFAR-10', url: 'https://www.cs.toronto.edu/~kriz/conv-cifar10-aug2010.pdf' },
      { title: 'Howard et al. (2017), MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications', url: 'https://arxiv.org/abs/1704.04861' },
      { title: 'PyTorch documentation, torch.nn.ReLU6', url: 'https://pytorch.org/docs/stable/generated/torch.nn.ReLU6.html' },
    ],
  },
  example: { inputs: [[-2, 0, 3, 6, 8]] },
  forward({ x, out }) {
    const n = x.length;
    // A select through a table (see hardtanh): slot 0 of a lane holds x, 1 holds +0 and 2 holds 6, and
    // [x ≤ 0] + 2·[x ≥ 6] picks one without a branch. Four lanes, unrolled.
    const t = new Float64Array(16);
    for (let lane = 0; lane < 16; lane += 4) t[lane + 2] = 6;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      t[0] = a;
      t[4] = b;
      t[8] = c;
      t[12] = d;
      out[i] = t[+(a <= 0) + 2 * +(a >= 6)];
      out[i + 1] = t[4 + +(b <= 0) + 2 * +(b >= 6)];
      out[i + 2] = t[8 + +(c <= 0) + 2 * +(c >= 6)];
      out[i + 3] = t[12 + +(d <= 0) + 2 * +(d >= 6)];
    }
    for (; i < n; i++) {
      const a = x[i];
      t[0] = a;
      out[i] = t[+(a <= 0) + 2 * +(a >= 6)];
    }
  },
  backward({ x, dy, dx }) {
    // dy where 0 < x < 6, +0 elsewhere, NaN for a NaN input: a select through a table (see hardtanh) read at
    // [x > 0]·[x < 6] | 2·[x is NaN], flags and no branch; the ternary form was 3× slower on random signs.
    const t = new Float64Array(4);
    t[2] = NaN;
    t[3] = NaN;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      t[1] = dy[i];
      dx[i] = t[(+(v > 0) & +(v < 6)) | (+(v !== v) << 1)];
    }
    return undefined;
  },
});
