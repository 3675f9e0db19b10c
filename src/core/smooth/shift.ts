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
 * the kernels use: 0 where |zh| > 1e5 (the kernels' tails ignore it), NaN for
 * NaN. Where a factor is beyond Dekker's split (|β| or |x| ≥ 1e290) while the
 * product is moderate, that factor is scaled down by 2^600 first (exact); the
 * low part is then kept for |zh| above about 2^-369, and unscaled for |zh|
 * above 2^-969 (below, Dekker's low part is subnormal and loses bits): no
 * kernel needs it for z that small (it only enters as ½ + z/4 and the like).
 */
export function productLo(beta: number, x: number, zh: number): number {
  if (!(Math.abs(zh) <= 1e5)) return zh === zh ? 0 : NaN;
  if (Math.abs(x) < 1e290 && Math.abs(beta) < 1e290) {
    twoProd(beta, x);
    return dd.lo;
  }
  if (beta === 0 || x === 0) return 0; // β = 0 with an infinite x: the kernels take z = 0
  if (Math.abs(beta) >= Math.abs(x)) twoProd(beta * 2 ** -600, x);
  else twoProd(beta, x * 2 ** -600);
  return dd.lo * 2 ** 600;
}
