/**
 * The logistic sigmoid σ(z) and softplus(z) = log(1 + e^z) as double-doubles,
 * for a double-double argument z = zh + zl (so βx need not be rounded first).
 *
 * Both go through E = e^(−|z|) ≤ 1, which never overflows:
 * σ(z) = 1/(1 + E) for z ≥ 0 and E/(1 + E) for z < 0 (never 1 − σ(−z), which
 * cancels), softplus(z) = max(z, 0) + log1p(E), the sum of two non-negative
 * terms. With the 2^-66 exp and the 2^-62 log1p the results are good to about
 * 2^-60 relative, so one final rounding gives the correctly rounded double
 * except in rare near-ties. That holds for results from 2^-969 up (z above
 * about −671): below, exp's low part is itself subnormal, so a result is good
 * only to 2^-1074 absolute (2^-54 relative at 2^-1021, measured at
 * z = −707.6), and below 2^-1021 it is that of a plain subnormal exp
 * (kernels that need exact tails scale themselves).
 */
import { dd, divDD, fastTwoSum, twoSum } from '../numeric/dd.js';
import { expX } from '../numeric/exp.js';
import { log1pX } from './log1p.js';

/** σ(zh + zl) as hi + dd.lo. ±Infinity give 1 and 0; NaN gives NaN. */
export function sigmoidX(zh: number, zl: number): number {
  if (zh >= 0) {
    const e = expX(-zh, -zl);
    const el = dd.lo;
    const d = twoSum(1, e);
    return divDD(1, 0, d, dd.lo + el);
  }
  const e = expX(zh, zl);
  const el = dd.lo;
  const d = twoSum(1, e);
  return divDD(e, el, d, dd.lo + el);
}

/**
 * log(1 + e^(zh + zl)) as hi + dd.lo, for finite z (callers send z > 40 and
 * z < −700 to their own fast paths). NaN gives NaN.
 */
export function softplusX(zh: number, zl: number): number {
  if (zh >= 0) {
    const e = expX(-zh, -zl);
    const l = log1pX(e, dd.lo);
    const ll = dd.lo;
    const s = twoSum(zh, l);
    return fastTwoSum(s, dd.lo + zl + ll);
  }
  const e = expX(zh, zl);
  return log1pX(e, dd.lo);
}
