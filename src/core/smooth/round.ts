import { dd, mulDD1, mulRound } from '../numeric/dd.js';
import { scaleRound } from '../numeric/exp.js';

/** From here up the product's low part (about 2^-53 of it) is a normal number, so `mulRound` keeps every bit of it. */
export const SMALLEST_SAFE = 2 ** -969;
const UP = 2 ** 600;

/**
 * a·(bh + bl) rounded once, also when the product is tiny: below 2^-969 the
 * low parts of `mulRound`'s double-double product are subnormal and lose
 * bits (off by one ULP at 2^-1021, e.g. elu's backward at x = −1 with
 * dy = 1.2e−307), and in the subnormal range it rounds a·bh to the subnormal
 * grid and then adds the rest; there the product is formed scaled up by 2^600
 * and rounded once by `scaleRound`. The extra work is only done for results
 * below 2^-969 (and zeros and NaNs), so the common path costs one comparison
 * more than `mulRound`. A zero factor gives the IEEE zero (−0·x
 * is −0), which `mulRound`'s compensation term would turn into +0.
 */
export function mulRoundSub(a: number, bh: number, bl: number): number {
  const r = mulRound(a, bh, bl);
  if (Math.abs(r) >= SMALLEST_SAFE) return r;
  if (a === 0 || bh === 0 || r !== r) return a * bh; // zeros keep their IEEE sign; NaN stays NaN
  const p = mulDD1(bh * UP, bl * UP, a);
  return scaleRound(p, dd.lo, -600);
}
