import { dd, fastTwoSum, twoProd, twoSum } from '../numeric/dd.js';

/**
 * t = (zh + zl) − (r0 + r1 + r2) as hi + dd.lo, for zh within a factor of 2
 * of r0 (then zh − r0 is exact). With a triple-double root r, t keeps its
 * relative accuracy even for the doubles nearest the root, where t ≈ 2^-53.
 */
export function shiftFromRoot(zh: number, zl: number, r0: number, r1: number, r2: number): number {
  const d = zh - r0;
  const s = twoSum(zl, -r1);
  const se = dd.lo;
  const t = twoSum(d, s);
  return fastTwoSum(t, dd.lo + se - r2);
}

/**
 * The low part of β·x = zh + lo (Dekker's exact product), for the arguments
 * the kernels use: 0 where |zh| > 1e5 (the kernels' tails ignore it) or where
 * the split would overflow (|β| or |x| ≥ 1e290), NaN for NaN.
 */
export function productLo(beta: number, x: number, zh: number): number {
  if (!(Math.abs(zh) <= 1e5 && Math.abs(x) < 1e290 && Math.abs(beta) < 1e290)) return zh === zh ? 0 : NaN;
  twoProd(beta, x);
  return dd.lo;
}
