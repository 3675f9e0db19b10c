import { describe, expect, it } from 'vitest';
import { leakyRelu } from '../../src/core/activations/leaky-relu.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const forward = (x: number[], params: { negative_slope?: number } = {}) =>
  Array.from(
    runForward(leakyRelu, { x: Float64Array.from(x), rows: 1, cols: x.length, params: leakyRelu.params.parse(params), dtype: 'float64' }).out,
  );
const backward = (x: number[], dy: number[], params: { negative_slope?: number } = {}) =>
  Array.from(
    runBackward(leakyRelu, {
      x: Float64Array.from(x),
      dy: Float64Array.from(dy),
      rows: 1,
      cols: x.length,
      params: leakyRelu.params.parse(params),
      dtype: 'float64',
    }).dx,
  );

describe('leaky_relu', () => {
  it('defaults to slope 0.01 (the float64 value)', () => {
    expect(leakyRelu.params.parse({})).toEqual({ negative_slope: 0.01 });
  });

  it('special values one by one', () => {
    const cases: [number, number][] = [
      [-Infinity, -Infinity],
      [-3, -3 * 0.01],
      [-1, -0.01],
      [0, 0],
      [5e-324, 5e-324],
      [2, 2],
      [Infinity, Infinity],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
    // −0 keeps its sign: slope·(−0).
    expect(Object.is(forward([-0])[0], -0)).toBe(true);
  });

  it('another slope, rounded once', () => {
    expect(forward([-2.5, -0.1, 1], { negative_slope: 0.2 })).toEqual([-0.5, -0.1 * 0.2, 1]);
    // A negative slope is allowed (PyTorch allows it too): the function is then not monotonic.
    expect(forward([-2], { negative_slope: -0.5 })).toEqual([1]);
  });

  it('backward: 1 for x > 0, the slope at x ≤ 0 (x = 0 included), NaN for NaN', () => {
    const x = [-Infinity, -1, -0, 0, 5e-324, 1, Infinity, NaN];
    const s = 3 * 0.01;
    expect(backward(x, x.map(() => 3))).toEqual([s, s, s, s, 3, 3, 3, NaN]);
    expect(backward([0], [1], { negative_slope: 0.2 })).toEqual([0.2]);
  });

  it('rejects unknown and non-numeric params', () => {
    expect(leakyRelu.params.safeParse({ slope: 0.1 }).success).toBe(false);
    expect(leakyRelu.params.safeParse({ negative_slope: '0.1' }).success).toBe(false);
  });
});
