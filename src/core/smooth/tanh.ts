/**
 * tanh x and its derivative sech²x = 1 − tanh²x as double-doubles.
 *
 * tanh|x| = −u/(2 + u) with u = e^(−2|x|) − 1 from the accurate expm1: no
 * cancellation for any x (u ∈ (−1, 0], 2 + u ∈ (1, 2]), and e^(−2|x|) never
 * overflows. The sign is restored at the end (tanh is odd). |x| < 2^-27:
 * tanh x rounds to x, with x³/3 as the low part; |x| > 22: ±1 with −2e^(−2|x|)
 * as the low part.
 *
 * sech²x = 4E/(1 + E)², E = e^(−2|x|): never the cancelling 1 − tanh²x. For
 * |x| < 0.35, E = 1 + u from the expm1 (E is near 1, u keeps the relative
 * accuracy); beyond, E from the exp directly (near 0 it keeps its own).
 */
import { dd, divDD, fastTwoSum, mulDD, twoSum } from '../numeric/dd.js';
import { expX } from '../numeric/exp.js';
import { expm1X } from './expm1.js';

const TINY = 2 ** -27;

/** tanh x as hi + dd.lo; NaN for NaN, ±1 for ±Infinity, ±0 for ±0. */
export function tanhX(x: number): number {
  const a = Math.abs(x);
  if (!(a >= TINY)) {
    dd.lo = x === x ? (-x * x * x) / 3 : 0;
    return x;
  }
  if (a > 22) {
    const low = 2 * Math.exp(-2 * a);
    dd.lo = x > 0 ? -low : low;
    return x > 0 ? 1 : -1;
  }
  const u = expm1X(-2 * a, 0);
  const ul = dd.lo;
  const d = twoSum(2, u);
  const t = divDD(-u, -ul, d, dd.lo + ul);
  if (x < 0) {
    dd.lo = -dd.lo;
    return -t;
  }
  return t;
}

/**
 * sech²x as hi + dd.lo, for |x| ≤ 345 (beyond, E = e^(−2|x|) leaves the
 * normal range and callers scale it themselves). NaN for NaN.
 */
export function sech2X(x: number): number {
  const a = Math.abs(x);
  if (a < TINY) {
    dd.lo = -x * x;
    return 1;
  }
  let eh: number;
  let el: number;
  if (a < 0.35) {
    const u = expm1X(-2 * a, 0);
    const ul = dd.lo;
    eh = twoSum(1, u);
    el = dd.lo + ul;
    eh = fastTwoSum(eh, el);
    el = dd.lo;
  } else {
    eh = expX(-2 * a, 0);
    el = dd.lo;
  }
  const s = twoSum(1, eh);
  const sl = dd.lo + el;
  const den = mulDD(s, sl, s, sl);
  return divDD(4 * eh, 4 * el, den, dd.lo);
}
