/**
 * log(1 + u) for u ≥ 0 given as a double-double, to about 2^-85 relative:
 * the log-sum-exp of the softmax family is log1p(Σ_{j≠max} e^(x_j − max)).
 *
 * - u < 2^-10: log1p(u) = 2·atanh(s), s = u/(2 + u) ≤ 2^-11, by its odd series
 *   2s(1 + s²/3 + s⁴/5 + …): s², 1/3 and the bracket in double-double, the
 *   terms from s⁴/5 on (below 2^-44) in double.
 * - otherwise one Newton step on e^y = w, w = 1 + u: from y0 = log(w),
 *   y = y0 + log1p(w·e^(−y0) − 1) ≈ y0 + t − t²/2 with t ≈ 2^-52, computed
 *   with the double-double exp (error 2^-95 absolute in t, y ≥ 2^-10).
 */
import { dd, addDD, divDD, fastTwoSum, mulDD, twoProd, twoSum } from '../numeric/dd.js';
import { THIRD_H, THIRD_L } from '../smooth/constants.js';
import { expDD } from '../numeric/exp.js';

/**
 * log(1 + uh + ul) as hi + dd.lo, for 0 ≤ u < 1e300 with uh normal or 0: below
 * about 2^-1020 divDD's low part underflows (callers take u itself below
 * 2^-900), and from 1.3e300 Dekker's split in mulDD overflows.
 */
export function log1pDD(uh: number, ul: number): number {
  if (uh < 2 ** -10) {
    if (uh === 0) {
      dd.lo = 0;
      return 0;
    }
    const dh = twoSum(2, uh);
    const dl = dd.lo + ul;
    const sh = divDD(uh, ul, dh, dl);
    const sl = dd.lo;
    // c = s²·(1/3 + q) in double-double: c reaches 2^-22, so c in double would cost 2^-75.
    const s2 = twoProd(sh, sh);
    const s2l = dd.lo + 2 * sh * sl;
    const q = s2 * (1 / 5 + s2 * (1 / 7 + s2 * (1 / 9 + s2 * (1 / 11))));
    const bh = twoSum(THIRD_H, q);
    const ch = mulDD(s2, s2l, bh, dd.lo + THIRD_L);
    const cl = dd.lo;
    const oh = fastTwoSum(1, ch);
    const r = mulDD(sh, sl, oh, dd.lo + cl);
    return fastTwoSum(2 * r, 2 * dd.lo);
  }
  const wh = twoSum(1, uh);
  const wl = dd.lo + ul;
  const y0 = Math.log(wh + wl);
  const eh = expDD(-y0, 0);
  const el = dd.lo;
  const ph = mulDD(wh, wl, eh, el);
  const th = addDD(ph, dd.lo, -1, 0);
  const tl = dd.lo;
  const s = twoSum(y0, th);
  return fastTwoSum(s, dd.lo + (tl - 0.5 * th * th));
}
