import { describe, expect, it } from 'vitest';
import { softshrink } from '../../src/core/activations/softshrink.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const forward = (x: number[], params: { lambd?: number } = {}) =>
  Array.from(runForward(softshrink, { x: Float64Array.from(x), rows: 1, cols: x.length, params: softshrink.params.parse(params), dtype: 'float64' }).out);
const backward = (x: number[], dy: number[], params: { lambd?: number } = {}) =>
  Array.from(
    runBackward(softshrink, {
      x: Float64Array.from(x),
      dy: Float64Array.from(dy),
      rows: 1,
      cols: x.length,
      params: softshrink.params.parse(params),
      dtype: 'float64',
    }).dx,
  );

describe('softshrink', () => {
  it('special values one by one (λ = 0.5)', () => {
    const cases: [number, number][] = [
      [-Infinity, -Infinity],
      [-2, -1.5],
      [-0.5000000000000001, -1.1102230246251565e-16],
      [-0.5, 0],
      [-0.25, 0],
      [0, 0],
      [0.5, 0],
      [0.5000000000000001, 1.1102230246251565e-16],
      [0.7, 0.7 - 0.5], // one rounding: 0.19999999999999996
      [Infinity, Infinity],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
    // The zero band gives +0, −0 included.
    for (const x of [-0.3, -0]) expect(Object.is(forward([x])[0], 0), `x=${x}`).toBe(true);
  });

  it('another λ', () => {
    expect(forward([-2, -1.5, 1.5, 1.75], { lambd: 1.5 })).toEqual([-0.5, 0, 0, 0.25]);
  });

  it('backward: dy where |x| > λ, 0 at |x| = λ and inside; NaN gives NaN', () => {
    const x = [-Infinity, -0.6, -0.5, 0, 0.5, 0.6, Infinity, NaN];
    expect(backward(x, x.map(() => -3))).toEqual([-3, -3, 0, 0, 0, -3, -3, NaN]);
  });

  it('λ must be ≥ 0', () => {
    expect(softshrink.params.safeParse({ lambd: -1 }).success).toBe(false);
  });
});
