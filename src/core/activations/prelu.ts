import { z } from 'zod';
import { defineActivation, type ShapeIssue } from '../activation.js';
import { SPLIT_SAFE } from '../exact-linear.js';
import { dd, twoProd, twoSum } from '../numeric/dd.js';
import { boundOf, ExactSum, lowPartRun, settle } from '../numeric/exact-sum.js';
import { leakyForward, leakyForwardSlopes } from '../leaky.js';

type Alpha = number | number[] | number[][];

/** Where alpha does not fit a [rows, cols] batch, or undefined. */
function alphaIssue(alpha: Alpha, rows: number, cols: number): ShapeIssue | undefined {
  if (typeof alpha === 'number') return undefined;
  if (!Array.isArray(alpha[0])) {
    return alpha.length === cols
      ? undefined
      : { path: '/params/alpha', message: `one slope per column needs ${cols} numbers, got ${alpha.length}` };
  }
  const grid = alpha as number[][];
  if (grid.length !== rows) {
    return { path: '/params/alpha', message: `one slope per element needs ${rows} rows of ${cols}, got ${grid.length} rows` };
  }
  const bad = grid.findIndex((row) => row.length !== cols);
  return bad < 0 ? undefined : { path: `/params/alpha/${bad}`, message: `expected ${cols} numbers, got ${grid[bad].length}` };
}

/** The slope of every element, row-major (one array per call, not per element). */
function slopes(alpha: Alpha, rows: number, cols: number): Float64Array {
  const issue = alphaIssue(alpha, rows, cols);
  if (issue) throw new RangeError(`prelu ${issue.path}: ${issue.message}`);
  const a = new Float64Array(rows * cols);
  if (typeof alpha === 'number') return a.fill(alpha);
  for (let r = 0; r < rows; r++) {
    const row = (Array.isArray(alpha[0]) ? (alpha as number[][])[r] : alpha) as number[];
    for (let c = 0; c < cols; c++) a[r * cols + c] = row[c];
  }
  return a;
}

/**
 * Σ terms, to be rounded once: Ogita–Rump–Oishi's Dot2 keeps each product's
 * rounding error (Dekker) and each addition's (TwoSum) in a second
 * accumulator, and `run` their running error bound (numeric/exact-sum.ts
 * `boundOf`). `s`, `c` and `run` are per output slot. A factor beyond
 * Dekker's split makes the slot's bound infinite, so it is summed exactly.
 */
function accumulate(s: Float64Array, c: Float64Array, run: Float64Array, k: number, d: number, m: number): void {
  let p: number;
  let pe: number;
  if (Math.abs(d) < SPLIT_SAFE && Math.abs(m) < SPLIT_SAFE) {
    p = twoProd(d, m);
    pe = dd.lo;
  } else {
    p = d * m;
    pe = 0;
    run[k] = Infinity;
  }
  s[k] = twoSum(s[k], p);
  const t = pe + dd.lo;
  const sum = c[k] + t;
  c[k] = sum;
  run[k] += Math.abs(t) + Math.abs(sum) + lowPartRun(p);
}

/**
 * Slot k's sum rounded once: settled from its bound, or redone exactly over
 * the elements that feed it (i ≡ k mod width, x ≤ 0), or by IEEE arithmetic
 * when a term is not finite.
 */
function total(s: Float64Array, c: Float64Array, run: Float64Array, k: number, x: Float64Array, dy: Float64Array, width: number): number {
  const v = settle(s[k], c[k], boundOf(run[k]));
  if (v === v) return v;
  const exact = new ExactSum();
  for (let i = k; i < x.length; i += width) if (!(x[i] > 0)) exact.addProduct(dy[i], x[i]);
  return exact.round();
}

/**
 * PReLU, x if x > 0 else α·x, with α learnable: one α for the whole batch,
 * one per column (PyTorch's one per channel), or one per element.
 *
 * Forward is x·(x > 0 ? 1 : α): one multiplication, rounded once; −0 keeps its
 * sign and NaN propagates. One loop per shape of α, so one α is a constant in
 * the loop (unrolled four ways, as leaky_relu) and one per column is read
 * from a small array, with no slope array the size of the batch. Backward: dx = dy·(x > 0 ? 1 : α), so α at x = 0;
 * dα = Σ dy·x over the elements with x ≤ 0 (x = 0 adds 0), reduced to α's
 * shape: per element it is one product, per column a sum over the rows, for
 * one α a sum over the batch. The sums use compensated dot products (Dot2)
 * with a running error bound and are redone exactly where that cannot settle
 * the rounding, so dα is the exact sum rounded once, cancellation or not. A NaN
 * x makes dx NaN and its term of dα NaN (x ≤ 0 is undecided, as in PyTorch's
 * x > 0 ? 0 : dy·x).
 */
