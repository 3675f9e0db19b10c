import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * ReLU6, min(max(0, x), 6).
 *
 * Forward is the select `x <= 0 ? 0 : x >= 6 ? 6 : x`, the same bits as
 * `Math.min(Math.max(0, x), 6)` (−0 becomes +0; NaN fails both comparisons and
 * propagates), unrolled four ways: about twice as fast in V8. Backward passes dy only strictly inside (0, 6), so
 * the derivative is 0 at both kinks (as PyTorch); a NaN input gives NaN.
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
    // Masks, not selects (see relu): x·([x > 0] − [x ≥ 6]) + 6·[x ≥ 6] + 0 is x, 6 or +0 exactly. Infinities (∞·0
    // is NaN) and NaN take the select.
    const n = x.length;
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = x[i];
      const b = x[i + 1];
      const c = x[i + 2];
      const d = x[i + 3];
      const ha = +(a >= 6);
      const ra = a * (+(a > 0) - ha) + 6 * ha + 0;
      out[i] = ra - ra === 0 ? ra : a <= 0 ? 0 : a >= 6 ? 6 : a;
      const hb = +(b >= 6);
      const rb = b * (+(b > 0) - hb) + 6 * hb + 0;
      out[i + 1] = rb - rb === 0 ? rb : b <= 0 ? 0 : b >= 6 ? 6 : b;
      const hc = +(c >= 6);
      const rc = c * (+(c > 0) - hc) + 6 * hc + 0;
      out[i + 2] = rc - rc === 0 ? rc : c <= 0 ? 0 : c >= 6 ? 6 : c;
      const hd = +(d >= 6);
      const rd = d * (+(d > 0) - hd) + 6 * hd + 0;
      out[i + 3] = rd - rd === 0 ? rd : d <= 0 ? 0 : d >= 6 ? 6 : d;
    }
    for (; i < n; i++) {
      const a = x[i];
      const ha = +(a >= 6);
      const ra = a * (+(a > 0) - ha) + 6 * ha + 0;
      out[i] = ra - ra === 0 ? ra : a <= 0 ? 0 : a >= 6 ? 6 : a;
    }
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      dx[i] = v > 0 && v < 6 ? dy[i] : v === v ? 0 : NaN;
    }
    return undefined;
  },
});
