/**
 * celu: special values one by one (mpmath at 120 digits, rounded once, e.g.
 * celu(−1; 0.3) = 0.3·mp.expm1(mp.mpf(-1)/mp.mpf(0.3)) with the exact binary
 * 0.3: x/α is not a double there) and properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { celu } from '../../src/core/activations/celu.js';
import { elu } from '../../src/core/activations/elu.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const fwd = (x: number, alpha = 1) =>
  runForward(celu, { x: Float64Array.of(x), rows: 1, cols: 1, params: celu.params.parse({ alpha }), dtype: 'float64' }).out[0];
const bwd = (x: number, alpha = 1, dy = 1) =>
  runBackward(celu, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: celu.params.parse({ alpha }), dtype: 'float64' }).dx[0];

describe('celu special values', () => {
  it.each([
    [2, NaN, NaN, NaN],
    [2, Infinity, Infinity, 1],
    [2, -Infinity, -2, 0],
    [2, 0, 0, 1], // the slope is 1 from both sides at 0
    [2, -0, -0, 1],
    [2, -1e-20, -1e-20, undefined],
    [2, -0.1, -0.09754115099857198, 0.951229424500714],
    [2, -1, -0.7869386805747332, 0.6065306597126334],
    [2, -5, -1.8358300027522023, undefined],
    [2, -300, -2, 7.175095973164411e-66],
    [0.3, -1e-20, -1e-20, undefined],
    [0.3, -0.1, -0.08504060682786323, 0.7165313105737893],
    [0.3, -1, -0.2892978019958243, 0.035673993347252395],
    [0.3, -5, -0.29999998266675443, undefined],
    [0.3, -300, -0.3, 0],
    [0.3, -Infinity, -0.3, 0],
  ] as const)('alpha %s: celu(%s) = %s, celu′ = %s', (alpha, x, y, d) => {
    expect(fwd(x, alpha)).toBe(y);
    if (d !== undefined) expect(bwd(x, alpha)).toBe(d);
  });

  it('refuses alpha ≤ 0 (x/α would divide by zero)', () => {
    expect(celu.params.safeParse({ alpha: 0 }).success).toBe(false);
    expect(celu.params.safeParse({ alpha: -1 }).success).toBe(false);
    expect(celu.params.parse({})).toEqual({ alpha: 1 });
  });
});

describe('celu properties', () => {
  it('equals elu with alpha 1, bit for bit, forward and backward', () => {
    fc.assert(
      fc.property(fc.double({ min: -800, max: 50, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), (x, dy) => {
        const e = elu.params.parse({ alpha: 1 });
        expect(fwd(x, 1)).toBe(runForward(elu, { x: Float64Array.of(x), rows: 1, cols: 1, params: e, dtype: 'float64' }).out[0]);
        expect(bwd(x, 1, dy)).toBe(
          runBackward(elu, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: e, dtype: 'float64' }).dx[0],
        );
      }),
      { numRuns: 300 },
    );
  });

  it('x and α next to the subnormals: x/α is the same quotient as at 2^600 times both (its residual once underflowed)', () => {
    // A reference run found it: the 50-digit value, rounded once (the old quotient gave 3 ULP below).
    expect(bwd(-1.981405755585344e-308, 7.4813789292236e-311, -2.829522914838651e-195)).toBe(-2.69770141502055e-310);
    const tiny = fc.tuple(fc.double({ min: 1, max: 2, noNaN: true }), fc.integer({ min: -1074, max: -969 })).map(([m, e]) => m * 2 ** e);
    fc.assert(
      fc.property(tiny, fc.double({ min: 1e-3, max: 700, noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), (alpha, ratio, dy) => {
        const x = -alpha * ratio;
        expect(bwd(x, alpha, dy)).toBe(bwd(x * 2 ** 600, alpha * 2 ** 600, dy));
      }),
      { numRuns: 300 },
    );
  });

  it('scales exactly for a power-of-two alpha: celu(x; 2^k) = 2^k·celu(x/2^k; 1) (x/2^k exact: no subnormals)', () => {
    fc.assert(
      fc.property(fc.double({ min: -60, max: -1e-290, noNaN: true }), fc.integer({ min: -4, max: 4 }), (x, k) => {
        const a = 2 ** k;
        expect(fwd(x, a)).toBe(a * fwd(x / a, 1));
        expect(bwd(x, a)).toBe(bwd(x / a, 1));
      }),
      { numRuns: 300 },
    );
  });
});
