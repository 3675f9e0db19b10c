/**
 * elu: special values one by one (expected values: mpmath at 120 digits,
 * rounded once to float64, e.g. elu′(−700) = mp.exp(-700)) and properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { elu } from '../../src/core/activations/elu.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { ulpError } from '../helpers/golden.js';

const fwd = (x: number, alpha = 1) =>
  runForward(elu, { x: Float64Array.of(x), rows: 1, cols: 1, params: elu.params.parse({ alpha }), dtype: 'float64' }).out[0];
const bwd = (x: number, alpha = 1, dy = 1) =>
  runBackward(elu, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: elu.params.parse({ alpha }), dtype: 'float64' }).dx[0];

describe('elu special values (alpha 1)', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, Infinity, 1],
    [-Infinity, -1, 0],
    [0, 0, 1], // the x ≤ 0 branch at 0: α·e^0
    [-0, -0, 1],
    [-1e-20, -1e-20, 1], // expm1, not exp − 1 (which gives 0)
    [-1, -0.6321205588285577, 0.36787944117144233],
    [-40, -1, 4.248354255291589e-18],
    [-700, -1, 9.85967654375977e-305],
    [-745, -1, 5e-324], // the smallest subnormal, not 0
    [2, 2, 1],
  ] as const)('elu(%s) = %s, elu′ = %s', (x, y, d) => {
    expect(fwd(x)).toBe(y);
    expect(bwd(x)).toBe(d);
  });
});

describe('elu with alpha 0.5', () => {
  it.each([
    [-1e-20, -5e-21, 0.5],
    [-1, -0.31606027941427883, 0.18393972058572117],
    [-40, -0.5, undefined],
    [-700, -0.5, 4.929838271879885e-305],
    [-745, -0.5, 0], // 0.5·e^-745 is below half the smallest subnormal
    [0, 0, 0.5], // elu′(0) = α: the slope jumps from α to 1 there
  ] as const)('elu(%s) = %s, elu′ = %s', (x, y, d) => {
    expect(fwd(x, 0.5)).toBe(y);
    if (d !== undefined) expect(bwd(x, 0.5)).toBe(d);
  });
  it('takes the derivative right of 0 as 1', () => {
    expect(bwd(Number.MIN_VALUE, 0.5)).toBe(1);
  });
});

describe('elu with large alpha', () => {
  it('dy·α·e^x far out: x = −2073.8 with α = 1.1e282 and dy the largest double (mpmath)', () => {
    // exp's range reduction rounded from |x| = 1419 up: three units off in the subnormals.
    expect(bwd(-2073.7938686283, 1.0718012479040528e282, 1.7976931348623157e308)).toBe(4.442179138214e-311);
  });
});

describe('elu properties', () => {
  it('is the identity for x > 0, bit for bit, with derivative dy', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, noNaN: true }), fc.double({ min: -10, max: 10, noNaN: true }), (x, dy) => {
        expect(fwd(x, 0.3)).toBe(x);
        expect(bwd(x, 0.3, dy)).toBe(dy);
      }),
    );
  });

  it('scales with alpha: elu(x; α) = α·elu(x; 1) to 1 ULP (the right side rounds twice)', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 0, noNaN: true }), fc.double({ min: 0.01, max: 100, noNaN: true }), (x, a) => {
        expect(ulpError(fwd(x, a), a * fwd(x, 1), 'float64')).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a non-finite alpha', () => {
    expect(elu.params.safeParse({ alpha: Infinity }).success).toBe(false);
    expect(elu.params.parse({})).toEqual({ alpha: 1 });
  });
});
