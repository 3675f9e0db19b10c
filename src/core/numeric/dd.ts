/**
 * Error-free transformations and double-double (hi + lo, about 106 bits)
 * building blocks.
 *
 * Why hand-written: JavaScript has no fma and no wider float, and the npm
 * `double-double` package returns arrays (an allocation per operation) and has
 * no exp or log, while the kernels need a handful of these operations per
 * element without allocating. Each function returns the high part and leaves
 * the low part in `dd.lo`; read it right after the call, before the next one.
 *
 * References: Dekker (1971), Knuth TAOCP vol. 2 §4.2.2 (TwoSum), Joldes,
 * Muller & Popescu (2017) "Tight and rigorous error bounds for basic building
 * blocks of double-word arithmetic".
 */

/** Low part of the last operation's result; `k`: the binary exponent left by the split exps (exp.ts). */
export const dd = { lo: 0, k: 0 };

/** 2^27 + 1: Veltkamp's constant that splits a double into two 26-bit halves. */
const SPLITTER = 134217729;

/** a + b = hi + lo exactly (Knuth's TwoSum: any order of magnitude). */
export function twoSum(a: number, b: number): number {
  const s = a + b;
  const bb = s - a;
  dd.lo = (a - (s - bb)) + (b - bb);
  return s;
}

/** a + b = hi + lo exactly, provided |a| >= |b| or a = 0 (Dekker's FastTwoSum). */
export function fastTwoSum(a: number, b: number): number {
  const s = a + b;
  dd.lo = b - (s - a);
  return s;
}

/** a · b = hi + lo exactly (Dekker's product; needs |a|, |b| < 2^996 and no underflow). */
export function twoProd(a: number, b: number): number {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  dd.lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return p;
}

/** (ah + al) · (bh + bl), relative error about 2^-104. */
export function mulDD(ah: number, al: number, bh: number, bl: number): number {
  const p = twoProd(ah, bh);
  const e = dd.lo + (ah * bl + al * bh);
  return fastTwoSum(p, e);
}

/** (ah + al) · b, relative error about 2^-104. */
export function mulDD1(ah: number, al: number, b: number): number {
  const p = twoProd(ah, b);
  const e = dd.lo + al * b;
  return fastTwoSum(p, e);
}

/** (ah + al) + (bh + bl), accurate even under cancellation (relative error about 2^-104). */
export function addDD(ah: number, al: number, bh: number, bl: number): number {
  const s = twoSum(ah, bh);
  const e = dd.lo;
  const t = twoSum(al, bl);
  const f = dd.lo;
  const u = fastTwoSum(s, e + t);
  return fastTwoSum(u, dd.lo + f);
}

/**
 * (nh + nl) / (dh + dl): the quotient's high part is the double nearest the
 * exact quotient except in rare near-ties (error about 0.5 ULP + 2^-100 relative).
 * The residual comes from twoProd(q, dh), a product of about nh's size: for
 * |nh| below 2^-968 its low part underflows and the quotient's low part loses
 * bits, which counts where the divisor is small and the quotient is not:
 * callers scale such numerators first (celu's quotientX).
 */
export function divDD(nh: number, nl: number, dh: number, dl: number): number {
  const q = nh / dh;
  const p = twoProd(q, dh);
  const r = ((nh - p) - dd.lo + nl - q * dl) / dh;
  return fastTwoSum(q, r);
}

/**
 * 1 / (dh + dl), as `divDD(1, 0, dh, dl)` with one division instead of two:
 * the correction term is multiplied by q ≈ 1/dh (its own error is 2^-53 of a
 * term already 2^-53 of q). Divisions are the slowest step of the sigmoid.
 */
export function invDD(dh: number, dl: number): number {
  const q = 1 / dh;
  const p = twoProd(q, dh);
  const r = ((1 - p) - dd.lo - q * dl) * q;
  return fastTwoSum(q, r);
}

/** √(ah + al) for ah > 0, one Newton step from the double square root. */
export function sqrtDD(ah: number, al: number): number {
  const q = Math.sqrt(ah);
  const p = twoProd(q, q);
  const r = ((ah - p) - dd.lo + al) / (2 * q);
  return fastTwoSum(q, r);
}

/**
 * A decimal constant num / den (integers below 2^53, e.g. 0.044715 = 44715 / 10^6)
 * as a double-double, so formulas can use the exact real number the spec writes.
 */
export function ddFraction(num: number, den: number): readonly [number, number] {
  const hi = num / den;
  const p = twoProd(hi, den);
  const lo = ((num - p) - dd.lo) / den;
  return [hi, lo];
}
