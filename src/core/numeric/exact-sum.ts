/**
 * Sums of doubles and of products of two doubles, kept exactly and rounded
 * once to the nearest double (ties to even), for finite inputs.
 *
 * The slow path of the compensated sums of maxout and prelu (`settle`, at
 * the end of this file): they run in double-double with a running error
 * bound and come here only when that bound cannot settle the rounding (a
 * result within about 2^-100 of a rounding boundary, heavy cancellation,
 * products next to the subnormals or beyond Dekker's split); and of rrelu's
 * products with the
 * fraction 1/3, which no double-double holds exactly. Why hand-written: no npm package sums products of
 * doubles exactly; BigInt holds them as integers, since every such product is
 * an integer multiple of 2^-2148.
 */

import { dd, twoSum } from './dd.js';

const bits = new Float64Array(1);
const word = new BigUint64Array(bits.buffer);
const MANTISSA = (1n << 52n) - 1n;
const HIDDEN = 1n << 52n;

/** The sum's unit: 2^-2148, the smallest product of two doubles. */
const SCALE = 2148;

/** Finite v as m·2^(e - 2148) with m a BigInt (signed) and e ≥ 0 left in `exponent.value`. */
const exponent = { value: 0 };
function integerOf(v: number): bigint {
  bits[0] = v;
  const w = word[0];
  const biased = Number((w >> 52n) & 0x7ffn);
  const m = biased === 0 ? w & MANTISSA : (w & MANTISSA) | HIDDEN;
  exponent.value = (biased === 0 ? 1 : biased) - 1075 + 1074; // the exponent of m's unit, counted from 2^-1074
  return w >> 63n ? -m : m;
}

/**
 * A term that is ±Infinity or NaN has no exact value: from the first one on
 * the sum is the IEEE one of all its terms, in their order (`finite` false),
 * which `round` returns.
 */
export class ExactSum {
  /** The sum is acc·2^-2148. */
  private acc = 0n;
  /** The terms summed in IEEE arithmetic, for a sum with a term that is not finite. */
  private ieee = 0;
  finite = true;

  add(v: number): this {
    this.ieee += v;
    if (this.finite && v - v === 0) {
      const m = integerOf(v);
      this.acc += m << BigInt(exponent.value + SCALE - 1074);
    } else this.finite = false;
    return this;
  }

  addProduct(a: number, b: number): this {
    this.ieee += a * b;
    if (this.finite && a - a === 0 && b - b === 0) {
      const ma = integerOf(a);
      const ea = exponent.value;
      const mb = integerOf(b);
      this.acc += (ma * mb) << BigInt(ea + exponent.value);
    } else this.finite = false;
    return this;
  }

  /** The sign of this − other: −1, 0 or 1 (both finite). */
  compare(other: ExactSum): number {
    return this.acc > other.acc ? 1 : this.acc < other.acc ? -1 : 0;
  }

  /**
   * The double nearest the sum, divided by a small positive integer if
   * given (ties to even), ±Infinity beyond the largest; +0 for an exact 0;
   * the IEEE sum (divided) when a term was not finite.
   */
  round(divisor = 1): number {
    if (!this.finite) return this.ieee / divisor;
    const negative = this.acc < 0n;
    let m = negative ? -this.acc : this.acc;
    if (m === 0n) return 0;
    let scale = SCALE;
    if (divisor !== 1) {
      // 64 more bits of the quotient, and a sticky bit below them for a remainder: a quotient that is not exact is never a tie.
      const d = BigInt(divisor);
      const widened = m << 64n;
      m = widened / d;
      if (m * d !== widened) m |= 1n;
      scale += 64;
    }
    const length = bitLength(m);
    // Keep 53 bits, or fewer where the result is subnormal (its unit is 2^-1074).
    const shift = Math.max(length - 53, scale - 1074);
    let q = m >> BigInt(shift);
    const rest = m - (q << BigInt(shift));
    const half = 1n << BigInt(shift - 1);
    if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
    // q ≤ 2^53 and 2^(shift − scale) ≥ 2^-1074: one exact product, or ±Infinity when it overflows.
    const magnitude = Number(q) * 2 ** (shift - scale);
    return negative ? -magnitude : magnitude;
  }
}

function bitLength(m: bigint): number {
  const hex = m.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)));
}

const expansion = new Float64Array(32);

/**
 * The sign (−1, 0 or 1) of the exact sum of up to 32 doubles whose sums do
 * not overflow: Shewchuk's Grow-Expansion (TwoSum, zeros dropped) leaves a
 * nonoverlapping expansion, whose sign is that of its largest component. For
 * a few terms, where BigInt would cost microseconds.
 */
export function signOfSum(terms: ArrayLike<number>, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    let q = terms[i];
    let k = 0;
    for (let j = 0; j < m; j++) {
      const s = q + expansion[j];
      const bb = s - q;
      const e = q - (s - bb) + (expansion[j] - bb);
      if (e !== 0) expansion[k++] = e;
      q = s;
    }
    if (q !== 0) expansion[k++] = q;
    m = k;
  }
  return m === 0 ? 0 : Math.sign(expansion[m - 1]);
}

const ULP_FACTOR = 2 ** -52;
export const MIN_SUBNORMAL = 2 ** -1074;
/** From here up Dekker's product keeps every bit of its low part; below, the low part may lose up to 2^-1070. */
export const DEKKER_SAFE = 2 ** -969;
/** That loss in `run`'s units (the bound is run·2^-52). */
const LOST_RUN = 2 ** -1018;

/**
 * Compensated sums (Ogita, Rump & Oishi's Dot2) with a running error bound
 * (Higham): a sum hi + lo settles its rounding when the bound says no value
 * it may stand for rounds otherwise; where it does not, callers redo the sum
 * with ExactSum. Used by maxout's and prelu's sums.
 *
 * The bound on |exact − (hi + lo)|: `run` sums the magnitudes of the rounded
 * low-part additions' operands and results (2^-53 of each, doubled for the
 * rounding of `run` itself) and `lowPartRun` of each product.
 */
export function boundOf(run: number): number {
  return run * ULP_FACTOR + (run !== 0 ? MIN_SUBNORMAL : 0);
}

/**
 * What a product p adds to `run` for its own low part: the possible loss
 * below 2^-969, counted without a branch (zero products too; a branch on the
 * factors there cost maxout's forward 30%).
 */
export function lowPartRun(p: number): number {
  return LOST_RUN * +(Math.abs(p) < DEKKER_SAFE);
}

const gapBits = new Float64Array(1);
/** The double's two 32-bit halves, the high one (sign, exponent) second: little-endian, as on every platform Node runs on. */
const gapWords = new Uint32Array(gapBits.buffer);

/**
 * Twice the distance from r to the nearest rounding boundary, at least (so
 * that it is a double among the subnormals too): ulp(r), half of it at a
 * power of two (the step below is half), 2^-1074 for subnormals and 0.
 */
function twiceHalfGap(r: number): number {
  gapBits[0] = r;
  const high = gapWords[1];
  const exponent = (high >>> 20) & 0x7ff;
  if (exponent <= 1) return MIN_SUBNORMAL;
  const ulp = 2 ** (exponent - 1075);
  return (high & 0xfffff) === 0 && gapWords[0] === 0 ? ulp / 2 : ulp;
}

/** hi + lo rounded once, if no value within e of it rounds otherwise; else NaN (also for a non-finite sum). */
export function settle(h: number, l: number, e: number): number {
  const r = twoSum(h, l);
  return 2 * (Math.abs(dd.lo) + e) < twiceHalfGap(r) ? r : NaN;
}

