/**
 * What the 50-digit reference tests share (test/core/reference*.test.ts): the
 * decimal.js context, exact inputs, draws of every magnitude, and the check
 * that holds a kernel's results to the reference rounded once.
 */
import { expect } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import type { Dtype } from '../../src/core/batch.js';
import { ULP_BOUND, ulpError } from './golden.js';

export const D = Decimal.clone({ precision: 50, rounding: Decimal.ROUND_HALF_EVEN, minE: -9e15, maxE: 9e15 });
export type Dec = Decimal;


/** A double to the context's 50 digits (toPrecision prints the binary value's own digits): a sum of x and −x is then exactly 0. */
export const exact = (x: number): Dec => new D(x.toPrecision(60)).toSignificantDigits(50);
export const ONE = new D(1);

const bits = new Float64Array(1);
const word = new BigUint64Array(bits.buffer);
const powersOf2 = new Map<typeof Decimal, Map<number, Decimal>>();

/**
 * The exact value of a finite double, its integer significand times a power
 * of two, in a decimal.js context `ctor` of at least 767 digits (what a
 * subnormal's expansion takes). `exact`'s 50 digits are not enough where the
 * reference cancels: dy = [2^-1074, -3·2^-1074, -2^-1074] made softmax's
 * 2dy_2 − dy_0 − dy_1 come out 4e-374, not 0.
 */
export function exactIn(ctor: typeof Decimal, v: number): Decimal {
  bits[0] = v;
  const w = word[0];
  const biased = Number((w >> 52n) & 0x7ffn);
  const fraction = w & ((1n << 52n) - 1n);
  const significand = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = (biased === 0 ? 1 : biased) - 1075;
  let powers = powersOf2.get(ctor);
  if (!powers) powersOf2.set(ctor, (powers = new Map()));
  let p = powers.get(e);
  if (!p) powers.set(e, (p = new ctor(2).pow(e)));
  const value = new ctor(significand.toString()).times(p);
  return w >> 63n ? value.neg() : value;
}
export const TWO = new D(2);

/** |h + l − want|/|want| for a double-double result h + l, formed exactly in the decimal.js context `ctor`. */
export const relativeError = (ctor: typeof Decimal, h: number, l: number, want: Decimal): number =>
  exactIn(ctor, h).plus(exactIn(ctor, l)).minus(want).div(want).abs().toNumber();

/** e^x − 1 without cancellation near 0. */
export function expm1(x: Dec): Dec {
  if (x.abs().gte(1e-6)) return x.exp().minus(1);
  // x + x²/2 + … + x⁸/8!: the next term is below 1e-54 relative.
  let term = x;
  let sum = x;
  for (let n = 2; n <= 8; n++) {
    term = term.times(x).div(n);
    sum = sum.plus(term);
  }
  return sum;
}

/** ln(1 + t) for t ≥ 0, without losing a tiny t. */
export function log1p(t: Dec): Dec {
  if (t.gte(1e-12)) return ONE.plus(t).ln();
  // t − t²/2 + t³/3 − t⁴/4: the next term is below 1e-48 relative.
  return t.minus(t.pow(2).div(2)).plus(t.pow(3).div(3)).minus(t.pow(4).div(4));
}

/**
 * Doubles of magnitude 2^lowest to 2^highest, log-uniform, either sign (or
 * positive only). The exponent comes from a uniform integer: fc.double's
 * draws are uniform over the doubles themselves, so most would lie within
 * 2^-52 of 0 and give 2^e = 1.
 */
/**
 * Uniform over [min, max] (from an integer): fc.double({ min, max }) is uniform over the doubles, so nine draws in
 * ten of it are below 1e-6 in magnitude and the interior of a range is hardly reached.
 */
export function uniformIn(min: number, max: number): fc.Arbitrary<number> {
  return fc.integer({ min: 0, max: 2 ** 32 }).map((i) => min + ((max - min) * i) / 2 ** 32);
}

