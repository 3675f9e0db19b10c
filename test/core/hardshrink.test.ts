import { describe, expect, it } from 'vitest';
import { hardshrink } from '../../src/core/activations/hardshrink.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const forward = (x: number[], params: { lambd?: number } = {}) =>
  Array.from(runForward(hardshrink, { x: Float64Array.from(x), rows: 1, cols: x.length, params: hardshrink.params.parse(params), dtype: 'float64' }).out);
const backward = (x: number[], dy: number[], params: { lambd?: number } = {}) =>
  Array.from(
    runBackward(hardshrink, {
      x: Float64Array.from(x),
      dy: Float64Array.from(dy),
      rows: 1,
      cols: x.length,
      params: hardshrink.params.parse(params),
      dtype: 'float64',
    }).dx,
  );

describe('hardshrink', () => {
  it('special values one by one (λ = 0.5): |x| = λ gives 0 (strict >)', () => {
    const cases: [number, number][] = [
      [-Infinity, -Infinity],
      [-0.5000000000000001, -0.5000000000000001],
      [-0.5, 0],
      [-0.1, 0],
      [0, 0],
      [0.5, 0],
      [0.5000000000000001, 0.5000000000000001],
      [3, 3],
      [Infinity, Infinity],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
    // Zeroed inputs are +0, the negative ones and −0 included.
    for (const x of [-0.3, -0]) expect(Object.is(forward([x])[0], 0), `x=${x}`).toBe(true);
  });

  it('another λ, and λ = 0 keeps every non-zero input', () => {
    expect(forward([-2, -1.5, 1.5, 1.6], { lambd: 1.5 })).toEqual([-2, 0, 0, 1.6]);
    expect(forward([-1e-300, 0, 1e-300], { lambd: 0 })).toEqual([-1e-300, 0, 1e-300]);
  });

  it('backward: dy where |x| > λ, 0 at |x| = λ and inside; NaN gives NaN', () => {
    const x = [-Infinity, -0.6, -0.5, 0, 0.5, 0.6, Infinity, NaN];
    expect(backward(x, x.map(() => 2))).toEqual([2, 2, 0, 0, 0, 2, 2, NaN]);
  });

  it('λ must be ≥ 0', () => {
    expect(hardshrink.params.safeParse({ lambd: -0.1 }).success).toBe(false);
  });
});
