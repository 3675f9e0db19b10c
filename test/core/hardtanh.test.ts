import { describe, expect, it } from 'vitest';
import { hardtanh } from '../../src/core/activations/hardtanh.js';
import { runBackward, runForward } from '../../src/core/batch.js';

type Params = { min_val?: number; max_val?: number };
const forward = (x: number[], params: Params = {}) =>
  Array.from(runForward(hardtanh, { x: Float64Array.from(x), rows: 1, cols: x.length, params: hardtanh.params.parse(params), dtype: 'float64' }).out);
const backward = (x: number[], dy: number[], params: Params = {}) =>
  Array.from(
    runBackward(hardtanh, {
      x: Float64Array.from(x),
      dy: Float64Array.from(dy),
      rows: 1,
      cols: x.length,
      params: hardtanh.params.parse(params),
      dtype: 'float64',
    }).dx,
  );

describe('hardtanh', () => {
  it('special values one by one (defaults −1, 1)', () => {
    const cases: [number, number][] = [
      [-Infinity, -1],
      [-1.0000000000000002, -1],
      [-1, -1],
      [-0.9999999999999999, -0.9999999999999999],
      [0, 0],
      [0.5, 0.5],
      [1, 1],
      [1.0000000000000002, 1],
      [Infinity, 1],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
    expect(Object.is(forward([-0])[0], -0)).toBe(true);
  });

  it('other bounds', () => {
    expect(forward([-3, -0.5, 1, 2, 5], { min_val: -0.5, max_val: 2 })).toEqual([-0.5, -0.5, 1, 2, 2]);
  });

  it('backward: dy strictly between the bounds, 0 at both kinks; NaN gives NaN', () => {
    const x = [-Infinity, -2, -1, -0.9999999999999999, 0, 0.9999999999999999, 1, 2, Infinity, NaN];
    expect(backward(x, x.map(() => -4))).toEqual([0, 0, 0, -4, -4, -4, 0, 0, 0, NaN]);
  });

  it('min_val must be less than max_val', () => {
    for (const params of [{ min_val: 1, max_val: 1 }, { min_val: 2, max_val: 1 }, { max_val: -1 }]) {
      const result = hardtanh.params.safeParse(params);
      expect(result.success, JSON.stringify(params)).toBe(false);
      expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['min_val'], message: 'min_val must be less than max_val' })]);
    }
    expect(hardtanh.params.safeParse({ min_val: 0, max_val: 6 }).success).toBe(true);
  });
});
