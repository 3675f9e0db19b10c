import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Softmax over each row. PLACEHOLDER numerics, to be replaced by the accurate kernel.
 */
export const softmax = defineActivation({
  name: 'softmax',
  title: 'Softmax',
  summary: 'Turns each row into a probability distribution.',
  kind: 'row',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{softmax}(x)_i = \\frac{e^{x_i - \\max_j x_j}}{\\sum_k e^{x_k - \\max_j x_j}}',
  derivative: '\\frac{\\partial L}{\\partial x_i} = y_i \\left(\\frac{\\partial L}{\\partial y_i} - \\sum_j y_j \\frac{\\partial L}{\\partial y_j}\\right)',
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: true,
    kinks: 'None: smooth everywhere.',
    pros: ['Outputs a probability distribution over the row.'],
    cons: ['Saturates when one input dominates.'],
    references: [{ title: 'Bridle (1990), Probabilistic interpretation of feedforward classification network outputs', url: 'https://doi.org/10.1007/978-3-642-76153-9_28' }],
  },
  example: { inputs: [[1, 2, 3], [0, 0, 0]] },
  forward({ x, rows, cols, out }) {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let m = -Infinity;
      for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
      let s = 0;
      for (let j = 0; j < cols; j++) { const e = Math.exp(x[o + j] - m); out[o + j] = e; s += e; }
      for (let j = 0; j < cols; j++) out[o + j] /= s;
    }
  },
  backward({ x, dy, rows, cols, dx }) {
    const y = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let m = -Infinity;
      for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
      let s = 0;
      for (let j = 0; j < cols; j++) { const e = Math.exp(x[o + j] - m); y[j] = e; s += e; }
      let dot = 0;
      for (let j = 0; j < cols; j++) { y[j] /= s; dot += y[j] * dy[o + j]; }
      for (let j = 0; j < cols; j++) dx[o + j] = y[j] * (dy[o + j] - dot);
    }
    return undefined;
  },
});
