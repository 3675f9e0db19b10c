/**
 * Helpers for the piecewise-linear activations that meet an exact constant
 * (rrelu's 11/48, hardsigmoid's 1/6): products rounded once, with the constant
 * carried as a double-double so the fraction is the real number, not the
 * float64 nearest it.
 */
import { dd, ddFraction, twoProd } from './numeric/dd.js';

/** Below this magnitude Veltkamp's split (a multiplication by 2^27 + 1) cannot overflow. */
export const SPLIT_SAFE = 2 ** 995;

/**
 * x · (hi + lo) rounded once: the double nearest the exact product, except in
 * near-ties (within about 2^-50 of an ULP of one). Error-free product of x·hi
 * (Dekker), plus x·lo. x = ±Infinity, NaN, or beyond SPLIT_SAFE: x·hi, which
 * is then exact to the last bit anyway or non-finite.
 */
export function mulExact(x: number, hi: number, lo: number): number {
  if (!(Math.abs(x) < SPLIT_SAFE && Math.abs(hi) < SPLIT_SAFE)) return x * hi;
  const p = twoProd(x, hi);
  return p + (dd.lo + x * lo);
}

/**
 * A parameter as a double-double: the float64 nearest num/den (a catalog
 * default written as a fraction) stands for the exact fraction, every other
 * value for itself. So the default and a client who writes the default out
 * (0.3333333333333333) get the same, exact, result.
 */
export function asFraction(value: number, num: number, den: number): readonly [number, number] {
  return value === num / den ? ddFraction(num, den) : [value, 0];
}
