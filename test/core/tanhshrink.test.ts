/**
 * tanhshrink: x − tanh x without cancellation. Expected values: mpmath with
 * enough digits for the cancellation (up to 400), rounded once, e.g.
 * tanhshrink(1e-8) = mp.mpf(1e-8) - mp.tanh(mp.mpf(1e-8)).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tanh } from '../../src/core/activations/tanh.js';
import { tanhshrink } from '../../src/core/activations/tanhshrink.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { ulpError } from '../helpers/golden.js';

const fwd = (x: number) => runForward(tanhshrink, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
const bwd = (x: number, dy = 1) =>
  runBackward(tanhshrink, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: {}, dtype: 'float64' }).dx[0];
const tanhOf = (x: number) => runForward(tanh, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];

describe('tanhshrink special values', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, Infinity, 1],
    [-Infinity, -Infinity, 1],
    [0, 0, 0],
    [-0, -0, 0],
    [1e-8, 3.3333333333333335e-25, 1e-16], // x − tanh x in double would be 0
    [-1e-8, -3.3333333333333335e-25, 1e-16],
    [0.1, 0.00033200537504418296, 0.009933709152560222],
    [0.25, 0.005081337596290871, undefined], // the series / tanh boundary
    [0.7, 0.09563222288283649, undefined],
    [3, 2.0049452463132695, 0.9901339628345598],
    [-40, -39, 1],
    [1e-105, 3.33333334e-316, undefined], // subnormal, rounded once
    [1e-110, 0, undefined],
    [1e-200, 0, 0],
  ] as const)('tanhshrink(%s) = %s, tanhshrink′ = %s', (x, y, d) => {
    expect(fwd(x)).toBe(y);
    if (d !== undefined) expect(bwd(x)).toBe(d);
  });

  it('keeps dy·tanh²x right when tanh²x underflows', () => {
    expect(bwd(1e-200, 1e300)).toBe(1e-100);
  });
});

describe('tanhshrink identities', () => {
  it('is odd, bit for bit', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        expect(fwd(-x)).toBe(-fwd(x));
      }),
    );
  });

  it('equals x − tanh x (the tanh activation) to 4 ULP where that difference cannot cancel much (|x| ≥ 1)', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 50, noNaN: true }), fc.boolean(), (a, neg) => {
        const x = neg ? -a : a;
        expect(ulpError(fwd(x), x - tanhOf(x), 'float64')).toBeLessThanOrEqual(4);
      }),
      { numRuns: 300 },
    );
  });

  it('equals its series x³/3 − 2x⁵/15 + 17x⁷/315 to 4 ULP for |x| < 1e-3', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-100, max: 1e-3, noNaN: true }), (x) => {
        const x2 = x * x;
        expect(ulpError(fwd(x), x * x2 * (1 / 3 - x2 * (2 / 15 - (x2 * 17) / 315)), 'float64')).toBeLessThanOrEqual(4);
      }),
      { numRuns: 300 },
    );
  });
});
