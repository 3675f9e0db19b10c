import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prelu } from '../../src/core/activations/prelu.js';
import { runBackward, runForward } from '../../src/core/batch.js';

type Alpha = number | number[] | number[][];
type Dtype = 'float64' | 'float32';

function forward(x: number[][], alpha?: Alpha, dtype: Dtype = 'float64'): number[][] {
  const cols = x[0].length;
  const params = prelu.params.parse(alpha === undefined ? {} : { alpha });
  const { out } = runForward(prelu, { x: Float64Array.from(x.flat()), rows: x.length, cols, params, dtype });
  return x.map((_, r) => Array.from(out.subarray(r * cols, (r + 1) * cols)));
}

function backward(x: number[][], dy: number[][], alpha?: Alpha, dtype: Dtype = 'float64') {
  const cols = x[0].length;
  const params = prelu.params.parse(alpha === undefined ? {} : { alpha });
  const { dx, gradParams } = runBackward(prelu, {
    x: Float64Array.from(x.flat()),
    dy: Float64Array.from(dy.flat()),
    rows: x.length,
    cols,
    params,
    dtype,
  });
  return { dx: x.map((_, r) => Array.from(dx.subarray(r * cols, (r + 1) * cols))), alpha: gradParams?.alpha };
}

// Slopes that are powers of two keep every product exact, so the expected
// values below are hand-computed exactly.
const x = [
  [-1, 2],
  [-3, -0.5],
  [0, -4],
];
const dy = [
  [0.5, 10],
  [2, 1],
  [7, 0.25],
];

