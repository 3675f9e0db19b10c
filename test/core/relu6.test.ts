import { describe, expect, it } from 'vitest';
import { relu6 } from '../../src/core/activations/relu6.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const forward = (x: number[]) =>
  Array.from(runForward(relu6, { x: Float64Array.from(x), rows: 1, cols: x.length, params: {}, dtype: 'float64' }).out);
const backward = (x: number[], dy: number[]) =>
  Array.from(runBackward(relu6, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols: x.length, params: {}, dtype: 'float64' }).dx);

describe('relu6', () => {
  it('special values one by one', () => {
    const cases: [number, number][] = [
      [-Infinity, 0],
      [-1, 0],
      [-0, 0],
      [0, 0],
      [5e-324, 5e-324],
      [3, 3],
      [5.999999999999999, 5.999999999999999],
      [6, 6],
      [6.000000000000001, 6],
      [Infinity, 6],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
  });

  it('backward: dy strictly inside (0, 6), 0 at both kinks and outside; NaN gives NaN', () => {
    const x = [-Infinity, -1, -0, 0, 5e-324, 3, 5.999999999999999, 6, 7, Infinity, NaN];
    const dy = x.map(() => 2.5);
    expect(backward(x, dy)).toEqual([0, 0, 0, 0, 2.5, 2.5, 2.5, 0, 0, 0, NaN]);
  });
});
