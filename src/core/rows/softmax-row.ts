/**
 * The shared state of the softmax family for one row: the shifted inputs and
 * their exponentials, to more than double precision, and the log-sum-exp.
 *
 * For a row v = sign·x (sign −1 gives softmin), with m = max v reached first
 * at index jmax:
 * - d_j = v_j − m exactly, as a double-double (TwoSum): rounding x_j − m
 *   before the exp would cost up to |x_j − m|·2^-53 relative in e^(d_j).
 * - e_j = e^(d_j) = (eh_j + el_j)·2^(ek_j) from the split exp (relative error
 *   2^-66, or 2^-95 when `precise`), kept as mantissa and exponent so that
 *   probabilities deep in the subnormal range are rounded once.
 * - u = Σ_{j≠jmax} e_j (double-double), S = 1 + u, and log S = log1p(u):
 *   the max term is exactly 1, so log S needs no log of a number near 1 and
 *   1 − p_max = u/S needs no subtraction. u is also kept scaled by 2^600, so
 *   that when u is below 2^-900 (one dominant logit), −log S = −u still
 *   comes out correctly rounded, subnormal or not.
 *
 * A row holding NaN or +Infinity, or only −Infinity, has no finite maximum:
 * e^(v_j − m) is NaN (IEEE 754, as PyTorch), and `load` returns false.
 * A −Infinity entry next to a finite maximum has e_j = 0 (a masked logit).
 */
import { dd, divDD, fastTwoSum, twoSum } from '../numeric/dd.js';
import { expSplit, expSplitDD, mulPow2, pow2, scaleRound } from '../numeric/exp.js';
import { log1pDD } from './log1p.js';

/** u is accumulated as U = u·2^SCALE. */
const SCALE = 600;
const DOWN = 2 ** -SCALE;
/** Below this U (u < 2^-900), log1p(u) = u to full precision and u is handled scaled. */
const TINY_U = 2 ** -300;
/** d_j below this: e^(d_j) < 2^-144000, zero for every purpose (the split exp needs |d| < 2^20). */
const EXP_FLOOR = -1e5;

export class SoftmaxRow {
  /** Shifted inputs d_j = v_j − m as dh + dl (dl = 0 where dh = −Infinity). */
  readonly dh: Float64Array;
  readonly dl: Float64Array;
  /** e^(d_j) = (eh + el)·2^ek; eh = 0 for e^(d_j) = 0. */
  readonly eh: Float64Array;
  readonly el: Float64Array;
  readonly ek: Int32Array;
  cols = 0;
  m = 0;
  jmax = 0;
  /** u = Σ_{j≠jmax} e_j = (Uh + Ul)·2^-600. */
  Uh = 0;
  Ul = 0;
  uh = 0;
  ul = 0;
  /** u < 2^-900: use the scaled U. */
  tiny = false;
  /** S = 1 + u. */
  Sh = 1;
  Sl = 0;
  /** log S, once `logSum()` has run. */
  Lh = 0;
  Ll = 0;
  /** The exponent of the last `prob` call. */
  k = 0;

  constructor(cols: number) {
    this.dh = new Float64Array(cols);
    this.dl = new Float64Array(cols);
    this.eh = new Float64Array(cols);
    this.el = new Float64Array(cols);
    this.ek = new Int32Array(cols);
  }

  /**
   * Loads row x[o … o+cols−1] times `sign` (±1). Returns false when the row
   * has no finite maximum (the results are NaN).
   */
  load(x: Float64Array, o: number, cols: number, sign: number, precise: boolean): boolean {
    this.cols = cols;
    let m = -Infinity;
    let jmax = -1;
    let nan = false;
    for (let j = 0; j < cols; j++) {
      const v = sign * x[o + j];
      if (v > m) {
        m = v;
        jmax = j;
      } else if (v !== v) nan = true;
    }
    if (nan || jmax < 0 || m === Infinity) return false;
    this.m = m;
    this.jmax = jmax;
    const { dh, dl, eh, el, ek } = this;
    let Uh = 0;
    let Ul = 0;
    for (let j = 0; j < cols; j++) {
      if (j === jmax) {
        dh[j] = 0;
        dl[j] = 0;
        eh[j] = 1;
        el[j] = 0;
        ek[j] = 0;
        continue;
      }
      const h = twoSum(sign * x[o + j], -m);
      const l = dd.lo;
      if (!(h > EXP_FLOOR)) {
        dh[j] = h;
        dl[j] = h === -Infinity ? 0 : l;
        eh[j] = 0;
        el[j] = 0;
        ek[j] = 0;
        continue;
      }
      dh[j] = h;
      dl[j] = l;
      const e = precise ? expSplitDD(h, l) : expSplit(h, l);
      const e2 = dd.lo;
      const k = dd.k;
      eh[j] = e;
      el[j] = e2;
      ek[j] = k;
      if (k + SCALE >= -1074) {
        const s = pow2(k + SCALE);
        Uh = twoSum(Uh, e * s);
        Ul += dd.lo + e2 * s;
      }
    }
    Uh = fastTwoSum(Uh, Ul);
    Ul = dd.lo;
    this.Uh = Uh;
    this.Ul = Ul;
    // Exact while u is normal; rounded once below (Uh·2^-600 alone would drop Ul and round twice there).
    this.uh = scaleRound(Uh, Ul, -SCALE);
    this.ul = Ul * DOWN;
    this.tiny = Uh < TINY_U;
    this.Sh = fastTwoSum(1, this.uh);
    this.Sl = dd.lo + this.ul;
    return true;
  }

  /** log S = log1p(u) into Lh + Ll (for tiny u: u itself, unscaled). */
  logSum(): void {
    if (this.tiny) {
      this.Lh = this.uh;
      this.Ll = 0;
    } else {
      this.Lh = log1pDD(this.uh, this.ul);
      this.Ll = dd.lo;
    }
  }

  /** p_j = e_j/S as (hi + dd.lo)·2^this.k; 0 when e_j = 0. */
  prob(j: number): number {
    const e = this.eh[j];
    this.k = this.ek[j];
    if (e === 0) {
      dd.lo = 0;
      return 0;
    }
    return divDD(e, this.el[j], this.Sh, this.Sl);
  }

  /** 1 − p_max = u/S as hi + dd.lo (unscaled; for tiny u use U·2^-600). */
  oneMinusPmax(): number {
    return divDD(this.uh, this.ul, this.Sh, this.Sl);
  }
}

/** Scratch rows by width, reused across calls (kernels run one at a time per thread). */
let scratch = new SoftmaxRow(0);
export function softmaxRow(cols: number): SoftmaxRow {
  if (scratch.dh.length < cols) scratch = new SoftmaxRow(cols);
  return scratch;
}

/**
 * (h + l)·2^k as hi + dd.lo: exact while normal; rounded in the subnormal
 * range (where the low part is lost). h need not be near 1: for a product
 * such as e_j·dy (h = 2^967, k = −1886) the scaling goes in steps, where
 * h·2^-1074 first lost every bit (log_softmax's exact pass was 0.8 ULP off).
 */
export function unscale(h: number, l: number, k: number): number {
  if (k >= -1074) {
    const s = pow2(k);
    dd.lo = l * s;
    return h * s;
  }
  dd.lo = mulPow2(l, k);
  return mulPow2(h, k);
}
