/**
 * softplus: special values one by one (mpmath at 120 digits, rounded once,
 * e.g. softplus(−40) = mp.log1p(mp.exp(-40))), the threshold cut, and
 * identities: softplus′ = σ, softplus(x) − softplus(−x) = x, β scaling.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { softplus } from '../../src/core/activations/softplus.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { ulpError, ulpOf } from '../helpers/golden.js';

type P = { beta?: number; threshold?: number };
const fwd = (x: number, p: P = {}) =>
  runForward(softplus, { x: Float64Array.of(x), rows: 1, cols: 1, params: softplus.params.parse(p), dtype: 'float64' }).out[0];
const bwd = (x: number, p: P = {}, dy = 1) =>
  runBackward(softplus, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: softplus.params.parse(p), dtype: 'float64' }).dx[0];

describe('softplus special values (beta 1, no threshold)', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, Infinity, 1],
    [-Infinity, 0, 0],
    [0, 0.6931471805599453, 0.5],
    [-1e-300, 0.6931471805599453, 0.5],
    [1, 1.3132616875182228, undefined],
    [3, undefined, 0.9525741268224333],
    [37, 37, undefined],
    [40, 40, 1],
    [-40, 4.248354255291589e-18, 4.248354255291589e-18], // not 0
    [-740, 4.2e-322, undefined],
    [-745, 5e-324, 5e-324], // the smallest subnormal, not 0
    [-746, 0, 0],
  ] as const)('softplus(%s) = %s, softplus′ = %s', (x, y, d) => {
    if (y !== undefined) expect(fwd(x)).toBe(y);
    if (d !== undefined) expect(bwd(x)).toBe(d);
  });

  it('with beta: (1/β)·log(1 + e^(βx)), the division by β rounded once', () => {
    expect(fwd(10, { beta: 2 })).toBe(10.000000001030577);
    expect(fwd(-3, { beta: 2 })).toBe(0.0012378425688652247);
    expect(fwd(0.1, { beta: 2 })).toBe(0.3990694346907959);
    expect(fwd(1, { beta: 0.3 })).toBe(2.8478508148950903);
  });
});

describe('softplus threshold', () => {
  it('returns x only where βx > threshold, and dy there', () => {
    // β = 2, threshold 20: at x = 10, βx = 20 exactly, not above: no cut
    expect(fwd(10, { beta: 2, threshold: 20 })).toBe(10.000000001030577);
    expect(bwd(10, { beta: 2, threshold: 20 })).toBe(0.9999999979388464); // σ(20)
    const above = 10.000000000000002;
    expect(fwd(above, { beta: 2, threshold: 20 })).toBe(above);
    expect(bwd(above, { beta: 2, threshold: 20 }, 3)).toBe(3);
    // threshold 20 with β = 1: 20.5 is cut (PyTorch), the exact value is 20.500000001250154
    expect(fwd(20.5, { threshold: 20 })).toBe(20.5);
    expect(fwd(20.5)).toBe(20.500000001250154);
  });

  it('compares the exact βx, not its rounding', () => {
    // 0.1·10 = 1.0000000000000000555… > 1, though the rounded product is 1
    expect(fwd(10, { beta: 0.1, threshold: 1 })).toBe(10);
    expect(fwd(10, { beta: 0.1 })).toBe(13.132616875182228);
  });

  it('validates beta > 0 and a finite threshold', () => {
    expect(softplus.params.safeParse({ beta: 0 }).success).toBe(false);
    expect(softplus.params.safeParse({ beta: -1 }).success).toBe(false);
    expect(softplus.params.safeParse({ threshold: Infinity }).success).toBe(false);
    expect(softplus.params.parse({})).toEqual({ beta: 1 });
  });
});

describe('softplus identities', () => {
  const sigmoid = getActivation('sigmoid')!;
  it('softplus′(x) = σ(x) (the sigmoid activation) to 2 ULP', () => {
    fc.assert(
      fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => {
        const s = runForward(sigmoid, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
        expect(ulpError(bwd(x), s, 'float64')).toBeLessThanOrEqual(2);
      }),
      { numRuns: 500 },
    );
  });

  it('softplus(x) − softplus(−x) = x to one ULP of the larger term', () => {
    fc.assert(
      fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => {
        const a = fwd(x);
        const b = fwd(-x);
        expect(Math.abs(a - b - x)).toBeLessThanOrEqual(ulpOf(Math.max(a, b), 'float64'));
      }),
      { numRuns: 500 },
    );
  });

  it('scales exactly for a power-of-two beta: softplus(x; 2^k) = softplus(2^k·x; 1)/2^k', () => {
    fc.assert(
      fc.property(fc.double({ min: -300, max: 300, noNaN: true }), fc.integer({ min: -3, max: 3 }), (x, k) => {
        const b = 2 ** k;
        expect(fwd(x, { beta: b })).toBe(fwd(b * x) / b);
        expect(bwd(x, { beta: b })).toBe(bwd(b * x));
      }),
      { numRuns: 300 },
    );
  });
});
