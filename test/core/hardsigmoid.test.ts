import { describe, expect, it } from 'vitest';
import { hardsigmoid } from '../../src/core/activations/hardsigmoid.js';
import { runBackward, runForward } from '../../src/core/batch.js';

type Params = { alpha?: number; beta?: number };
type Dtype = 'float64' | 'float32';
const forward = (x: number[], params: Params = {}, dtype: Dtype = 'float64') =>
  Array.from(runForward(hardsigmoid, { x: Float64Array.from(x), rows: 1, cols: x.length, params: hardsigmoid.params.parse(params), dtype }).out);
const backward = (x: number[], dy: number[], params: Params = {}) =>
  Array.from(
    runBackward(hardsigmoid, {
      x: Float64Array.from(x),
      dy: Float64Array.from(dy),
      rows: 1,
      cols: x.length,
      params: hardsigmoid.params.parse(params),
      dtype: 'float64',
    }).dx,
  );

describe('hardsigmoid', () => {
  it('defaults to α = 1/6 and β = ½', () => {
    expect(hardsigmoid.params.parse({})).toEqual({ alpha: 1 / 6, beta: 0.5 });
  });

  it('special values one by one (defaults)', () => {
    const cases: [number, number][] = [
      [-Infinity, 0],
      [-1e308, 0],
      [-4, 0],
      [-3, 0],
      [0, 0.5],
      [1.5, 0.75],
      [3, 1],
      [4, 1],
      [1e308, 1],
      [Infinity, 1],
      [NaN, NaN],
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
    expect(forward([-0])[0]).toBe(0.5);
  });

  // Expected values: mpmath at 300 bits of the exact α·x + β on the exact binary
  // inputs (α = 1/6 the fraction; α = 0.1, 0.2, β = −0.3 their float64 values),
  // clamped, rounded to float64 by mpmath's float(). "naive" is fl(fl(α·x) + β).
  it('α·x + β is exact where it cancels', () => {
    const cases: [Params, number, number][] = [
      // x = 3.0000000000000004: exact 7.2164496600635177593e-17 (naive 5.551115123125783e-17)
      [{ alpha: 0.1, beta: -0.3 }, 3.0000000000000004, 7.216449660063518e-17],
      // x = 3: exact 2.7755575615628913511e-17 (naive 5.551115123125783e-17)
      [{ alpha: 0.1, beta: -0.3 }, 3, 2.7755575615628914e-17],
      // x = 2.9999999999999996: exact −1.665e-17, clamped to 0
      [{ alpha: 0.1, beta: -0.3 }, 2.9999999999999996, 0],
      // x = −3 + 2^-51: exact (x + 3)/6 = 7.4014868308343769362e-17 (naive 1.1102230246251565e-16)
      [{}, -2.9999999999999996, 7.401486830834377e-17],
      // x = −3: exactly 0 (with fl(1/6) it would be 2.8e-17)
      [{}, -3, 0],
      // x = 3 − 2^-51: exact 1 − 7.4e-17, which rounds below 1
      [{}, 2.9999999999999996, 0.9999999999999999],
      [{}, -2.95, 0.008333333333333304],
      // α = 0.2: x = −2.4999999999999996: exact 6.1062266354383614654e-17 (naive 5.551115123125783e-17)
      [{ alpha: 0.2 }, -2.4999999999999996, 6.106226635438361e-17],
      // x = −2.5: exact −2.8e-17, clamped to 0
      [{ alpha: 0.2 }, -2.5, 0],
      // x = 2.4999999999999996: exact 1 − 6.1e-17 (naive 1)
      [{ alpha: 0.2 }, 2.4999999999999996, 0.9999999999999999],
    ];
    for (const [params, x, y] of cases) expect(forward([x], params)[0], `${JSON.stringify(params)} x=${x}`).toBe(y);
  });

  it('float32: x = −3 + 2^-22 gives (x + 3)/6 rounded to float32 (mpmath: 3.97364298502604166e-8 → 3.973643103449831e-8)', () => {
    expect(forward([-2.999999761581421], {}, 'float32')).toEqual([3.973643103449831e-8]);
  });

  it('the float64 nearest 1/6, written out, is the default fraction', () => {
    const x = [-3, -2.9999999999999996, -1.1, 2.9999999999999996];
    expect(forward(x, { alpha: 0.16666666666666666 })).toEqual(forward(x));
  });

  it('backward: α where 0 < α·x + β < 1 exactly, 0 at both kinks and outside; NaN gives NaN', () => {
    const x = [-Infinity, -3, -2.9999999999999996, 0, 2.9999999999999996, 3, Infinity, NaN];
    // dy·α with α = 1/6 exactly: 3/6 = 0.5, one rounding.
    expect(backward(x, x.map(() => 3))).toEqual([0, 0, 0.5, 0.5, 0.5, 0, 0, NaN]);
    expect(backward([0], [1])).toEqual([1 / 6]);
    // The gate follows the exact value, not the rounded one.
    expect(backward([3.0000000000000004, 2.9999999999999996], [2, 2], { alpha: 0.1, beta: -0.3 })).toEqual([0.2, 0]);
    expect(backward([2.4999999999999996, -2.5], [1, 1], { alpha: 0.2 })).toEqual([0.2, 0]);
  });

  // Cases the exact tests found (reference-exact.test.ts draws their kind on every run); the figures are the exact values rounded once.
  it('next to the subnormals: α·x + β exact where Dekker\'s product underflows, and x + 6β divided exactly', () => {
    // α·x = 4.3e-342 > 0: inside, so dx = dy·α, though α·x + β rounds to 0 (a CI run found it).
    const [alpha, x, dy] = [-5e-324, -8.673617379884035e-19, -2.076918743413931e34];
    expect(forward([x], { alpha, beta: 0 })).toEqual([0]);
    expect(backward([x, 0], [dy, dy], { alpha, beta: 0 })).toEqual([dy * alpha, 0]);
    // α·x = 1 − 4.5e-317·1e-16 below 1: inside.
    expect(backward([-1e-16], [1], { alpha: 4.5e-317, beta: 1 })).toEqual([4.5e-317]);
    // (1.3127935765192512e-306 − 2.4e-321)/6 = 2.18798929419874793…e-307; divDD's correction rounded to the subnormals gave one ULP below.
    expect(forward([1.3127935765192512e-306], { beta: -4e-322 })).toEqual([2.187989294198748e-307]);
  });

  it('ties of α·x broken by a β far below it, and x beyond 2^995', () => {
    // α·x = 1.99762380766185750…e-271 is a tie; −2^-1074 puts it below.
    expect(forward([4.084076362940299e50], { alpha: 4.9e-322, beta: -5e-324 })).toEqual([1.9976238076618574e-271]);
    // x ≥ 2^995 (no Dekker split): α·x = 0.011718749999997328…, a tie, again put below by β.
    expect(forward([6.6969287949126436e299], { alpha: 1.7498692846935354e-302, beta: -5e-324 })).toEqual([0.011718749999997327]);
    // α = 1/6 and x beyond 2^995: x + 6β is 0 or at least 2^943, never inside.
    expect(forward([6 * 2 ** 993, 6 * 2 ** 993 + 2 ** 943, 6 * 2 ** 993 - 2 ** 943], { beta: -(2 ** 993) })).toEqual([0, 1, 0]);
    expect(backward([6 * 2 ** 993], [1], { beta: -(2 ** 993) })).toEqual([0]);
  });

  it('other α and β, including a decreasing slope', () => {
    expect(forward([-3, 0, 1, 2.5, 3], { alpha: 0.2 })).toEqual([0, 0.5, 0.7, 1, 1]);
    expect(forward([-2, 0, 2], { alpha: -0.25, beta: 0.5 })).toEqual([1, 0.5, 0]);
    expect(backward([0], [4], { alpha: -0.25, beta: 0.5 })).toEqual([-1]);
  });
});
