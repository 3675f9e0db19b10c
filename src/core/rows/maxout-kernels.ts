/**
 * Maxout with learnable weights: z_ij = Σ_c x_c·W_i[c][j] + b_ij,
 * out_j = max_i z_ij, and its gradients.
 *
 * Every dot product and every sum over the batch is compensated (Ogita, Rump
 * & Oishi's Dot2: TwoProd for each product, TwoSum for each addition), so
 * results are as if computed in twice the working precision and rounded
 * once. The maximum is taken over the double-double values, so the winning
 * piece is the exact one unless two pieces agree to about 2^-106 (the lowest
 * index wins ties).
 */
import { dd, fastTwoSum, twoProd, twoSum } from '../numeric/dd.js';

export interface MaxoutWeights {
  readonly pieces: number;
  readonly units: number;
  /** W_i[c][j] at (i·cols + c)·units + j. */
  readonly w: Float64Array;
  /** b_ij at i·units + j (zeros when no bias). */
  readonly b: Float64Array;
}

export function packWeights(weight: readonly (readonly (readonly number[])[])[], bias: readonly (readonly number[])[] | undefined, cols: number): MaxoutWeights {
  const pieces = weight.length;
  const units = weight[0][0].length;
  const w = new Float64Array(pieces * cols * units);
  const b = new Float64Array(pieces * units);
  for (let i = 0; i < pieces; i++) {
    for (let c = 0; c < cols; c++) w.set(weight[i][c], (i * cols + c) * units);
    if (bias) b.set(bias[i], i * units);
  }
  return { pieces, units, w, b };
}

/** z_ij for one row, as hi + dd.lo (Dot2). A product that overflows TwoProd's split falls back to plain arithmetic. */
function piece(x: Float64Array, o: number, cols: number, W: MaxoutWeights, i: number, j: number): number {
  const { w, b, units } = W;
  let sh = b[i * units + j];
  let sl = 0;
  let base = i * cols * units + j;
  for (let c = 0; c < cols; c++, base += units) {
    const ph = twoProd(x[o + c], w[base]);
    const pl = dd.lo;
    sh = twoSum(sh, ph);
    sl += dd.lo + pl;
  }
  const r = fastTwoSum(sh, sl);
  if (Number.isFinite(r)) return r;
  // Overflow or non-finite inputs: IEEE arithmetic decides (NaN, ±Infinity).
  let s = b[i * units + j];
  base = i * cols * units + j;
  for (let c = 0; c < cols; c++, base += units) s += x[o + c] * w[base];
  dd.lo = 0;
  return s;
}

/**
 * For row r, unit j: the winning piece (lowest index on ties; the first NaN
 * piece if any) into win[j], and its value rounded into out.
 */
function winners(x: Float64Array, o: number, cols: number, W: MaxoutWeights, win: Int32Array, out: Float64Array | undefined, oo: number): void {
  for (let j = 0; j < W.units; j++) {
    let best = 0;
    let bh = piece(x, o, cols, W, 0, j);
    let bl = dd.lo;
    for (let i = 1; i < W.pieces && bh === bh; i++) {
      const h = piece(x, o, cols, W, i, j);
      const l = dd.lo;
      if (h !== h || h > bh || (h === bh && l > bl)) {
        best = i;
        bh = h;
        bl = l;
      }
    }
    win[j] = best;
    if (out) out[oo + j] = bh;
  }
}

let winScratch = new Int32Array(0);
function winScratchFor(units: number): Int32Array {
  if (winScratch.length < units) winScratch = new Int32Array(units);
  return winScratch;
}

export function maxoutWeightedForward(x: Float64Array, rows: number, cols: number, W: MaxoutWeights, out: Float64Array): void {
  const win = winScratchFor(W.units);
  for (let r = 0; r < rows; r++) winners(x, r * cols, cols, W, win, out, r * W.units);
}

export interface MaxoutGrads {
  weight: number[][][];
  bias: number[][];
}

