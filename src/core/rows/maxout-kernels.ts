/**
 * Maxout with learnable weights: z_ij = Σ_c x_c·W_i[c][j] + b_ij,
 * out_j = max_i z_ij, and its gradients; every result is the exact value
 * rounded once, and the winning piece is the exact maximum.
 *
 * Every dot product and every sum over the batch is compensated (Ogita, Rump
 * & Oishi's Dot2: TwoProd for each product, TwoSum for each addition) and
 * carries a running error bound (Higham's running error analysis): each
 * rounded addition of the low parts is off by at most 2^-53 of its result,
 * and a product whose high part lies below 2^-969 loses at most 2^-1070 in
 * its low part (numeric/exact-sum.ts `boundOf`, `lowPartRun`). Where the bound leaves the rounding (or, between pieces, the
 * order) unsettled, and where the double-double overflowed, the sum is redone
 * exactly (numeric/exact-sum.ts); inputs with an Infinity or a NaN take IEEE
 * arithmetic. So 1e16 + 1 − 1e16 is 1, a result next to a rounding boundary
 * is the nearest double, and pieces equal to the last bit tie exactly (the
 * lowest index wins). Pieces that are copies of an earlier one (the same
 * column of weights and the same bias, e.g. all zeros) can never win a tie
 * and are skipped.
 */
import { dd, twoProd, twoSum } from '../numeric/dd.js';
import { boundOf, ExactSum, lowPartRun, MIN_SUBNORMAL, settle } from '../numeric/exact-sum.js';

export interface MaxoutWeights {
  readonly pieces: number;
  readonly units: number;
  /** W_i[c][j] at (i·cols + c)·units + j. */
  readonly w: Float64Array;
  /** b_ij at i·units + j (zeros when no bias). */
  readonly b: Float64Array;
  /** 1 at i·units + j when piece i of unit j repeats an earlier piece (the same weights and bias). */
  readonly repeats: Uint8Array;
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
  const repeats = new Uint8Array(pieces * units);
  for (let j = 0; j < units; j++) {
    for (let i = 1; i < pieces; i++) {
      for (let earlier = 0; earlier < i; earlier++) {
        if (samePiece(w, b, cols, units, i, earlier, j)) {
          repeats[i * units + j] = 1;
          break;
        }
      }
    }
  }
  return { pieces, units, w, b, repeats };
}

/** Pieces i and k of unit j have equal weights and bias (=== compares, so a NaN is never the same). */
function samePiece(w: Float64Array, b: Float64Array, cols: number, units: number, i: number, k: number, j: number): boolean {
  if (b[i * units + j] !== b[k * units + j]) return false;
  for (let c = 0; c < cols; c++) if (w[(i * cols + c) * units + j] !== w[(k * cols + c) * units + j]) return false;
  return true;
}

/** The bound left by `piece`. */
const pieceBound = { e: 0 };

/** z_ij for one row as hi + dd.lo (normalized), within pieceBound.e of the exact value. */
function piece(x: Float64Array, o: number, cols: number, W: MaxoutWeights, i: number, j: number): number {
  const { w, b, units } = W;
  let sh = b[i * units + j];
  let sl = 0;
  let run = 0;
  let base = i * cols * units + j;
  for (let c = 0; c < cols; c++, base += units) {
    const ph = twoProd(x[o + c], w[base]);
    const pl = dd.lo;
    sh = twoSum(sh, ph);
    const t = dd.lo + pl;
    sl += t;
    run += Math.abs(t) + Math.abs(sl) + lowPartRun(ph);
  }
  const e = boundOf(run);
  const r = twoSum(sh, sl);
  if (Number.isFinite(r) && Number.isFinite(e)) {
    pieceBound.e = e;
    return r;
  }
  // Overflow in the double-double (a factor beyond Dekker's split, a sum beyond the largest double), or a
  // non-finite input: the exact sum rounded once (within half an ULP), or IEEE arithmetic.
  const sum = exactPiece(x, o, cols, W, i, j);
  const v = sum.round();
  // Exact: within half an ULP, or beyond the largest double by an unknown amount (Infinity). IEEE: as is (0).
  pieceBound.e = sum.finite ? (Number.isFinite(v) ? Math.abs(v) * 2 ** -53 + MIN_SUBNORMAL : Infinity) : 0;
  dd.lo = 0;
  return v;
}

