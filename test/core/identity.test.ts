import { describe, expect, it } from 'vitest';
import { identity } from '../../src/core/activations/identity.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const forward = (x: number[], dtype: 'float64' | 'float32' = 'float64') =>
  Array.from(runForward(identity, { x: Float64Array.from(x), rows: 1, cols: x.length, params: {}, dtype }).out);
const backward = (x: number[], dy: number[]) =>
  Array.from(runBackward(identity, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols: x.length, params: {}, dtype: 'float64' }).dx);

describe('identity', () => {
  it('returns every value bit for bit, −0 and non-finite values included', () => {
    const x = [-Infinity, -1.5, -0, 0, 5e-324, 1.5, Infinity, NaN];
    const y = forward(x);
    x.forEach((v, i) => expect(Object.is(y[i], v), `x=${v}`).toBe(true));
  });

  it('backward copies dy, whatever x is', () => {
    expect(backward([NaN, -Infinity, 0, 3], [0.5, -2, NaN, Infinity])).toEqual([0.5, -2, NaN, Infinity]);
  });

  it('float32 rounds the input once', () => {
    expect(forward([0.1], 'float32')).toEqual([Math.fround(0.1)]);
  });
});
