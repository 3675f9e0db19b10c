import { dd, mulDD1, twoProd } from '../numeric/dd.js';
import { mulScaleRound, scaleRound } from '../numeric/exp.js';

/** From here up the product's low part (about 2^-53 of it) is a normal number, so Dekker's product keeps every bit of it. */
export const SMALLEST_SAFE = 2 ** -969;
const UP = 2 ** 600;

/**
 * a·(bh + bl) rounded once, for any a and b. Fast path: Dekker's product
 * with its low parts, exact to 2^-104 for results from 2^-969 up. Below
 * that the low parts are subnormal and lose bits (off by one ULP at 2^-1021,
 * e.g. elu's backward at x = −1 with dy = 1.2e−307): the product is formed
 * scaled by 2^600 and rounded once by `scaleRound`. Where Dekker's split
 * overflows (a factor from 2^997 up: a huge dy gave NaN) the factors'
 * exponents are taken out first (`mulScaleRound`). The common path costs one
 * comparison more than a plain double-double product; the rare paths are
 * kept this small because a larger body, inlined into every kernel loop,
 * cost elu's forward 10-15%. A zero factor gives the IEEE zero (−0·x is −0),
 * which the compensation term would turn into +0.
 */
export function mulRoundSub(a: number, bh: number, bl: number): number {
  const p = twoProd(a, bh);
  const r = p + (dd.lo + a * bl);
  if (Math.abs(r) >= SMALLEST_SAFE) return r;
  if (a === 0 || bh === 0) return a * bh; // zeros keep their IEEE sign
  if (r === r) {
    // tiny: formed scaled by 2^600 (unless even that underflows to 0)
    const q = mulDD1(bh * UP, bl * UP, a);
    if (q !== 0) return scaleRound(q, dd.lo, -600);
  }
  return mulScaleRound(a, bh, bl, 0); // the split or the product overflowed (a huge dy), or NaN
}
