import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, twoSum, fastTwoSum, twoProd, mulDD, divDD } from '../numeric/dd.js';
import { expX, expDD, expSplit, expSplitDD, scaleRound } from '../numeric/exp.js';

/**
 * exp arguments below this are kept as mantissa and exponent: their share of Σ
 * is below 2^-950, and as double-doubles their low parts would be subnormal.
 */
const TINY_ARG = -660;

/** Per-call scratch for one row (allocated once per call, reused for every row). */
interface Row {
  /** e_j = exp(x_j - max) as hi + lo; for tiny e_j their mantissa, with the exponent in `k`. */
  readonly eh: Float64Array;
  readonly el: Float64Array;
  /** 0 for an ordinary e_j, else the binary exponent of a tiny one. */
  readonly k: Int32Array;
  /** y_j = e_j / Σ as hi + lo (tiny ones: the mantissa quotient). */
  readonly yh: Float64Array;
  readonly yl: Float64Array;
  /** c_j = dy_j - ⟨dy, y⟩ as hi + lo (backward). */
  readonly ch: Float64Array;
  readonly cl: Float64Array;
}

function newRow(cols: number): Row {
  return {
    eh: new Float64Array(cols),
    el: new Float64Array(cols),
    k: new Int32Array(cols),
    yh: new Float64Array(cols),
    yl: new Float64Array(cols),
    ch: new Float64Array(cols),
    cl: new Float64Array(cols),
  };
}

/** e_j for one entry: d = x_j - max as a double-double; `precise` picks the 2^-100 exp. */
function entryExp(row: Row, j: number, d: number, dl: number, precise: boolean): void {
  if (d > TINY_ARG) {
    row.eh[j] = precise ? expDD(d, dl) : expX(d, dl);
    row.el[j] = dd.lo;
    row.k[j] = 0;
  } else if (d > -1e5) {
    row.eh[j] = precise ? expSplitDD(d, dl) : expSplit(d, dl);
    row.el[j] = dd.lo;
    row.k[j] = dd.k;
  } else {
    // -Infinity (x_j = -Infinity, or x_j - max overflowing) gives 0; NaN poisons Σ.
    row.eh[j] = d === d ? 0 : NaN;
    row.el[j] = 0;
    row.k[j] = 0;
  }
}

/** Fills e_j (x_j - max split exactly by TwoSum, 2^-74 exp) for the row at offset o. */
function rowExp(x: Float64Array, o: number, cols: number, m: number, row: Row): void {
  for (let j = 0; j < cols; j++) {
    const d = twoSum(x[o + j], -m);
    entryExp(row, j, d, dd.lo, false);
  }
}

/** Σ_j e_j, compensated, as hi + dd.lo (tiny e_j are below its last bit). NaN if any e_j is. */
function rowSum(cols: number, row: Row): number {
  let sh = 0;
  let sl = 0;
  for (let j = 0; j < cols; j++) {
    const e = row.eh[j];
    if (row.k[j] !== 0) continue;
    sh = twoSum(sh, e);
    sl += dd.lo + row.el[j];
  }
  return fastTwoSum(sh, sl);
}

/** y_j = e_j/Σ into yh/yl (double-double). */
function rowY(cols: number, row: Row, sh: number, sl: number): void {
  for (let j = 0; j < cols; j++) {
    row.yh[j] = divDD(row.eh[j], row.el[j], sh, sl);
    row.yl[j] = dd.lo;
  }
}

/** The double value of y_j (tiny ones scaled into the subnormals, one rounding). */
function yValue(row: Row, j: number): number {
  const k = row.k[j];
  return k === 0 ? row.yh[j] : scaleRound(row.yh[j], row.yl[j], k);
}

function rowMax(x: Float64Array, o: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
  return m;
}

/**
 * c_j = dy_j - ⟨dy, y⟩ into ch/cl, computed as (dy_j - r) - Σ_k y_k (dy_k - r)
 * with r = dy of the largest y (exact since Σ y_k = 1): when one y dominates,
 * as after training, the sum is small and so is its error, where the plain dot
 * product cancels in every element. Sums and products in double-double.
 *
 * Leaves min_j |c_j| and Σ_k y_k|c_k| in `cancel`. A relative error ε_k in y_k
 * moves every c_j by y_k·ε_k·c_k, so with y good to 2^-73 every c_j is good to
 * 2^-55 (a quarter ULP) when min |c| ≥ 2^-18·Σ y|c|.
 */
function rowC(dy: Float64Array, o: number, cols: number, row: Row, top: number): void {
  const r = dy[o + top];
  let wh = 0;
  let wl = 0;
  for (let j = 0; j < cols; j++) {
    const dh = twoSum(dy[o + j], -r);
    const dl = dd.lo;
    let ph = mulDD(row.yh[j], row.yl[j], dh, dl);
    let pl = dd.lo;
    if (row.k[j] !== 0) {
      ph = scaleRound(ph, pl, row.k[j]);
      pl = 0;
    }
    wh = twoSum(wh, ph);
    wl += dd.lo + pl;
  }
  wh = fastTwoSum(wh, wl);
  wl = dd.lo;
  let minC = Infinity;
  let sumYC = 0;
  for (let j = 0; j < cols; j++) {
    const dh = twoSum(dy[o + j], -r);
    const dl = dd.lo;
    const c0 = twoSum(dh, -wh);
    const ch = twoSum(c0, dd.lo + (dl - wl)); // renormalised: c0 may cancel to 0
    row.ch[j] = ch;
    row.cl[j] = dd.lo;
    const a = Math.abs(ch);
    sumYC += yValue(row, j) * a;
    // an exact 0 (dy_j = r and nothing to subtract) needs no precision
    if (a < minC && (dh !== 0 || wh !== 0)) minC = a;
  }
  cancel.minC = minC;
  cancel.sumYC = sumYC;
}

