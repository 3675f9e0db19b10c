import { dd, twoProd } from '../numeric/dd.js';
import { mulScaleRound } from '../numeric/exp.js';

/** From here up the product's low part (about 2^-53 of it) is a normal number, so Dekker's product keeps every bit of it. */
export const SMALLEST_SAFE = 2 ** -969;

/**
 * a·(bh + bl) rounded once, for any a and b. Fast path: Dekker's product
 * with its low parts, exact to 2^-104 for results from 2^-969 up. Everything
 * else goes through `mulScaleRound`: results below 2^-969, where the low
 * parts are subnormal and lose bits (off by one ULP at 2^-1021, e.g. elu's
 * backward at x = −1 with dy = 1.2e−307), and factors from 2^997 up, where
 * Dekker's split overflows to NaN (a huge dy). The common path costs one
 * comparison more than a plain double-double product. A zero factor gives the
 * IEEE zero (−0·x is −0), which the compensation term would turn into +0.
 */
export function mulRoundSub(a: number, bh: number, bl: number): number {
  const p = twoProd(a, bh);
  const r = p + (dd.lo + a * bl);
  if (Math.abs(r) >= SMALLEST_SAFE) return r; // NaN (the split overflowed, or the product did) fails here
  return mulScaleRound(a, bh, bl, 0);
}
