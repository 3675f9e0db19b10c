import { z } from 'zod';
import { defineActivation, type ParamGradients, type ShapeIssue } from '../activation.js';
import { maxoutWeightedBackward, maxoutWeightedForward, packWeights } from '../rows/maxout-kernels.js';

const ParamsSchema = z.strictObject({
  pieces: z.number().int().positive().describe('k, the number of pieces each output is the maximum of (required).'),
  weight: z
    .array(z.array(z.array(z.number()).min(1)).min(1))
    .min(1)
    .optional()
    .describe('Optional learnable weights W of shape [pieces][cols][units]: piece i of unit j is x·W_i[:, j] + b_ij. Without them, output j is the maximum of inputs j·k … j·k+k−1.'),
  bias: z
    .array(z.array(z.number()).min(1))
    .min(1)
    .optional()
    .describe('Optional learnable bias b of shape [pieces][units] (zeros when omitted); needs weight.'),
});

type Params = z.output<typeof ParamsSchema>;

/**
 * out[u] = the maximum of x[u·k … u·k + k − 1], the first NaN if any (the
 * groups are consecutive: rows are whole groups). Each step is a select through
 * a table (core/piecewise.ts): [best, v] at [v > best] | [v is NaN], flags and no
 * branch; once best is NaN neither flag can pick a number again. Pairs, the
 * common case, take four groups a step.
 */
function maxOfGroups(x: Float64Array, k: number, out: Float64Array): void {
  const units = Math.floor(x.length / k);
  const t = new Float64Array(8);
  if (k === 2) {
    let u = 0;
    for (; u + 3 < units; u += 4) {
      const g = 2 * u;
      const a0 = x[g];
      const a1 = x[g + 1];
      const b0 = x[g + 2];
      const b1 = x[g + 3];
      const c0 = x[g + 4];
      const c1 = x[g + 5];
      const d0 = x[g + 6];
      const d1 = x[g + 7];
      t[0] = a0;
      t[1] = a1;
      t[2] = b0;
      t[3] = b1;
      t[4] = c0;
      t[5] = c1;
      t[6] = d0;
      t[7] = d1;
      out[u] = t[+(a1 > a0) | +(a1 !== a1)];
      out[u + 1] = t[2 + (+(b1 > b0) | +(b1 !== b1))];
      out[u + 2] = t[4 + (+(c1 > c0) | +(c1 !== c1))];
      out[u + 3] = t[6 + (+(d1 > d0) | +(d1 !== d1))];
    }
    for (; u < units; u++) {
      const a0 = x[2 * u];
      const a1 = x[2 * u + 1];
      t[0] = a0;
      t[1] = a1;
      out[u] = t[+(a1 > a0) | +(a1 !== a1)];
    }
    return;
  }
  for (let u = 0; u < units; u++) {
    const g = u * k;
    t[0] = x[g];
    for (let i = 1; i < k; i++) {
      const v = x[g + i];
      t[1] = v;
      t[0] = t[+(v > t[0]) | +(v !== v)];
    }
    out[u] = t[0];
  }
}

function checkWeights(p: Params, cols: number): ShapeIssue | undefined {
  const { weight, bias, pieces } = p;
  if (!weight) {
    if (bias) return { path: '/params/bias', message: 'bias needs weight: without weights maxout has no affine pieces' };
    if (cols % pieces !== 0) {
      return { path: '/inputs', message: `without weights the row width must be divisible by pieces = ${pieces}; it is ${cols}` };
    }
    return undefined;
  }
  if (weight.length !== pieces) return { path: '/params/weight', message: `expected ${pieces} pieces (one [cols][units] matrix each), got ${weight.length}` };
  const units = weight[0][0].length;
  for (let i = 0; i < pieces; i++) {
    if (weight[i].length !== cols) return { path: `/params/weight/${i}`, message: `expected ${cols} rows (one per input column), got ${weight[i].length}` };
    for (let c = 0; c < cols; c++) {
      if (weight[i][c].length !== units) {
        return { path: `/params/weight/${i}/${c}`, message: `expected ${units} units (as weight[0][0]), got ${weight[i][c].length}` };
      }
    }
  }
  if (bias) {
    if (bias.length !== pieces) return { path: '/params/bias', message: `expected ${pieces} pieces, got ${bias.length}` };
    for (let i = 0; i < pieces; i++) {
      if (bias[i].length !== units) return { path: `/params/bias/${i}`, message: `expected ${units} units (as weight), got ${bias[i].length}` };
    }
  }
  return undefined;
}

