import { describe, expect, it } from 'vitest';
import { threshold } from '../../src/core/activations/threshold.js';
import { runBackward, runForward } from '../../src/core/batch.js';

type Params = { threshold: number; value: number };
const forward = (x: number[], params: Params) =>
  Array.from(runForward(threshold, { x: Float64Array.from(x), rows: 1, cols: x.length, params: threshold.params.parse(params), dtype: 'float64' }).out);
const backward = (x: number[], dy: number[], params: Params) =>
  Array.from(
    runBackward(threshold, {
      x: Float64Array.from(x),
      dy: Float64Array.from(dy),
      rows: 1,
      cols: x.length,
      params: threshold.params.parse(params),
      dtype: 'float64',
    }).dx,
  );

describe('threshold', () => {
  const params = { threshold: 0.5, value: -2 };

  it('both parameters are required', () => {
    const result = threshold.params.safeParse({});
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path)).toEqual([['threshold'], ['value']]);
    expect(threshold.params.safeParse({ threshold: 1 }).success).toBe(false);
    expect(threshold.params.safeParse({ value: 1 }).success).toBe(false);
  });

  it('special values one by one: x = threshold gives value (strict >)', () => {
    const cases: [number, number][] = [
      [-Infinity, -2],
      [0, -2],
      [0.49999999999999994, -2],
      [0.5, -2],
      [0.5000000000000001, 0.5000000000000001],
      [3, 3],
      [Infinity, Infinity],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x], params)[0], `x=${x}`).toBe(y);
  });

  it('value 0 is ONNX ThresholdedRelu', () => {
    expect(forward([-1, 1, 1.5, 2], { threshold: 1, value: 0 })).toEqual([0, 0, 1.5, 2]);
  });

  it('backward: dy where x > threshold, 0 at the threshold and below; NaN gives NaN', () => {
    const x = [-Infinity, 0.5, 0.5000000000000001, Infinity, NaN];
    expect(backward(x, x.map(() => 7), params)).toEqual([0, 0, 7, 7, NaN]);
  });
});
