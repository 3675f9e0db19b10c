/** hardmax: the one-hot of the row maximum, lowest index on ties, dx = 0. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const hardmax = getActivation('hardmax')!;

function forward(x: number[][]): number[] {
  const { out } = runForward(hardmax, { x: Float64Array.from(x.flat()), rows: x.length, cols: x[0].length, params: {}, dtype: 'float64' });
  return Array.from(out);
}

function backward(x: number[][], dy: number[][]): number[] {
  const { dx } = runBackward(hardmax, {
    x: Float64Array.from(x.flat()),
    dy: Float64Array.from(dy.flat()),
    rows: x.length,
    cols: x[0].length,
    params: {},
    dtype: 'float64',
  });
  return Array.from(dx);
}

describe('hardmax', () => {
  it('marks the maximum of each row', () => {
    expect(forward([[1, 3, 2], [-1, -5, -0.5]])).toEqual([0, 1, 0, 0, 0, 1]);
  });

  it('takes the lowest index on ties (as ONNX test_hardmax_one_hot)', () => {
    expect(forward([[3, 3, 3, 1]])).toEqual([1, 0, 0, 0]);
    expect(forward([[1, 7, 7]])).toEqual([0, 1, 0]);
    // −0 and +0 are equal numbers: a tie.
    expect(forward([[-0, 0]])).toEqual([1, 0]);
  });

  it('handles infinities as numbers: +Infinity wins, a row of −Infinity marks index 0', () => {
    expect(forward([[1, Infinity, Infinity]])).toEqual([0, 1, 0]);
    expect(forward([[-Infinity, -Infinity]])).toEqual([1, 0]);
    expect(forward([[-Infinity, 1e308]])).toEqual([0, 1]);
  });

  it('spreads NaN over its row only', () => {
    const y = forward([[1, NaN, 2], [4, 5, 6]]);
    expect(y.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(y.slice(3)).toEqual([0, 0, 1]);
  });

  it('has dx = 0 everywhere, ties and huge dy included; NaN rows give NaN', () => {
    expect(backward([[3, 3, 1], [1, 2, 3]], [[1e300, -2, 5], [1, 1, 1]])).toEqual([0, 0, 0, 0, 0, 0]);
    expect(backward([[NaN, 1]], [[1, 1]]).every(Number.isNaN)).toBe(true);
  });

  it('always outputs exactly one 1 per row, at a maximal entry of the lowest index', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 10 }), (x) => {
        const y = forward([x]);
        const max = Math.max(...x);
        expect(y.filter((v) => v === 1).length).toBe(1);
        expect(y.filter((v) => v === 0).length).toBe(x.length - 1);
        expect(y.indexOf(1)).toBe(x.indexOf(max));
      }),
    );
  });
});
