import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { logSoftmaxBackward, logSoftmaxForward } from '../rows/softmax-family.js';

/**
 * log_softmax(x)_i = x_i − m − log Σ_j e^(x_j − m), m = max x.
 *
 * Stable form (rows/softmax-row.ts): x_j − m exactly (TwoSum), the exps to
 * 2^-66, and log Σ = log1p(Σ_{j≠max} e^(x_j − m)) in double-double, so the
 * maximum's value −log1p(u) keeps full precision even when u is 1e-300.
 * x_i − m − log Σ adds two non-positive numbers: nothing cancels.
 * Backward dx = dy − softmax(x)·Σdy, with Σdy in double-double and, at the
 * maximum, (dy_max·u − Σ_{j≠max} dy_j)/S in place of dy_max − Σdy/S.
 */
export const logSoftmax = defineActivation({
  name: 'log_softmax',
  title: 'Log-softmax',
  summary: 'The logarithm of softmax over each row: log-probabilities, computed without forming the probabilities.',
  kind: 'row',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{log\\_softmax}(x)_i = x_i - m - \\log \\sum_j e^{x_j - m}, \\quad m = \\max_j x_j',
  derivative: '\\frac{\\partial L}{\\partial x_i} = \\frac{\\partial L}{\\partial y_i} - \\operatorname{softmax}(x)_i \\sum_j \\frac{\\partial L}{\\partial y_j}',
  metadata: {
    range: ['-Infinity', 0],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Log-probabilities without underflow: log_softmax(−1000) is −1000-ish, not log(0).',
      'Pairs with the negative log-likelihood loss to give the well-conditioned gradient softmax − target.',
      'Shift-invariant along the row, like softmax, so adding a constant to every logit changes nothing.',
    ],
    cons: [
      'Its outputs are not probabilities: exponentiate them (or use softmax) when probabilities are needed.',
      'Unbounded below, so a confident wrong class gives a very large loss.',
    ],
    references: [
      { title: 'PyTorch documentation, torch.nn.LogSoftmax', url: 'https://pytorch.org/docs/stable/generated/torch.nn.LogSoftmax.html' },
      { title: 'ONNX operator LogSoftmax', url: 'https://onnx.ai/onnx/operators/onnx__LogSoftmax.html' },
    ],
  },
  example: { inputs: [[1, 2, 3], [1000, 0, -1000]] },
  forward({ x, rows, cols, out }) {
    logSoftmaxForward(x, rows, cols, out);
  },
  backward({ x, dy, rows, cols, dx }) {
    logSoftmaxBackward(x, dy, rows, cols, dx);
    return undefined;
  },
});
