/**
 * logsigmoid: exact in both tails. Expected values: mpmath at 120 digits,
 * rounded once (e.g. logsigmoid(40) = -mp.log1p(mp.exp(-40))).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logsigmoid } from '../../src/core/activations/logsigmoid.js';
import { softplus } from '../../src/core/activations/softplus.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const fwd = (x: number) => runForward(logsigmoid, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
const bwd = (x: number, dy = 1) =>
  runBackward(logsigmoid, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: {}, dtype: 'float64' }).dx[0];
const sp = softplus.params.parse({});

describe('logsigmoid special values', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, -0, 0],
    [-Infinity, -Infinity, 1],
    [0, -0.6931471805599453, 0.5],
    [1, -0.3132616875182228, undefined],
    [-1, -1.3132616875182228, undefined],
    [40, -4.248354255291589e-18, 4.248354255291589e-18], // not 0
    [-40, -40, 1],
    [700, -9.85967654375977e-305, undefined],
    [745, -5e-324, 5e-324], // the smallest subnormal, not 0
  ] as const)('logsigmoid(%s) = %s, logsigmoid′ = %s', (x, y, d) => {
    expect(fwd(x)).toBe(y);
    if (d !== undefined) expect(bwd(x)).toBe(d);
  });
});

describe('logsigmoid identities', () => {
  it('logsigmoid(x) = −softplus(−x) and logsigmoid′(x) = softplus′(−x), bit for bit', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }), (x, dy) => {
        const s = runForward(softplus, { x: Float64Array.of(-x), rows: 1, cols: 1, params: sp, dtype: 'float64' }).out[0];
        const d = runBackward(softplus, { x: Float64Array.of(-x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: sp, dtype: 'float64' }).dx[0];
        expect(fwd(x)).toBe(-s);
        expect(bwd(x, dy)).toBe(d);
      }),
      { numRuns: 500 },
    );
  });
});
