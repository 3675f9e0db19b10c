/**
 * tanh: special values one by one and identities. Expected values are the
 * exact results rounded once to float64, computed with mpmath at 120 digits
 * (e.g. `tanh'(-360)`: mp.sech(mp.mpf(-360))**2, rounded to the subnormal grid).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tanh } from '../../src/core/activations/tanh.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { dd, twoSum } from '../../src/core/numeric/dd.js';
import { sigmoidX } from '../../src/core/smooth/logistic.js';
import { ulpError } from '../helpers/golden.js';

const fwd = (x: number) =>
  runForward(tanh, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
const bwd = (x: number, dy = 1) =>
  runBackward(tanh, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: {}, dtype: 'float64' }).dx[0];

describe('tanh special values', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, 1, 0],
    [-Infinity, -1, 0],
    [0, 0, 1],
    [-0, -0, 1],
    [1e-8, 1e-8, 0.9999999999999999], // sech²(1e-8) = 1 − 1e-16 rounds below 1
    [0.3, 0.2913126124515909, 0.9151369618266292],
    [0.5, 0.46211715726000974, undefined],
    [3, 0.9950547536867305, 0.00986603716544019],
    [-19.1, -1, undefined],
    [20, 1, 1.6993417021166355e-17], // 1 − tanh²(20) would be 0
    [-360, -1, 8.12892320967e-313], // subnormal derivative, rounded once
  ] as const)('tanh(%s) = %s, tanh′ = %s', (x, y, d) => {
    expect(fwd(x)).toBe(y); // toBe is Object.is: ±0 are told apart
    if (d !== undefined) expect(bwd(x)).toBe(d);
  });

  it('scales the derivative by dy with one rounding, also far in the tail', () => {
    // mpmath: dy·sech²(−360) rounded once (normal, and subnormal results)
    expect(bwd(-360, 1e300)).toBe(8.128923209697173e-13);
    expect(bwd(-360, 0.1)).toBe(8.1289232097e-314);
    expect(bwd(-360, -3.7)).toBe(-3.00770158759e-312);
    expect(bwd(Infinity, 2)).toBe(0);
    expect(Number.isNaN(bwd(NaN, 0))).toBe(true);
  });
});

describe('tanh identities', () => {
  it('is odd, bit for bit', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        expect(fwd(-x)).toBe(-fwd(x));
      }),
    );
  });

  it('tanh x = 2σ(2x) − 1 to 1 ULP (σ in double-double, |x| ≥ 1/64 so the subtraction keeps its bits)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1 / 64, max: 40, noNaN: true }), fc.boolean(), (a, neg) => {
        const x = neg ? -a : a;
        const s = sigmoidX(2 * x, 0);
        const sl = dd.lo;
        const h = twoSum(2 * s, -1);
        const viaSigmoid = h + (dd.lo + 2 * sl);
        expect(ulpError(fwd(x), viaSigmoid, 'float64')).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  it('tanh′ x = 4σ(2x)σ(−2x) to 2 ULP', () => {
    fc.assert(
      fc.property(fc.double({ min: -300, max: 300, noNaN: true }), (x) => {
        const p = sigmoidX(2 * x, 0);
        const q = sigmoidX(-2 * x, 0);
        expect(ulpError(bwd(x), 4 * p * q, 'float64')).toBeLessThanOrEqual(2);
      }),
      { numRuns: 500 },
    );
  });
});
