import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Hardmax: the one-hot of each row's maximum, the lowest index on ties.
 *
 * Exact by construction (comparisons only). A row holding NaN has no maximum:
 * its outputs, and its dx, are NaN (NaN propagates, as in IEEE 754). +Infinity
 * is a maximum like any other; a row of −Infinity marks index 0. The
 * derivative is 0 everywhere (the function is piecewise constant), also at ties.
 */
export const hardmax = defineActivation({
  name: 'hardmax',
  title: 'Hardmax',
  summary: 'Marks the largest entry of each row with 1 and the rest with 0 (the first one on ties).',
  kind: 'row',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{hardmax}(x)_i = \\begin{cases} 1 & i = \\min \\operatorname{argmax}_j x_j \\\\ 0 & \\text{otherwise} \\end{cases}',
  derivative: '\\frac{\\partial L}{\\partial x_i} = 0',
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: true,
    kinks: 'Piecewise constant, with jumps where two entries tie for the maximum; the gradient is 0 everywhere, ties included.',
    pros: [
      'An exact, discrete decision: the output is the argmax as a one-hot vector.',
      'Costs one pass of comparisons per row, no exponentials.',
    ],
    cons: [
      'No gradient at all: nothing upstream learns through it (use softmax, or a straight-through estimator).',
      'Ties are broken by position, so the result depends on the order of the row.',
    ],
    references: [
      { title: 'ONNX operator Hardmax', url: 'https://onnx.ai/onnx/operators/onnx__Hardmax.html' },
    ],
  },
  example: { inputs: [[1, 3, 2], [5, 5, 0]] },
  forward({ x, rows, cols, out }) {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let best = 0;
      let nan = false;
      for (let j = 0; j < cols; j++) {
        const v = x[o + j];
        if (v !== v) nan = true;
        else if (v > x[o + best] || x[o + best] !== x[o + best]) best = j;
      }
      for (let j = 0; j < cols; j++) out[o + j] = nan ? NaN : j === best ? 1 : 0;
    }
  },
  backward({ x, rows, cols, dx }) {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let nan = false;
      for (let j = 0; j < cols; j++) if (x[o + j] !== x[o + j]) nan = true;
      for (let j = 0; j < cols; j++) dx[o + j] = nan ? NaN : 0;
    }
    return undefined;
  },
});
