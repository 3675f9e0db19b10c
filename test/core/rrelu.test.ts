import { describe, expect, it } from 'vitest';
import { leakyRelu } from '../../src/core/activations/leaky-relu.js';
import { rrelu } from '../../src/core/activations/rrelu.js';
import { runBackward, runForward } from '../../src/core/batch.js';

type Params = { lower?: number; upper?: number; training?: boolean; seed?: number };
type Dtype = 'float64' | 'float32';

const forward = (x: ArrayLike<number>, params: Params = {}, dtype: Dtype = 'float64') =>
  runForward(rrelu, { x: Float64Array.from(x), rows: 1, cols: x.length, params: rrelu.params.parse(params), dtype }).out;
const backward = (x: ArrayLike<number>, dy: ArrayLike<number>, params: Params = {}) =>
  runBackward(rrelu, {
    x: Float64Array.from(x),
    dy: Float64Array.from(dy),
    rows: 1,
    cols: x.length,
    params: rrelu.params.parse(params),
    dtype: 'float64',
  }).dx;

describe('rrelu in eval mode', () => {
  it('defaults: lower 1/8, upper 1/3, eval', () => {
    expect(rrelu.params.parse({})).toEqual({ lower: 1 / 8, upper: 1 / 3, training: false });
  });

  it('special values one by one: slope 11/48 for x ≤ 0 (−0 stays −0, as x·a and leaky_relu)', () => {
    expect(Array.from(forward([-Infinity, -48, -0, 0, 5e-324, 2, Infinity, NaN]))).toEqual([
      -Infinity,
      -11,
      -0,
      0,
      5e-324,
      2,
      Infinity,
      NaN,
    ]);
  });

  // Expected values: mpmath at 300 bits of x·11/48 (the exact fractions), rounded to
  // float64; x·fl(11/48) gives the "naive" value, one ULP off.
  it('the mean slope of the default is the exact 11/48', () => {
    const cases: [number, number][] = [
      [-9.68048827873353, -2.2184452305431006], // naive -2.2184452305431
      [-1.9216462551524305, -0.44037726680576533], // naive -0.4403772668057653
      [-2.6803474735994994, -0.6142462960332187], // naive -0.6142462960332186
    ];
    for (const [x, y] of cases) expect(forward([x])[0], `x=${x}`).toBe(y);
    // Python's Fraction(x) * Fraction(11, 48) rounded by float(): beyond Dekker's split x·fl(11/48) was one ULP off,
    // and next to the subnormals the product's low part lost bits (8% of draws below 2^-1000 were one ULP off).
    const extremes: [number, number][] = [
      [-9.117122610811356e306, -2.089340598310936e306], // x·fl(11/48) gives -2.0893405983109356e306
      [-1.5223639128108508e302, -3.4887506335248667e301],
      [-7.454463591076e-312, -1.708314572956e-312], // was -1.70831457295e-312
      [-1.6968366822150652e-307, -3.8885840634095245e-308], // was -3.888584063409524e-308
    ];
    for (const [x, y] of extremes) {
      expect(forward([x])[0], `x=${x}`).toBe(y);
      expect(backward([-1], [x])[0], `dy=${x}`).toBe(y);
    }
    // The float64 nearest 1/3, written out, is the default fraction.
    expect(forward([-9.68048827873353], { upper: 0.3333333333333333 })[0]).toBe(-2.2184452305431006);
  });

  it('equals leaky_relu with slope (lower + upper)/2, forward and backward', () => {
    const x = Array.from({ length: 2000 }, (_, i) => (i - 1000) / 37);
    const dy = x.map((_, i) => Math.cos(i));
    const leaky = leakyRelu.params.parse({ negative_slope: 0.25 });
    const viaLeaky = runForward(leakyRelu, { x: Float64Array.from(x), rows: 1, cols: x.length, params: leaky, dtype: 'float64' }).out;
    expect(forward(x, { lower: 0.125, upper: 0.375 })).toEqual(viaLeaky);
    const dLeaky = runBackward(leakyRelu, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols: x.length, params: leaky, dtype: 'float64' }).dx;
    expect(backward(x, dy, { lower: 0.125, upper: 0.375 })).toEqual(dLeaky);
  });

  it('backward: 1 for x > 0, the mean slope at x ≤ 0 (x = 0 included); NaN gives NaN', () => {
    expect(Array.from(backward([-48, 0, -0, 3, Infinity, -Infinity, NaN], [48, 48, 48, 5, 5, 48, 1]))).toEqual([11, 11, 11, 5, 5, 11, NaN]);
  });

  it('ignores the seed', () => {
    expect(forward([-1, 1], { seed: 5 })).toEqual(forward([-1, 1]));
    expect(rrelu.responseFields!.values(rrelu.params.parse({ seed: 5 }))).toEqual({});
  });
});