describe('prelu', () => {
  it('defaults to one α = 0.25', () => {
    expect(prelu.params.parse({})).toEqual({ alpha: 0.25 });
    expect(forward([[-2, -0, 0, 3]])).toEqual([[-0.5, -0, 0, 3]]);
  });

  it('special values one by one', () => {
    const [y] = forward([[-Infinity, -1, 0, 5e-324, Infinity, NaN]]);
    expect(y).toEqual([-Infinity, -0.25, 0, 5e-324, Infinity, NaN]);
    expect(Object.is(forward([[-0]])[0][0], -0)).toBe(true);
    // α = 0 at −∞ is 0·(−∞): NaN, as IEEE and PyTorch.
    expect(forward([[-Infinity]], 0)).toEqual([[NaN]]);
  });

  it('one α: forward, dx (α at x = 0) and dα summed over the batch', () => {
    expect(forward(x, 0.5)).toEqual([
      [-0.5, 2],
      [-1.5, -0.25],
      [0, -2],
    ]);
    const { dx, alpha } = backward(x, dy, 0.5);
    expect(dx).toEqual([
      [0.25, 10],
      [1, 0.5],
      [3.5, 0.125],
    ]);
    // 0.5·(−1) + 2·(−3) + 7·0 + 1·(−0.5) + 0.25·(−4); x = 2 does not count.
    expect(alpha).toBe(-8);
  });

  it('one α per column: dα per column, summed over the rows', () => {
    expect(forward(x, [0.25, 0.5])).toEqual([
      [-0.25, 2],
      [-0.75, -0.25],
      [0, -2],
    ]);
    const { dx, alpha } = backward(x, dy, [0.25, 0.5]);
    expect(dx).toEqual([
      [0.125, 10],
      [0.5, 0.5],
      [1.75, 0.125],
    ]);
    // Column 0: 0.5·(−1) + 2·(−3) + 7·0 = −6.5; column 1: 1·(−0.5) + 0.25·(−4) = −1.5.
    expect(alpha).toEqual([-6.5, -1.5]);
  });

  it('one α per element: dα is dy·x where x ≤ 0', () => {
    const a = [
      [0.25, 0.5],
      [0.125, 1],
      [2, 0.0625],
    ];
    expect(forward(x, a)).toEqual([
      [-0.25, 2],
      [-0.375, -0.5],
      [0, -0.25],
    ]);
    const { dx, alpha } = backward(x, dy, a);
    expect(dx).toEqual([
      [0.125, 10],
      [0.25, 1],
      [14, 0.015625],
    ]);
    expect(alpha).toEqual([
      [-0.5, 0],
      [-6, -0.5],
      [0, -1],
    ]);
  });

  it('a single row keeps per-column and per-element α apart', () => {
    expect(backward([[-1, -2]], [[1, 1]], [0.5, 0.5]).alpha).toEqual([-1, -2]);
    expect(backward([[-1, -2]], [[1, 1]], [[0.5, 0.5]]).alpha).toEqual([[-1, -2]]);
  });

  it('dα is summed without cancellation error', () => {
    // Terms −1e16, −1, +1e16: the exact sum is −1; left-to-right float64 gives 0.
    const { alpha } = backward([[-1], [-1], [-1]], [[1e16], [1], [-1e16]]);
    expect(alpha).toBe(-1);
    // Per column likewise.
    expect(backward([[-1], [-1], [-1]], [[1e16], [1], [-1e16]], [0.25]).alpha).toEqual([-1]);
  });

  it('NaN: dx NaN, and the NaN term makes dα NaN; x > 0 adds nothing even for an infinite dy', () => {
    const { dx, alpha } = backward([[NaN, -1]], [[1, 1]]);
    expect(dx).toEqual([[NaN, 0.25]]);
    expect(alpha).toBeNaN();
    expect(backward([[5, -1]], [[Infinity, 2]]).alpha).toBe(-2);
    expect(backward([[5, -1]], [[NaN, 2]]).alpha).toBe(-2);
    expect(backward([[-Infinity]], [[1]]).alpha).toBe(-Infinity);
  });

  it('float32: the gradient is rounded to float32 once', () => {
    const { alpha } = backward([[-1], [-1]], [[0.1], [0.2]], 0.25, 'float32');
    // Σ of the float32 dy: fround(0.1) + fround(0.2), exact in float64, then rounded.
    expect(alpha).toBe(Math.fround(-(Math.fround(0.1) + Math.fround(0.2))));
  });

  it('checkShape names /params/alpha for an α that does not fit the batch', () => {
    const check = (alpha: Alpha, rows: number, cols: number) => prelu.checkShape!(prelu.params.parse({ alpha }), rows, cols);
    expect(check(0.3, 4, 5)).toBeUndefined();
    expect(check([1, 2, 3], 4, 3)).toBeUndefined();
    expect(check([1, 2, 3], 4, 2)).toEqual({ path: '/params/alpha', message: 'one slope per column needs 2 numbers, got 3' });
    expect(check([[1, 2], [3, 4]], 2, 2)).toBeUndefined();
    expect(check([[1, 2], [3, 4]], 3, 2)).toEqual({
      path: '/params/alpha',
      message: 'one slope per element needs 3 rows of 2, got 2 rows',
    });
    expect(check([[1, 2], [3]], 2, 2)).toEqual({ path: '/params/alpha/1', message: 'expected 2 numbers, got 1' });
    // The kernel refuses too, for callers that skip the route.
    expect(() => forward([[1, 2]], [1, 2, 3])).toThrow(/params\/alpha/);
  });

  it('α must be numbers, not empty arrays', () => {
    for (const alpha of [[], [[]], 'x', [1, 'x'], [[1], 2]]) expect(prelu.params.safeParse({ alpha }).success, JSON.stringify(alpha)).toBe(false);
  });

  it('dx is the select dy·(x > 0 ? 1 : α), NaN for a NaN x, bit for bit, on any signs and values', () => {
    const value = fc.oneof(fc.double(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity), fc.double({ min: -8, max: 8, noNaN: true }));
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 40 }), fc.double({ noNaN: true, noDefaultInfinity: true }), (pairs, alpha) => {
        const xs = pairs.map(([v]) => v);
        const gs = pairs.map(([, g]) => g);
        const { dx } = backward([xs], [gs], alpha);
        xs.forEach((v, i) => {
          const want = v === v ? gs[i] * (v > 0 ? 1 : alpha) : NaN;
          expect(Object.is(dx[0][i], want), `x=${v} dy=${gs[i]} α=${alpha}: ${dx[0][i]}, want ${want}`).toBe(true);
        });
      }),
      { numRuns: 500 },
    );
  });
});