/**
 * Maxout: each output is the maximum of k pieces, either k consecutive inputs
 * or k learnable affine maps of the whole row.
 *
 * Without weights the result is exact (comparisons only). With weights every
 * result (the pieces' maximum, dx, and dW and db summed over the batch) is
 * the exact value rounded once, and the winner is the exact maximum:
 * compensated sums with running error bounds, redone exactly where those
 * cannot settle the rounding or the order (rows/maxout-kernels.ts). The
 * gradient flows to the winning piece only, the lowest index on ties; a NaN
 * piece wins (and spreads NaN), as NaN propagates in IEEE 754.
 */
export const maxout = defineActivation({
  name: 'maxout',
  title: 'Maxout',
  summary: 'Each output is the largest of k pieces: k consecutive inputs, or k learned affine maps of the row.',
  kind: 'row',
  params: ParamsSchema,
  learnable: ['weight', 'bias'],
  formula: '\\operatorname{maxout}(x)_j = \\max_{i < k} z_{ij}, \\quad z_{ij} = x_{jk+i} \\text{ (no weights) or } x^\\top W_{i,:,j} + b_{ij}',
  derivative:
    '\\frac{\\partial L}{\\partial z_{ij}} = \\frac{\\partial L}{\\partial y_j} [i = i^*_j], \\quad i^*_j = \\min \\operatorname{argmax}_i z_{ij}; \\quad \\frac{\\partial L}{\\partial W_{i,c,j}} = \\sum_{\\text{rows}} x_c \\frac{\\partial L}{\\partial z_{ij}}, \\quad \\frac{\\partial L}{\\partial b_{ij}} = \\sum_{\\text{rows}} \\frac{\\partial L}{\\partial z_{ij}}',
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'Where two pieces tie for the maximum; the gradient goes to the lowest-index piece.',
    pros: [
      'With learned pieces it approximates any convex function of its inputs piecewise linearly; ReLU and leaky ReLU are special cases.',
      'Never saturates: the winning piece always passes its gradient through unchanged.',
      'Worked well with dropout, which was its original motivation.',
    ],
    cons: [
      'k times the parameters and compute of a plain linear layer.',
      'Only one piece per output learns from each example, so the others can go stale.',
      'Without weights it merely pools groups of k inputs, shrinking the row by k.',
    ],
    references: [
      { title: 'Goodfellow, Warde-Farley, Mirza, Courville & Bengio (2013), Maxout Networks', url: 'https://arxiv.org/abs/1302.4389' },
    ],
  },
  example: { inputs: [[1, -2, 0.5, 3], [-1, -1, 2, 0]], params: { pieces: 2 } },
  outputCols(cols, params) {
    return params.weight ? params.weight[0][0].length : Math.floor(cols / params.pieces);
  },
  checkShape(params, _rows, cols) {
    return checkWeights(params, cols);
  },
  forward({ x, rows, cols, params, out }) {
    if (params.weight) {
      maxoutWeightedForward(x, rows, cols, packWeights(params.weight, params.bias, cols), out);
      return;
    }
    maxOfGroups(x, params.pieces, out);
  },
  backward({ x, dy, rows, cols, params, dx }) {
    if (params.weight) {
      const grads = maxoutWeightedBackward(x, dy, rows, cols, packWeights(params.weight, params.bias, cols), dx);
      // db only for a bias the request sent (none is a fixed zero, not a parameter).
      const result: ParamGradients = { weight: grads.weight };
      if (params.bias) result.bias = grads.bias;
      return result;
    }
    const k = params.pieces;
    const units = Math.floor(cols / k);
    dx.fill(0);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      for (let j = 0; j < units; j++) {
        const g = o + j * k;
        let best = 0;
        for (let i = 1; i < k && x[g + best] === x[g + best]; i++) {
          const v = x[g + i];
          if (v > x[g + best] || v !== v) best = i;
        }
        // The winner gets dy; a NaN winner gets NaN.
        dx[g + best] = x[g + best] === x[g + best] ? dy[r * units + j] : NaN;
      }
    }
    return undefined;
  },
});
