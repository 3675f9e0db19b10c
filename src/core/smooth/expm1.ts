/**
 * e^a − 1 as a double-double, with small relative error for every argument,
 * including the tiny ones where exp(a) − 1 would cancel.
 *
 * Method: for |a| < 1/16 the Taylor series, the head a + a²/2 in
 * double-double (a² split exactly), the tail a³(1/6 + a/24 + … + a^8/11!) in
 * double: the tail is below 2^-8 of the result, so its rounding costs under
 * 2^-61 relative, and the truncation is below 2^-72. Elsewhere exp(a) − 1
 * from the double-double exp of `numeric/exp.ts` (relative error 2^-66):
 * |e^a − 1| ≥ 0.06 there, so the subtraction loses at most 4 bits.
 * Relative error below 2^-61 overall. @stdlib's expm1 returns a plain double
 * (1 ULP), too coarse once the result is multiplied and rounded again.
 */
import { dd, fastTwoSum, twoProd, twoSum } from '../numeric/dd.js';
import { expX } from '../numeric/exp.js';

/**
 * e^(ah + al) − 1 as hi + dd.lo, for ah ≤ 700 (callers only pass arguments
 * below about 3). ah = -Infinity gives -1, NaN gives NaN; ±0 keeps its sign.
 */
export function expm1X(ah: number, al: number): number {
  if (Math.abs(ah) < 0.0625) {
    if (ah === 0 && al === 0) {
      dd.lo = 0;
      return ah;
    }
    const s = twoProd(ah, ah);
    const se = dd.lo;
    const tail =
      ah * s *
      (1 / 6 +
        ah *
          (1 / 24 +
            ah *
              (1 / 120 +
                ah * (1 / 720 + ah * (1 / 5040 + ah * (1 / 40320 + ah * (1 / 362880 + ah * (1 / 3628800 + ah / 39916800))))))));
    const h = twoSum(ah, 0.5 * s);
    return fastTwoSum(h, dd.lo + (0.5 * se + tail + al * (1 + ah)));
  }
  const e = expX(ah, al);
  const el = dd.lo;
  const h = twoSum(e, -1);
  return fastTwoSum(h, dd.lo + el);
}