/** z_ij exactly (or by IEEE arithmetic when a term is not finite: ExactSum). */
function exactPiece(x: Float64Array, o: number, cols: number, W: MaxoutWeights, i: number, j: number): ExactSum {
  const { w, b, units } = W;
  const sum = new ExactSum().add(b[i * units + j]);
  for (let c = 0, base = i * cols * units + j; c < cols; c++, base += units) sum.addProduct(x[o + c], w[base]);
  return sum;
}

/**
 * Whether piece i (h + l within e) exceeds the best so far (bh + bl within
 * be, a lower index): from the double-doubles when their bounds settle it,
 * else exactly.
 */
function exceeds(h: number, l: number, e: number, bh: number, bl: number, be: number, x: Float64Array, o: number, cols: number, W: MaxoutWeights, i: number, best: number, j: number): boolean {
  if (!(Number.isFinite(h) && Number.isFinite(bh))) {
    // Two exact sums that both overflow to the same infinity are still ordered; IEEE infinities tie.
    if (!(h === bh && e === Infinity && be === Infinity)) return h > bh;
  } else if (e === 0 && be === 0) return h > bh || (h === bh && l > bl);
  else {
    const d = (h - bh) + (l - bl);
    // d's own rounding: under 2^-50 of it plus 2^-100 of the operands.
    const margin = e + be + 2 ** -100 * (Math.abs(h) + Math.abs(bh));
    if (Math.abs(d) * (1 - 2 ** -50) > margin) return d > 0;
  }
  const a = exactPiece(x, o, cols, W, i, j);
  const z = exactPiece(x, o, cols, W, best, j);
  return a.finite && z.finite && a.compare(z) > 0;
}

/**
 * For row r, unit j: the winning piece (lowest index on ties; the first NaN
 * piece if any) into win[j], and its value rounded once into out.
 */
function winners(x: Float64Array, o: number, cols: number, W: MaxoutWeights, win: Int32Array, wo: number, out: Float64Array | undefined, oo: number): void {
  const { pieces, units, repeats } = W;
  for (let j = 0; j < units; j++) {
    let best = 0;
    let bh = piece(x, o, cols, W, 0, j);
    let bl = dd.lo;
    let be = pieceBound.e;
    for (let i = 1; i < pieces && bh === bh; i++) {
      if (repeats[i * units + j] === 1) continue;
      const h = piece(x, o, cols, W, i, j);
      const l = dd.lo;
      const e = pieceBound.e;
      if (h !== h || exceeds(h, l, e, bh, bl, be, x, o, cols, W, i, best, j)) {
        best = i;
        bh = h;
        bl = l;
        be = e;
      }
    }
    win[wo + j] = best;
    if (out) {
      const v = settle(bh, bl, be);
      out[oo + j] = v === v ? v : exactPiece(x, o, cols, W, best, j).round();
    }
  }
}

export function maxoutWeightedForward(x: Float64Array, rows: number, cols: number, W: MaxoutWeights, out: Float64Array): void {
  const win = new Int32Array(W.units);
  for (let r = 0; r < rows; r++) winners(x, r * cols, cols, W, win, 0, out, r * W.units);
}

export interface MaxoutGrads {
  weight: number[][][];
  bias: number[][];
}

