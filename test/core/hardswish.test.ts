import { describe, expect, it } from 'vitest';
import { hardswish } from '../../src/core/activations/hardswish.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const forward = (x: number[]) =>
  Array.from(runForward(hardswish, { x: Float64Array.from(x), rows: 1, cols: x.length, params: {}, dtype: 'float64' }).out);
const backward = (x: number[], dy: number[]) =>
  Array.from(runBackward(hardswish, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols: x.length, params: {}, dtype: 'float64' }).dx);

describe('hardswish', () => {
  it('special values one by one', () => {
    const cases: [number, number][] = [
      [-Infinity, 0],
      [-4, 0],
      [-3, 0],
      [-1.5, -0.375],
      [0, 0],
      [1.5, 1.125],
      [3, 3],
      [4, 4],
      [Infinity, Infinity],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
    expect(forward([-0])[0]).toBe(0);
  });

  // Expected values: mpmath at 300 bits of x(x + 3)/6 on the float64 x,
  // rounded to float64 by float(); "naive" is fl(fl(x·fl(x + 3))/6).
  it('the middle piece is rounded once', () => {
    const cases: [number, number][] = [
      [-1.4695858455634698, -0.3748458298683185], // naive -0.37484582986831844
      [-0.303053611267571, -0.13621989041673283], // naive -0.13621989041673285
      [-2.8299151408679624, -0.08022095301502463], // naive -0.08022095301502465
      [-1.6274266723772841, -0.3722937405278087], // naive -0.37229374052780867
      [1e-300, 5e-301],
      [-1e-300, -5e-301],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
  });

  it('backward: 0 for x ≤ −3, 1 for x ≥ 3 (current PyTorch), x/3 + ½ between; NaN gives NaN', () => {
    const x = [-Infinity, -3, -1.5, 0, 1.5, 3, Infinity, NaN];
    expect(backward(x, x.map(() => 2))).toEqual([0, 0, 0, 1, 2, 2, 2, NaN]);
    // Just above −3: 6·(2x + 3)/6 = 2x + 3 = −3 + 2^-50 exactly.
    expect(backward([-2.9999999999999996], [6])).toEqual([-3 + 2 ** -50]);
  });

  it('backward rounds dy·(2x + 3)/6 once (mpmath at 300 bits)', () => {
    // naive dy·(x/3 + 0.5) gives 0.13000000000000006
    expect(backward([-1.2], [1.3])).toEqual([0.13000000000000003]);
    expect(backward([2.2], [-0.9])).toEqual([-1.11]);
  });

  it('backward with an infinite dy in the middle keeps IEEE semantics', () => {
    expect(backward([1, -1.5], [Infinity, Infinity])).toEqual([Infinity, NaN]);
  });
});
