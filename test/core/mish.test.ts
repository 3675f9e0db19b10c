/**
 * mish: special values (mpmath at 120 digits, rounded once, e.g.
 * mish′(x) = tanh(sp) + x·sech²(sp)·σ(x), sp = log1p(e^x)), the doubles
 * around the root of mish′, and the definition x·tanh(softplus(x)).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mish } from '../../src/core/activations/mish.js';
import { softplus } from '../../src/core/activations/softplus.js';
import { tanh } from '../../src/core/activations/tanh.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { ulpError } from '../helpers/golden.js';

const fwd = (x: number) => runForward(mish, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
const bwd = (x: number, dy = 1) =>
  runBackward(mish, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: {}, dtype: 'float64' }).dx[0];

describe('mish special values', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, Infinity, 1],
    [-Infinity, -0, 0],
    [0, 0, 0.6],
    [-0, -0, 0.6],
    [-1e-20, -6e-21, 0.6],
    [1, 0.8650983882673103, 1.0490362200997922],
    [-1, -0.3034014613741089, 0.05921675587739495],
    [25, 25, 1],
    [-40, -1.6993417021166355e-16, -1.6568581595637197e-16],
    [-745, -2.105e-321, -2.1e-321], // subnormal, rounded once
    // the root of mish′ lies between these doubles; the derivative keeps its relative accuracy
    [-1.192431214515495, -0.30884341301725043, 7.221726830166862e-17],
    [-1.1924312145154952, -0.30884341301725043, 1.2942924190978498e-17],
    [-1.1924312145154954, -0.30884341301725043, -4.63314199197116e-17],
  ] as const)('mish(%s) = %s, mish′ = %s', (x, y, d) => {
    expect(fwd(x)).toBe(y);
    expect(bwd(x)).toBe(d);
  });
});

describe('mish identities', () => {
  const sp = softplus.params.parse({});
  it('mish(x) = x·tanh(softplus(x)) (the softplus and tanh activations) to 4 ULP', () => {
    fc.assert(
      fc.property(fc.double({ min: -700, max: 40, noNaN: true }), (x) => {
        const s = runForward(softplus, { x: Float64Array.of(x), rows: 1, cols: 1, params: sp, dtype: 'float64' }).out[0];
        const t = runForward(tanh, { x: Float64Array.of(s), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
        expect(ulpError(fwd(x), x * t, 'float64')).toBeLessThanOrEqual(4);
      }),
      { numRuns: 500 },
    );
  });

  it('changes sign at its root: negative left of it, positive right of it', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-15, max: 0.5, noNaN: true }), (t) => {
        expect(bwd(-1.1924312145154952 - t)).toBeLessThan(0);
        expect(bwd(-1.1924312145154952 + t)).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