/**
 * dx_c = Σ_j dy_j·W_{win_j}[c][j]; dW_i[c][j] = Σ_r dy_rj·x_rc and
 * db_ij = Σ_r dy_rj over the rows where piece i wins unit j; each a
 * compensated sum with its running bound, redone exactly where that does not
 * settle it.
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
  const win = new Int32Array(rows * units);
  const size = pieces * cols * units;
  const gwH = new Float64Array(size);
  const gwL = new Float64Array(size);
  const gwRun = new Float64Array(size);
  const gbH = new Float64Array(pieces * units);
  const gbL = new Float64Array(pieces * units);
  const gbRun = new Float64Array(pieces * units);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const oy = r * units;
    winners(x, o, cols, W, win, oy, undefined, 0);
    for (let c = 0; c < cols; c++) {
      let sh = 0;
      let sl = 0;
      let run = 0;
      for (let j = 0; j < units; j++) {
        const ph = twoProd(dy[oy + j], w[(win[oy + j] * cols + c) * units + j]);
        const pl = dd.lo;
        sh = twoSum(sh, ph);
        const t = dd.lo + pl;
        sl += t;
        run += Math.abs(t) + Math.abs(sl) + lowPartRun(ph);
      }
      const v = settle(sh, sl, boundOf(run));
      dx[o + c] = v === v ? v : redoInputGrad(dy, oy, W, win, cols, c);
    }
    for (let j = 0; j < units; j++) {
      const i = win[oy + j];
      const g = dy[oy + j];
      const bi = i * units + j;
      gbH[bi] = twoSum(gbH[bi], g);
      const sl = gbL[bi] + dd.lo;
      gbL[bi] = sl;
      gbRun[bi] += Math.abs(sl);
      for (let c = 0; c < cols; c++) {
        const wi = (i * cols + c) * units + j;
        const ph = twoProd(g, x[o + c]);
        const pl = dd.lo;
        gwH[wi] = twoSum(gwH[wi], ph);
        const t = dd.lo + pl;
        const s = gwL[wi] + t;
        gwL[wi] = s;
        gwRun[wi] += Math.abs(t) + Math.abs(s) + lowPartRun(ph);
      }
    }
  }
  const weight: number[][][] = [];
  const bias: number[][] = [];
  for (let i = 0; i < pieces; i++) {
    const wi: number[][] = [];
    for (let c = 0; c < cols; c++) {
      const row: number[] = new Array<number>(units);
      for (let j = 0; j < units; j++) {
        const k = (i * cols + c) * units + j;
        const v = settle(gwH[k], gwL[k], boundOf(gwRun[k]));
        row[j] = v === v ? v : redoParamGrad(x, dy, rows, cols, units, win, i, j, c);
      }
      wi.push(row);
    }
    weight.push(wi);
    const brow: number[] = new Array<number>(units);
    for (let j = 0; j < units; j++) {
      const k = i * units + j;
      const v = settle(gbH[k], gbL[k], boundOf(gbRun[k]));
      brow[j] = v === v ? v : redoParamGrad(x, dy, rows, cols, units, win, i, j, -1);
    }
    bias.push(brow);
  }
  return { weight, bias };
}

/** dx_c of one row, exactly rounded once (IEEE arithmetic when a term is not finite). */
function redoInputGrad(dy: Float64Array, oy: number, W: MaxoutWeights, win: Int32Array, cols: number, c: number): number {
  const { w, units } = W;
  const sum = new ExactSum();
  for (let j = 0; j < units; j++) sum.addProduct(dy[oy + j], w[(win[oy + j] * cols + c) * units + j]);
  return sum.round();
}

/** dW_i[c][j] (or db_ij for c = −1) over the rows piece i wins, exactly rounded once (IEEE when a term is not finite). */
function redoParamGrad(x: Float64Array, dy: Float64Array, rows: number, cols: number, units: number, win: Int32Array, i: number, j: number, c: number): number {
  const sum = new ExactSum();
  for (let r = 0; r < rows; r++) {
    if (win[r * units + j] === i) sum.addProduct(dy[r * units + j], c < 0 ? 1 : x[r * cols + c]);
  }
  return sum.round();
}