export function logUniform(lowest: number, highest: number, signed = true): fc.Arbitrary<number> {
  return fc
    .tuple(fc.integer({ min: 0, max: 2 ** 32 }), fc.boolean())
    .map(([i, negative]) => (signed && negative ? -1 : 1) * 2 ** (lowest + ((highest - lowest) * i) / 2 ** 32));
}

/** Doubles of every magnitude from 2^-1074 to `max`, either sign (most from 2^-60 up), and plain draws in [−max, max]. */
export function magnitudes(max: number): fc.Arbitrary<number> {
  // The tiny ones reach results near and below the smallest normal double, where double-double low parts underflow.
  return fc.oneof(
    { arbitrary: logUniform(-60, Math.log2(max)), weight: 3 },
    { arbitrary: logUniform(-1074, Math.log2(max)), weight: 1 },
    fc.double({ min: -max, max, noNaN: true }),
  );
}

/** The reference rounded to the dtype via float64 (see the header for float32). */
export function rounded(value: Dec, dtype: Dtype): number {
  const double = Number(value.toPrecision(40));
  return dtype === 'float32' ? Math.fround(double) : double;
}

export function inputsOf(xs: number[], dtype: Dtype): Float64Array {
  return Float64Array.from(xs, (v) => (dtype === 'float32' ? Math.fround(v) : v));
}

/**
 * Down to the smallest normal double every kernel is held to its one
 * rounding: the result must be the reference's, bit for bit, except where the
 * reference lies within NEAR_TIE (relative) of halfway between two doubles.
 * There a result one ULP off passes: the smooth kernels work in double-double
 * with the error bounds their comments give (exp 2^-66, log1p 2^-62, expm1
 * 2^-61, σ and softplus about 2^-60), so one final rounding is right except
 * within that error of a midpoint (tanh(0.019818082990369183): 2^-65 from one,
 * seen in a run of 4000 draws). A test may pass a wider bound for a kernel
 * that documents one. Below the smallest normal double the reference cannot
 * settle exact ties at 50 digits (dy·¼ lands exactly halfway on the subnormal
 * grid often), so the fixtures' ULP bound applies.
 */
export const SUBNORMAL_BELOW = 2 ** -1022;
export const NEAR_TIE = new D(2).pow(-60);

/** `ulps` for normal results where a kernel does not round once; `nearTie` the relative distance from a tie within which a one-ULP miss passes. */
export function expectWithin(
  computed: ArrayLike<number>,
  references: Dec[],
  xs: ArrayLike<number>,
  dtype: Dtype,
  what: string,
  ulps = 0,
  nearTie: Dec = NEAR_TIE,
): void {
  references.forEach((reference, i) => {
    const expected = rounded(reference, dtype);
    const error = ulpError(computed[i], expected, dtype);
    if (error <= (Math.abs(expected) >= SUBNORMAL_BELOW ? ulps : ULP_BOUND[dtype])) return;
    // One step off: 1 ULP, or half of one below a power of two, where the step down is half.
    if (error > 0 && error <= 1 && Number.isFinite(expected)) {
      const got = dtype === 'float32' ? Math.fround(computed[i]) : computed[i];
      const halfway = exact(got).plus(exact(expected)).div(2);
      if (reference.minus(halfway).abs().lte(reference.abs().times(nearTie))) return;
    }
    expect.fail(`${what} at x = ${xs[i]}: ${computed[i]} against ${expected}, ${error} ULP`);
  });
}

export const dtypes: Dtype[] = ['float64', 'float32'];

/** Upstream gradients: mostly [−4, 4] (every magnitude below 4 among them), now and then up to the dtype's largest. */
export const upstream = (dtype: Dtype): fc.Arbitrary<number> =>
  fc.oneof(
    { arbitrary: fc.double({ min: -4, max: 4, noNaN: true }), weight: 4 },
    { arbitrary: logUniform(-1074, dtype === 'float32' ? 127.9 : 1023.9), weight: 1 },
  );
export const RUNS = Number(process.env.REFERENCE_RUNS ?? 40);
