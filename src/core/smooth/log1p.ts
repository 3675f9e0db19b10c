/**
 * log(1 + e) as a double-double for 0 ≤ e ≤ 1 (given as a double-double),
 * relative error below 2^-62: the log1p(e^-|z|) of softplus and logsigmoid.
 *
 * Method (table-driven, as Tang's log): for e < 1/64 the series in u = e;
 * otherwise 1 + e = F·(1 + u) with F = 1 + j/64 the nearest table point, so
 * log(1 + e) = log F + log1p(u), |u| ≤ 1/128, u = (1 + e − F)/F in
 * double-double (1 + e − F is exact). log1p(u) = u − u²/2 + u³(1/3 − u/4 + …
 * + u^8/11): the head in double-double, the tail in double (it is below 2^-12
 * of the result, so its rounding costs under 2^-64; truncation below 2^-66).
 * The 64 table values log(1 + j/64) are derived at load by one Newton step
 * y + (1 + j/64)·e^(-y) − 1 from Math.log, with the 2^-95 exp of
 * `numeric/exp.ts`, so there are no magic numbers to trust. Math.log1p and
 * @stdlib's log1p return plain doubles (up to 1 ULP), too coarse once the
 * result is added to βx, divided by β and rounded again.
 */
import { dd, divDD, fastTwoSum, mulDD1, twoProd, twoSum } from '../numeric/dd.js';
import { expDD } from '../numeric/exp.js';

/** log(1 + j/64) for j = 0..64: LOG_H[j] + LOG_L[j]. */
const LOG_H = new Float64Array(65);
const LOG_L = new Float64Array(65);
for (let j = 1; j <= 64; j++) {
  const f = 1 + j / 64;
  const y = Math.log(f);
  // Newton for e^y = f: y + f·e^(-y) − 1, the product formed in double-double.
  const eh = expDD(-y, 0);
  const p = mulDD1(eh, dd.lo, f);
  const c = (p - 1) + dd.lo; // p is within 2^-51 of 1, so p − 1 is exact
  LOG_H[j] = fastTwoSum(y, c);
  LOG_L[j] = dd.lo;
}

/** log(1 + eh + el) as hi + dd.lo, for 0 ≤ eh ≤ 1; NaN for NaN. */
export function log1pX(eh: number, el: number): number {
  let uh: number;
  let ul: number;
  let bh = 0;
  let bl = 0;
  if (eh < 1 / 64) {
    uh = eh;
    ul = el;
  } else if (eh <= 1.01) {
    const ah = twoSum(1, eh);
    const al = dd.lo + el;
    const j = Math.round((ah - 1) * 64);
    const f = 1 + j / 64;
    uh = divDD(ah - f, al, f, 0); // ah − f is exact (Sterbenz)
    ul = dd.lo;
    bh = LOG_H[j];
    bl = LOG_L[j];
  } else {
    dd.lo = 0;
    return NaN; // outside the domain this helper serves (also NaN)
  }
  const s = twoProd(uh, uh);
  const se = dd.lo + 2 * uh * ul;
  const tail =
    uh * s *
    (1 / 3 - uh * (1 / 4 - uh * (1 / 5 - uh * (1 / 6 - uh * (1 / 7 - uh * (1 / 8 - uh * (1 / 9 - uh * (1 / 10 - uh / 11))))))));
  const h = twoSum(uh, -0.5 * s);
  const lo = dd.lo + (ul - 0.5 * se + tail);
  const r = twoSum(bh, h);
  return fastTwoSum(r, dd.lo + bl + lo);
}
