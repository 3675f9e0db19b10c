import { describe, expect, it } from 'vitest';
import { step } from '../../src/core/activations/step.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const forward = (x: number[]) =>
  Array.from(runForward(step, { x: Float64Array.from(x), rows: 1, cols: x.length, params: {}, dtype: 'float64' }).out);
const backward = (x: number[], dy: number[]) =>
  Array.from(runBackward(step, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols: x.length, params: {}, dtype: 'float64' }).dx);

describe('step', () => {
  it('special values one by one: 0 at the jump, 1 only for x > 0', () => {
    const cases: [number, number][] = [
      [-Infinity, 0],
      [-1, 0],
      [-5e-324, 0],
      [-0, 0],
      [0, 0],
      [5e-324, 1],
      [1, 1],
      [Infinity, 1],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
  });

  it('backward is 0 everywhere, whatever dy is; a NaN input gives NaN', () => {
    expect(backward([-1, 0, -0, 2, Infinity], [1, 1, 1, Infinity, NaN])).toEqual([0, 0, 0, 0, 0]);
    expect(backward([NaN], [1])).toEqual([NaN]);
  });
});
