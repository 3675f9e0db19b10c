import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { clampForward, gradientInside } from '../piecewise.js';

/**
 * ReLU6, min(max(0, x), 6).
 *
 * Forward is the select `x <= 0 ? 0 : x >= 6 ? 6 : x`, the same bits as
 * `Math.min(Math.max(0, x), 6)` (−0 becomes +0; NaN fails both comparisons and
 * propagates), taken without a branch (core/piecewise.ts). Backward passes dy only
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
    clampForward(x, out, 0, 6);
  },
  backward({ x, dy, dx }) {
    gradientInside(x, dy, dx, 0, 6);
    return undefined;
  },
});
