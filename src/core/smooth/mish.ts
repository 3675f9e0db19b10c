/**
 * Mish x·tanh(softplus(x)) and its derivative, without a tanh, a log or a
 * cancelling subtraction.
 *
 * With w = e^x, tanh(log(1 + w)) = w(w + 2)/(w² + 2w + 2) exactly, so
 *   mish(x)  = x·n/D,                      n = w(w + 2), D = n + 2,
 *   mish′(x) = w·h/D²,  h = (w + 2)·D + 4x(w + 1)
 * (= tanh(sp) + x·sech²(sp)·σ(x), with sech²(sp) = 4(w + 1)²/D²).
 * For x > 0 the same in v = e^-x (no overflow):
 *   mish(x)  = x·P/Q,  mish′(x) = (P·Q + 4x·v²(1 + v))/Q²,  P = 1 + 2v, Q = P + 2v².
 * One exponential per element; the rest is double-double arithmetic, the
 * result rounded once.
 *
 * h cancels near the root x0 ≈ −1.1924 of mish′. Within |x − x0| < 1/16, with
 * t = x − x0 (x0 a triple-double), M = expm1(t), w0 = e^x0 and h(x0) = 0:
 *   h = M·(K1 + K2(2 + M) + K3(3 + 3M + M²)) + 4t(1 + w0(1 + M)),
 *   K1 = (6 + 4x0)w0, K2 = 4w0², K3 = w0³,
 * and both terms have the sign of t, so nothing cancels; w = w0(1 + M).
 * Outside the band h cancels by less than 2^3.
 *
 * Tails: x < −700 gives mantissa and exponent (`mishSide.k`), rounded once by
 * the caller, as in swish.ts.
 */
import { addDD, dd, divDD, mulDD, mulDD1, twoSum } from '../numeric/dd.js';
import { expSplit, expX, scaleRoundMul } from '../numeric/exp.js';
import {
  MISH_B0_H,
  MISH_B0_L,
  MISH_K2,
  MISH_K3,
  ONE_PLUS_W0_H,
  ONE_PLUS_W0_L,
  W0_H,
  W0_L,
  X0_0,
  X0_1,
  X0_2,
} from './constants.js';
import { expm1X } from './expm1.js';
import { shiftFromRoot } from './shift.js';
import { mulRoundSub } from './round.js';

/** The binary exponent the last `mishSlope` result carries (0 except for x < −700). */
export const mishSide = { k: 0 };

const BAND = 1 / 16;
const K2_PLUS_3K3 = MISH_K2 + 3 * MISH_K3;

/** mish(x), rounded once. */
export function mishValue(x: number): number {
  if (x > 20) return x; // tanh(sp) = 1 − O(e^-2x) < 2^-57 away from 1: rounds to x
  if (x > 0) {
    const vh = expX(-x, 0);
    const vl = dd.lo;
    const v2h = mulDD(vh, vl, vh, vl);
    const v2l = dd.lo;
    const ph = twoSum(1, 2 * vh);
    const pl = dd.lo + 2 * vl;
    const qh = addDD(ph, pl, 2 * v2h, 2 * v2l);
    const t = divDD(ph, pl, qh, dd.lo);
    return mulRoundSub(x, t, dd.lo);
  }
  if (x >= -700) {
    const wh = expX(x, 0);
    const wl = dd.lo;
    const w2 = twoSum(2, wh);
    const nh = mulDD(wh, wl, w2, dd.lo + wl);
    const nl = dd.lo;
    const d = twoSum(2, nh);
    const t = divDD(nh, nl, d, dd.lo + nl);
    return mulRoundSub(x, t, dd.lo);
  }
  if (x >= -1e5) {
    // tanh(sp) = w(1 − w/2 + …) with w < 2^-1000: w alone.
    const m = expSplit(x, 0);
    const k = dd.k;
    return scaleRoundMul(m, dd.lo, k, x);
  }
  return x === x ? -0 : NaN;
}

