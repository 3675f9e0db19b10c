/**
 * Helpers for the piecewise-linear activations that meet an exact constant
 * (rrelu's 11/48, hardsigmoid's 1/6), carried as a double-double so the
 * fraction is the real number, not the float64 nearest it.
 */
import { ddFraction } from './numeric/dd.js';

/** Below this magnitude Veltkamp's split (a multiplication by 2^27 + 1) cannot overflow. */
export const SPLIT_SAFE = 2 ** 995;

/**
 * A parameter as a double-double: the float64 nearest num/den (a catalog
 * default written as a fraction) stands for the exact fraction, every other
 * value for itself. So the default and a client who writes the default out
 * (0.3333333333333333) get the same, exact, result.
 */
export function asFraction(value: number, num: number, den: number): readonly [number, number] {
  return value === num / den ? ddFraction(num, den) : [value, 0];
}