export const prelu = defineActivation({
  name: 'prelu',
  title: 'Parametric ReLU',
  summary: 'A leaky ReLU whose negative slope is learned: one, one per column, or one per element.',
  kind: 'elementwise',
  params: z.strictObject({
    alpha: z
      .union([z.number(), z.array(z.number()).min(1), z.array(z.array(z.number()).min(1)).min(1)])
      .default(0.25)
      .describe(
        'Slope for x ≤ 0: one number for the whole batch, an array of one per column ([cols]), or one per element ([rows][cols]). Learnable: backward returns grad_params.alpha in the same shape.',
      ),
  }),
  learnable: ['alpha'],
  formula: '\\operatorname{PReLU}(x) = \\begin{cases} x & x > 0 \\\\ \\alpha x & x \\le 0 \\end{cases}',
  derivative:
    "\\frac{\\partial y}{\\partial x} = \\begin{cases} 1 & x > 0 \\\\ \\alpha & x \\le 0 \\end{cases},\\qquad \\frac{\\partial L}{\\partial \\alpha} = \\sum_{x \\le 0} \\frac{\\partial L}{\\partial y}\\, x",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks:
      'The derivative at x = 0 is taken as α; the α-gradient sums dy·x over x ≤ 0, where x = 0 adds 0. Monotonic while α ≥ 0.',
    pros: [
      'Learns how much negative signal to let through, so units do not die and the slope needs no tuning.',
      'Costs one parameter per channel (or one in all) and a multiplication per element.',
      'Negative outputs pull the mean activation towards zero, which speeds up training (He et al.).',
    ],
    cons: [
      'The extra parameters can overfit on small data sets, and weight decay on α pulls it towards ReLU.',
      'Not zero-centred, and no sparsity for negative inputs.',
      'Not differentiable at 0; the convention chosen there matters for exact gradient checks.',
    ],
    references: [
      { title: 'He, Zhang, Ren & Sun (2015), Delving Deep into Rectifiers: Surpassing Human-Level Performance on ImageNet Classification', url: 'https://arxiv.org/abs/1502.01852' },
      { title: 'PyTorch documentation, torch.nn.PReLU', url: 'https://pytorch.org/docs/stable/generated/torch.nn.PReLU.html' },
    ],
  },
  // One α, so the example fits any batch width (the registry tests reuse it on other shapes).
  example: { inputs: [[-2, -0.5, 0, 0.5, 2]], params: { alpha: 0.1 } },
  checkShape(params, rows, cols) {
    return alphaIssue(params.alpha, rows, cols);
  },
  forward({ x, out, rows, cols, params }) {
    const alpha = params.alpha;
    if (typeof alpha === 'number') {
      leakyForward(x, out, alpha);
      return;
    }
    if (!Array.isArray(alpha[0])) {
      const issue = alphaIssue(alpha, rows, cols);
      if (issue) throw new RangeError(`prelu ${issue.path}: ${issue.message}`);
      leakyForwardSlopes(x, out, Float64Array.from(alpha as number[]));
      return;
    }
    leakyForwardSlopes(x, out, slopes(alpha, rows, cols));
  },
  backward({ x, dy: upstream, dx, rows, cols, params }) {
    const alpha = params.alpha;
    // dα's exact pass reads dy after dx is written: in place, from a copy.
    const dy = dx.buffer === upstream.buffer ? upstream.slice() : upstream;
    const a = slopes(alpha, rows, cols);
    // One accumulator per α: 1, cols or rows·cols slots; element i feeds slot i mod width.
    const width = typeof alpha === 'number' ? 1 : Array.isArray(alpha[0]) ? rows * cols : cols;
    const s = new Float64Array(width);
    const c = new Float64Array(width);
    const run = new Float64Array(width);
    // Selects through small tables at comparison flags (piecewise.ts): the ternaries on the sign of x
    // compiled to branches, mispredicted half the time on random signs.
    const factor = new Float64Array(2);
    factor[1] = 1;
    const result = new Float64Array(2);
    result[1] = NaN;
    const term = new Float64Array(4);
    let k = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const d = dy[i];
      const positive = +(v > 0);
      factor[0] = a[i];
      // dx = x is NaN ? NaN : dy·(x > 0 ? 1 : α)
      result[0] = d * factor[positive];
      dx[i] = result[+(v !== v)];
      // x > 0 contributes an exact 0 (the terms dy·x become 0·0), even where dy is infinite or NaN.
      term[0] = d;
      term[2] = v;
      accumulate(s, c, run, k, term[positive], term[2 + positive]);
      k = k + 1 === width ? 0 : k + 1;
    }
    let grad: Alpha;
    const sum = (k: number) => total(s, c, run, k, x, dy, width);
    if (typeof alpha === 'number') grad = sum(0);
    else if (width === cols && !Array.isArray(alpha[0])) grad = Array.from(s, (_, j) => sum(j));
    else grad = Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, j) => sum(r * cols + j)));
    return { alpha: grad };
  },
});
