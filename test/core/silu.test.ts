/**
 * silu: swish with β = 1 bit for bit, and special values (mpmath at 120
 * digits, rounded once), including the doubles around the root of silu′.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silu } from '../../src/core/activations/silu.js';
import { swish } from '../../src/core/activations/swish.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const fwd = (x: number) => runForward(silu, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
const bwd = (x: number, dy = 1) =>
  runBackward(silu, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: {}, dtype: 'float64' }).dx[0];

describe('silu special values', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, Infinity, 1],
    [-Infinity, -0, 0],
    [0, 0, 0.5],
    [-1e-300, -5e-301, 0.5],
    [1, 0.7310585786300049, 0.9276705118714867],
    [-40, -1.6993417021166355e-16, -1.6568581595637197e-16],
    [-745, -2.105e-321, -2.1e-321],
    // the root of silu′ lies between these doubles; the derivative keeps its relative accuracy
    [-1.2784645427610735, -0.2784645427610738, 7.220774889984332e-17],
    [-1.2784645427610737, -0.2784645427610738, 2.3843834755243115e-17],
    [-1.278464542761074, -0.2784645427610738, -2.452007938935708e-17],
  ] as const)('silu(%s) = %s, silu′ = %s', (x, y, d) => {
    expect(fwd(x)).toBe(y);
    expect(bwd(x)).toBe(d);
  });
});

describe('silu is swish with β = 1', () => {
  const p = swish.params.parse({ beta: 1 });
  it('bit for bit, forward and backward', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ noNaN: true }), fc.double({ min: -1.35, max: -1.2 }), fc.double({ min: -800, max: 60 })),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (x, dy) => {
          const sx = runForward(swish, { x: Float64Array.of(x), rows: 1, cols: 1, params: p, dtype: 'float64' }).out[0];
          const sd = runBackward(swish, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: p, dtype: 'float64' }).dx[0];
          expect(fwd(x)).toBe(sx);
          expect(bwd(x, dy)).toBe(sd);
        },
      ),
      { numRuns: 500 },
    );
  });
});