/** rowC's summary of the row (an object: V8 boxes doubles kept in module variables). */
const cancel = { minC: 0, sumYC: 0 };

/** dx_j = y_j·c_j, rounded once. */
function rowDx(dx: Float64Array, o: number, cols: number, row: Row): void {
  for (let j = 0; j < cols; j++) {
    const k = row.k[j];
    const yh = row.yh[j];
    const ch = row.ch[j];
    if (k === 0) {
      const p = twoProd(yh, ch);
      dx[o + j] = p + (dd.lo + (yh * row.cl[j] + row.yl[j] * ch));
    } else {
      dx[o + j] = scaleRound(mulDD(yh, row.yl[j], ch, row.cl[j]), dd.lo, k);
    }
  }
}

/** min|c| / Σ y|c| below which the precise exp is needed (see rowC). */
const MARGIN = 2 ** -18;

/**
 * Softmax over each row, correctly rounded but for rare near-ties.
 *
 * Forward: e_j = exp(x_j - max) with x_j - max split exactly (TwoSum: the
 * difference of two doubles is not a double, and exp magnifies the lost bits),
 * exp to 2^-74 (numeric/exp.ts), Σ e_j compensated, and y_j = e_j/Σ in
 * double-double, rounded once; tiny e_j (below e^-660) are scaled into the
 * subnormals only after the division.
 *
 * Backward: dx = y ⊙ (dy - ⟨dy, y⟩), where dy_i - ⟨dy, y⟩ cancels whenever dy_i
 * is near the y-weighted mean of dy, and always for the dominant class of a
 * confident row. It is re-centred on the dominant class and summed in
 * double-double (see rowC). Where an element still cancels by more than 2^-18
 * (rare: about one row in a thousand of width 1000 with random data), the
 * entries that can move it are redone with the 2^-100 exp. Beyond that, an
 * element that agrees with ⟨dy, y⟩ to about 15 digits keeps an absolute error
 * near 2^-100·Σ y_k|c_k|, the limit of double-double.
 *
 * Non-finite rows follow IEEE/PyTorch: NaN or +Infinity anywhere in x makes the
 * row NaN (forward and backward), as does a row of only -Infinity; -Infinity
 * entries otherwise get 0. Non-finite dy gives the plain y ⊙ (dy - ⟨dy, y⟩).
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
    pros: [
      'Outputs a probability distribution over the row, the natural last layer of a classifier.',
      'Invariant to adding a constant to the row, so logits need no normalisation.',
      'Its gradient with cross-entropy is simply y - t, well scaled for training.',
    ],
    cons: [
      'Saturates when one input dominates: the other entries get vanishing gradients.',
      'A row operation: each output depends on the whole row, so it cannot be fused element by element.',
      'Overconfident: large logits give probabilities near 0 and 1 that are poorly calibrated.',
    ],
    references: [{ title: 'Bridle (1990), Probabilistic interpretation of feedforward classification network outputs', url: 'https://doi.org/10.1007/978-3-642-76153-9_28' }],
  },
  example: { inputs: [[1, 2, 3], [0, 0, 0]] },
  forward({ x, rows, cols, out }) {
    const row = newRow(cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      rowExp(x, o, cols, rowMax(x, o, cols), row);
      const sh = rowSum(cols, row);
      const sl = dd.lo;
      for (let j = 0; j < cols; j++) {
        const q = divDD(row.eh[j], row.el[j], sh, sl);
        const k = row.k[j];
        out[o + j] = k === 0 ? q : scaleRound(q, dd.lo, k);
      }
    }
  },
  backward({ x, dy, rows, cols, dx }) {
    const row = newRow(cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let m = -Infinity;
      let top = 0;
      let finiteDy = true;
      for (let j = 0; j < cols; j++) {
        const v = x[o + j];
        if (v > m) {
          m = v;
          top = j;
        }
        const g = dy[o + j];
        if (!(Math.abs(g) <= Number.MAX_VALUE)) finiteDy = false;
      }
      rowExp(x, o, cols, m, row);
      let sh = rowSum(cols, row);
      if (sh !== sh) {
        for (let j = 0; j < cols; j++) dx[o + j] = NaN;
        continue;
      }
      rowY(cols, row, sh, dd.lo);
      if (!finiteDy) {
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += yValue(row, j) * dy[o + j];
        for (let j = 0; j < cols; j++) dx[o + j] = yValue(row, j) * (dy[o + j] - dot);
        continue;
      }
      rowC(dy, o, cols, row, top);
      if (cancel.minC < MARGIN * cancel.sumYC) {
        // Redo with the 2^-100 exp the entries with y_k|c_k| > min|c|/(MARGIN·cols):
        // the others together move min|c| by less than 2^-55 of itself.
        const tau = cancel.minC / (MARGIN * cols);
        for (let j = 0; j < cols; j++) {
          if (!(yValue(row, j) * Math.abs(row.ch[j]) <= tau)) {
            const d = twoSum(x[o + j], -m);
            entryExp(row, j, d, dd.lo, true);
          }
        }
        sh = rowSum(cols, row);
        rowY(cols, row, sh, dd.lo);
        rowC(dy, o, cols, row, top);
      }
      rowDx(dx, o, cols, row);
    }
    return undefined;
  },
});