/** mish′(x) as hi + dd.lo, times 2^mishSide.k. NaN for NaN. */
export function mishSlope(x: number): number {
  mishSide.k = 0;
  if (x > 30) {
    dd.lo = 0;
    return 1; // 1 + (4x − 2)e^-2x + …, below 2^-54 away from 1
  }
  if (x > 0) {
    const vh = expX(-x, 0);
    const vl = dd.lo;
    const v2h = mulDD(vh, vl, vh, vl);
    const v2l = dd.lo;
    const ph = twoSum(1, 2 * vh);
    const pl = dd.lo + 2 * vl;
    const qh = addDD(ph, pl, 2 * v2h, 2 * v2l);
    const ql = dd.lo;
    const pqh = mulDD(ph, pl, qh, ql);
    const pql = dd.lo;
    const ov = twoSum(1, vh);
    const ch = mulDD(v2h, v2l, ov, dd.lo + vl);
    const c4 = mulDD1(ch, dd.lo, 4 * x);
    const nh = addDD(pqh, pql, c4, dd.lo);
    const nl = dd.lo;
    const q2 = mulDD(qh, ql, qh, ql);
    return divDD(nh, nl, q2, dd.lo);
  }
  let wh: number;
  let wl: number;
  let hh: number;
  let hl: number;
  let dh: number;
  let dl: number;
  if (Math.abs(x - X0_0) < BAND) {
    const th = shiftFromRoot(x, 0, X0_0, X0_1, X0_2);
    const tl = dd.lo;
    const mh = expm1X(th, tl);
    const ml = dd.lo;
    const small = mh * (K2_PLUS_3K3 + mh * MISH_K3);
    const mb = mulDD(mh, ml, MISH_B0_H, MISH_B0_L + small);
    const mbl = dd.lo;
    const wm = mulDD(W0_H, W0_L, mh, ml);
    const wml = dd.lo;
    const vh = addDD(ONE_PLUS_W0_H, ONE_PLUS_W0_L, wm, wml);
    const t4v = mulDD(4 * th, 4 * tl, vh, dd.lo);
    hh = addDD(mb, mbl, t4v, dd.lo);
    hl = dd.lo;
    wh = addDD(W0_H, W0_L, wm, wml);
    wl = dd.lo;
    const w2h = mulDD(wh, wl, wh, wl);
    const w2l = dd.lo;
    const ow = twoSum(1, wh);
    dh = addDD(w2h, w2l, 2 * ow, 2 * (dd.lo + wl));
    dl = dd.lo;
  } else if (x >= -700) {
    wh = expX(x, 0);
    wl = dd.lo;
    const w2h = mulDD(wh, wl, wh, wl);
    const w2l = dd.lo;
    const ow = twoSum(1, wh);
    const owl = dd.lo + wl;
    dh = addDD(w2h, w2l, 2 * ow, 2 * owl);
    dl = dd.lo;
    const wp2 = twoSum(2, wh);
    const ah = mulDD(wp2, dd.lo + wl, dh, dl);
    const al = dd.lo;
    const bh = mulDD1(ow, owl, 4 * x);
    hh = addDD(ah, al, bh, dd.lo);
    hl = dd.lo;
  } else if (x >= -1e5) {
    // mish′ = w(1 + x)(1 + O(w)) with w < 2^-1000.
    const m = expSplit(x, 0);
    const ml = dd.lo;
    mishSide.k = dd.k;
    const oz = twoSum(1, x);
    return mulDD(m, ml, oz, dd.lo);
  } else {
    dd.lo = 0;
    return x === x ? 0 : NaN;
  }
  const nh = mulDD(wh, wl, hh, hl);
  const nl = dd.lo;
  const d2 = mulDD(dh, dl, dh, dl);
  return divDD(nh, nl, d2, dd.lo);
}