describe('rrelu in training mode', () => {
  const N = 200_000;
  const minusOnes = new Float64Array(N).fill(-1);

  it('draws one slope per element in [lower, upper), leaves x > 0 alone', () => {
    const y = forward([-2, 3, -0.5, 0, Infinity, -Infinity, NaN], { training: true, seed: 7 });
    expect(y[1]).toBe(3);
    expect(y[3]).toBe(0);
    expect(y[4]).toBe(Infinity);
    expect(y[5]).toBe(-Infinity);
    expect(y[6]).toBeNaN();
    for (const [i, v] of [[0, -2], [2, -0.5]]) {
      const a = y[i] / v;
      expect(a).toBeGreaterThanOrEqual(1 / 8);
      expect(a).toBeLessThanOrEqual(1 / 3);
    }
  });

  it('the same seed gives the same slopes, forward and backward; another seed differs', () => {
    const x = Array.from({ length: 64 }, (_, i) => -1 - i / 64);
    const params = { training: true, seed: 123456789 };
    const y1 = forward(x, params);
    expect(forward(x, params)).toEqual(y1);
    const dx = backward(x, x.map(() => 1), params);
    x.forEach((v, i) => expect(dx[i]).toBeCloseTo(y1[i] / v, 15));
    // The slopes backward uses are exactly the ones forward used.
    x.forEach((v, i) => expect(v * dx[i]).toBe(y1[i]));
    expect(forward(x, { training: true, seed: 123456790 })).not.toEqual(y1);
    // Seeds that differ only above bit 32 differ too.
    expect(forward(x, { training: true, seed: 1 })).not.toEqual(forward(x, { training: true, seed: 1 + 2 ** 32 }));
    expect(forward(x, { training: true, seed: Number.MAX_SAFE_INTEGER })).not.toEqual(forward(x, { training: true, seed: 0 }));
  });

  it('the slopes are U(lower, upper): mean (lower + upper)/2, variance (upper − lower)²/12', () => {
    for (const [lower, upper, seed] of [
      [1 / 8, 1 / 3, 1],
      [0.1, 0.9, 2],
    ]) {
      const a = Array.from(forward(minusOnes, { lower, upper, training: true, seed }), (v) => -v);
      const mean = a.reduce((s, v) => s + v, 0) / N;
      const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / (N - 1);
      const width = upper - lower;
      const sd = width / Math.sqrt(12);
      // Standard errors: of the mean sd/√N; of the variance, for a uniform, sd²·√(0.8/N).
      expect(Math.abs(mean - (lower + upper) / 2)).toBeLessThan((5 * sd) / Math.sqrt(N));
      expect(Math.abs(variance - width ** 2 / 12)).toBeLessThan(5 * sd ** 2 * Math.sqrt(0.8 / N));
      expect(a.reduce((m, v) => Math.min(m, v))).toBeGreaterThanOrEqual(lower);
      expect(a.reduce((m, v) => Math.max(m, v))).toBeLessThanOrEqual(upper);
      // Spread evenly: each tenth of the interval holds a tenth of the draws.
      const counts = new Array<number>(10).fill(0);
      for (const v of a) counts[Math.min(9, Math.floor(((v - lower) / width) * 10))]++;
      for (const c of counts) expect(Math.abs(c - N / 10)).toBeLessThan(5 * Math.sqrt(N * 0.1 * 0.9));
    }
  });

  it('lower = upper is a fixed slope', () => {
    expect(Array.from(forward([-2, 2], { lower: 0.5, upper: 0.5, training: true, seed: 3 }))).toEqual([-1, 2]);
  });

  it('float32 outputs are float32 values', () => {
    for (const v of forward([-0.1, -1.7, 2.3], { training: true, seed: 9 }, 'float32')) expect(Math.fround(v)).toBe(v);
  });

  it('without a seed, resolveParams picks a 32-bit one and the response reports it', () => {
    const resolved = rrelu.resolveParams!(rrelu.params.parse({ training: true }));
    expect(Number.isInteger(resolved.seed)).toBe(true);
    expect(resolved.seed).toBeGreaterThanOrEqual(0);
    expect(resolved.seed).toBeLessThan(2 ** 32);
    expect(rrelu.responseFields!.values(resolved)).toEqual({ seed: resolved.seed });
    // A given seed is kept; eval mode needs none.
    expect(rrelu.resolveParams!(rrelu.params.parse({ training: true, seed: 11 })).seed).toBe(11);
    expect(rrelu.resolveParams!(rrelu.params.parse({})).seed).toBeUndefined();
    // A kernel called directly without one refuses rather than guessing.
    expect(() => forward([-1], { training: true })).toThrow(/seed/);
  });
});

describe('rrelu params', () => {
  it('0 ≤ lower ≤ upper, the refinement naming lower', () => {
    const bad = rrelu.params.safeParse({ lower: 0.5, upper: 0.25 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues).toEqual([expect.objectContaining({ path: ['lower'], message: 'lower must not exceed upper' })]);
    expect(rrelu.params.safeParse({ lower: -0.1 }).success).toBe(false);
    expect(rrelu.params.safeParse({ lower: 0, upper: 0 }).success).toBe(true);
  });

  it('the seed is a non-negative safe integer', () => {
    for (const seed of [-1, 1.5, 2 ** 53, '1']) expect(rrelu.params.safeParse({ seed }).success, String(seed)).toBe(false);
    for (const seed of [0, 2 ** 32, Number.MAX_SAFE_INTEGER]) expect(rrelu.params.safeParse({ seed }).success, String(seed)).toBe(true);
  });
});
