import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { softmaxBackward, softmaxForward } from '../rows/softmax-family.js';

/**
 * softmin(x) = softmax(−x): the row's smallest entries get the largest weights.
 *
 * Computed as the softmax kernel of rows/softmax-family.ts on −x (negation is
 * exact, so softmin(x) is bit for bit that kernel's softmax(−x)): x_j − m
 * exact by TwoSum, exps to 2^-66 kept as mantissa·2^k, each probability
 * rounded once. Backward dx = −y ⊙ (dy − ⟨dy, y⟩) with the inner product in
 * double-double, the maximum's term rewritten as (dy·u − Σ_{j≠max} e_j dy_j)/S,
 * and a double-double exp where dy_i − ⟨dy, y⟩ still cancels.
 */
export const softmin = defineActivation({
  name: 'softmin',
  title: 'Softmin',
  summary: 'Softmax of the negated row: a probability distribution that favours the smallest entries.',
  kind: 'row',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{softmin}(x)_i = \\frac{e^{-x_i}}{\\sum_j e^{-x_j}} = \\operatorname{softmax}(-x)_i',
  derivative: '\\frac{\\partial L}{\\partial x_i} = -y_i \\left(\\frac{\\partial L}{\\partial y_i} - \\sum_j y_j \\frac{\\partial L}{\\partial y_j}\\right)',
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: true,
    kinks: 'None: smooth everywhere (each output decreases as its own input grows).',
    pros: [
      'Turns costs or distances into weights directly, without negating them first.',
      'A smooth, differentiable stand-in for argmin, useful in soft attention over distances.',
    ],
    cons: [
      'Saturates when one entry is much smaller than the rest: the gradient vanishes.',
      'Easily confused with softmax; the sign flip matters in the gradient too.',
    ],
    references: [
      { title: 'PyTorch documentation, torch.nn.Softmin', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Softmin.html' },
    ],
  },
  example: { inputs: [[1, 2, 3], [0, 0, 0]] },
  forward({ x, rows, cols, out }) {
    softmaxForward(x, rows, cols, -1, out);
  },
  backward({ x, dy, rows, cols, dx }) {
    softmaxBackward(x, dy, rows, cols, -1, dx);
    return undefined;
  },
});
