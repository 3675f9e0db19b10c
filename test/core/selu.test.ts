/**
 * selu: the 32-digit constants as exact reals, special values (mpmath at 120
 * digits, rounded once) and exactness of λ·x checked in exact rational arithmetic.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selu } from '../../src/core/activations/selu.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import {
  SELU_SCALE_ALPHA_H,
  SELU_SCALE_ALPHA_L,
  SELU_SCALE_H,
  SELU_SCALE_L,
} from '../../src/core/smooth/constants.js';

const fwd = (x: number) => runForward(selu, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
const bwd = (x: number, dy = 1) =>
  runBackward(selu, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: {}, dtype: 'float64' }).dx[0];

const LAMBDA = 10507009873554804934193349852946n; // ·10^-31
const ALPHA = 16732632423543772848170429916717n; // ·10^-31

/** A finite double as an exact fraction m / 2^s (s ≥ 0) or m·2^-s. */
function exact(d: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const ex = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  return ex === 0 ? { m: sign * frac, e: -1074 } : { m: sign * (frac | (1n << 52n)), e: ex - 1075 };
}

/** The double nearest num/den (num, den > 0, result in the normal range), ties to even. */
function nearest(num: bigint, den: bigint): number {
  let e = num.toString(2).length - den.toString(2).length - 53;
  for (;;) {
    const n = e >= 0 ? num : num << BigInt(-e);
    const d = e >= 0 ? den << BigInt(e) : den;
    const q = n / d;
    if (q >= 1n << 53n) e++;
    else if (q < 1n << 52n) e--;
    else {
      const r2 = (n - q * d) * 2n;
      const up = r2 > d || (r2 === d && q % 2n === 1n);
      return Number(up ? q + 1n : q) * 2 ** e;
    }
  }
}

/** |(hi + lo) − num/den| < 2^-100 · num/den, exactly. */
function within2to100(hi: number, lo: number, num: bigint, den: bigint): boolean {
  const a = exact(hi);
  const b = exact(lo);
  const e = Math.min(a.e, b.e);
  const sum = a.m * (1n << BigInt(a.e - e)) + b.m * (1n << BigInt(b.e - e)); // (hi + lo) = sum·2^e, e < 0
  const diff = sum * den - num * (1n << BigInt(-e)); // ((hi + lo) − num/den)·den·2^-e
  const abs = diff < 0n ? -diff : diff;
  return abs * (1n << 100n) < num * (1n << BigInt(-e));
}

describe('selu constants', () => {
  it('λ and λ·α are the exact 32-digit reals to 2^-100', () => {
    expect(within2to100(SELU_SCALE_H, SELU_SCALE_L, LAMBDA, 10n ** 31n)).toBe(true);
    expect(within2to100(SELU_SCALE_ALPHA_H, SELU_SCALE_ALPHA_L, LAMBDA * ALPHA, 10n ** 62n)).toBe(true);
  });
});

describe('selu special values', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, Infinity, 1.0507009873554805],
    [-Infinity, -1.7580993408473768, 0],
    [0, 0, 1.7580993408473768], // selu′(0) = λα, the x ≤ 0 branch
    [-0, -0, 1.7580993408473768],
    [1, 1.0507009873554805, 1.0507009873554805],
    [3, 3.1521029620664414, 1.0507009873554805],
    [-1, -1.1113307378125628, undefined],
    [-1e-300, -1.758099340847377e-300, undefined],
    [-745, -1.7580993408473768, 5e-324],
  ] as const)('selu(%s) = %s, selu′ = %s', (x, y, d) => {
    expect(fwd(x)).toBe(y);
    if (d !== undefined) expect(bwd(x)).toBe(d);
  });
});

describe('selu properties', () => {
  it('λ·x is the double nearest the exact product (one rounding), checked in rational arithmetic', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), (x) => {
        const { m, e } = exact(x);
        const num = m * LAMBDA * (e >= 0 ? 1n << BigInt(e) : 1n);
        const den = 10n ** 31n * (e < 0 ? 1n << BigInt(-e) : 1n);
        expect(fwd(x)).toBe(nearest(num, den));
      }),
      { numRuns: 300 },
    );
  });

  it('dy·λ for x > 0 is rounded once too', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), (dy) => {
        const { m, e } = exact(dy);
        const num = m * LAMBDA * (e >= 0 ? 1n << BigInt(e) : 1n);
        const den = 10n ** 31n * (e < 0 ? 1n << BigInt(-e) : 1n);
        expect(bwd(2, dy)).toBe(nearest(num, den));
      }),
      { numRuns: 300 },
    );
  });
});

describe('selu with explicit alpha and scale (ONNX Selu)', () => {
  const fwd = (x: number[], params: object) =>
    Array.from(runForward(selu, { x: Float64Array.from(x), rows: 1, cols: x.length, params: selu.params.parse(params), dtype: 'float64' }).out);

  it('uses the sent numbers, their product formed exactly', () => {
    // mpmath, 50 digits: 3·2·expm1(-1) and 3·0.5.
    expect(fwd([-1, 0.5], { alpha: 2, scale: 3 })).toEqual([-3.792723352971346, 1.5]);
  });

  it('keeps the exact constant for the one omitted', () => {
    // mpmath: 2·α·expm1(-0.5) with the 32-digit α; λ·0.5·expm1(-0.5) with the 32-digit λ.
    expect(fwd([-0.5], { scale: 2 })).toEqual([-1.3167555681925536]);
    expect(fwd([-0.5], { alpha: 0.5 })).toEqual([-0.2067093121670228]);
  });

  it('rejects non-positive alpha and scale', () => {
    expect(selu.params.safeParse({ alpha: -1 }).success).toBe(false);
    expect(selu.params.safeParse({ scale: 0 }).success).toBe(false);
  });
});