/**
 * dx_c = Σ_j dy_j·W_{win_j}[c][j] (Dot2 per element); dW_i[c][j] = Σ_r dy_rj·x_rc
 * and db_ij = Σ_r dy_rj over the rows where piece i wins unit j, each a
 * compensated sum over the batch.
 */
export function maxoutWeightedBackward(
  x: Float64Array,
  dy: Float64Array,
  rows: number,
  cols: number,
  W: MaxoutWeights,
  dx: Float64Array,
): MaxoutGrads {
  const { pieces, units, w } = W;
  const win = winScratchFor(units);
  const gwH = new Float64Array(pieces * cols * units);
  const gwL = new Float64Array(pieces * cols * units);
  const gbH = new Float64Array(pieces * units);
  const gbL = new Float64Array(pieces * units);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const oy = r * units;
    winners(x, o, cols, W, win, undefined, 0);
    for (let c = 0; c < cols; c++) {
      let sh = 0;
      let sl = 0;
      let plain = 0;
      for (let j = 0; j < units; j++) {
        const wv = w[(win[j] * cols + c) * units + j];
        const g = dy[oy + j];
        plain += g * wv;
        const ph = twoProd(g, wv);
        const pl = dd.lo;
        sh = twoSum(sh, ph);
        sl += dd.lo + pl;
      }
      const v = fastTwoSum(sh, sl);
      dx[o + c] = Number.isFinite(v) ? v : plain;
    }
    for (let j = 0; j < units; j++) {
      const i = win[j];
      const g = dy[oy + j];
      const bi = i * units + j;
      gbH[bi] = twoSum(gbH[bi], g);
      gbL[bi] += dd.lo;
      for (let c = 0; c < cols; c++) {
        const wi = (i * cols + c) * units + j;
        const ph = twoProd(g, x[o + c]);
        const pl = dd.lo;
        gwH[wi] = twoSum(gwH[wi], ph);
        gwL[wi] += dd.lo + pl;
      }
    }
  }
  const finish = (h: number, l: number, plain: () => number): number => {
    const v = fastTwoSum(h, l);
    return Number.isFinite(v) ? v : plain();
  };
  const weight: number[][][] = [];
  const bias: number[][] = [];
  for (let i = 0; i < pieces; i++) {
    const wi: number[][] = [];
    for (let c = 0; c < cols; c++) {
      const row: number[] = new Array<number>(units);
      for (let j = 0; j < units; j++) {
        const k = (i * cols + c) * units + j;
        row[j] = finish(gwH[k], gwL[k], () => plainWeightGrad(x, dy, rows, cols, W, i, c, j));
      }
      wi.push(row);
    }
    weight.push(wi);
    const brow: number[] = new Array<number>(units);
    for (let j = 0; j < units; j++) {
      const k = i * units + j;
      brow[j] = finish(gbH[k], gbL[k], () => plainBiasGrad(x, dy, rows, cols, W, i, j));
    }
    bias.push(brow);
  }
  return { weight, bias };
}

/** The plain sums, for gradients that are not finite (IEEE semantics for NaN and ±Infinity). */
function plainWeightGrad(x: Float64Array, dy: Float64Array, rows: number, cols: number, W: MaxoutWeights, i: number, c: number, j: number): number {
  const win = new Int32Array(W.units);
  let s = 0;
  for (let r = 0; r < rows; r++) {
    winners(x, r * cols, cols, W, win, undefined, 0);
    if (win[j] === i) s += dy[r * W.units + j] * x[r * cols + c];
  }
  return s;
}

function plainBiasGrad(x: Float64Array, dy: Float64Array, rows: number, cols: number, W: MaxoutWeights, i: number, j: number): number {
  const win = new Int32Array(W.units);
  let s = 0;
  for (let r = 0; r < rows; r++) {
    winners(x, r * cols, cols, W, win, undefined, 0);
    if (win[j] === i) s += dy[r * W.units + j];
  }
  return s;
}
