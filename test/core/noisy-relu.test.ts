import erfc from '@stdlib/math-base-special-erfc';
import { describe, expect, it } from 'vitest';
import { noisyRelu } from '../../src/core/activations/noisy-relu.js';
import { relu } from '../../src/core/activations/relu.js';
import { runBackward, runForward } from '../../src/core/batch.js';

type Params = { std?: number; training?: boolean; seed?: number };

const forward = (x: ArrayLike<number>, params: Params = {}, dtype: 'float64' | 'float32' = 'float64') =>
  runForward(noisyRelu, { x: Float64Array.from(x), rows: 1, cols: x.length, params: noisyRelu.params.parse(params), dtype }).out;
const backward = (x: ArrayLike<number>, dy: ArrayLike<number>, params: Params = {}) =>
  runBackward(noisyRelu, {
    x: Float64Array.from(x),
    dy: Float64Array.from(dy),
    rows: 1,
    cols: x.length,
    params: noisyRelu.params.parse(params),
    dtype: 'float64',
  }).dx;

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}
function variance(v: ArrayLike<number>): number {
  const m = mean(v);
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return s / (v.length - 1);
}
/** |sample mean − expected| within 5 standard errors (from the sample's own spread). */
function expectMean(v: ArrayLike<number>, expected: number, label: string) {
  expect(Math.abs(mean(v) - expected), label).toBeLessThan(5 * Math.sqrt(variance(v) / v.length));
}
const Phi = (a: number) => 0.5 * erfc(-a / Math.SQRT2);
const phi = (a: number) => Math.exp(-0.5 * a * a) / Math.sqrt(2 * Math.PI);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('noisy_relu in eval mode', () => {
  it('is relu, forward and backward, with relu′(0) = 0', () => {
    const x = [-Infinity, -1, -0, 0, 5e-324, 2, Infinity, NaN];
    const dy = x.map(() => 3);
    const params = relu.params.parse({});
    expect(forward(x)).toEqual(runForward(relu, { x: Float64Array.from(x), rows: 1, cols: x.length, params, dtype: 'float64' }).out);
    expect(Array.from(forward(x))).toEqual([0, 0, 0, 0, 5e-324, 2, Infinity, NaN]);
    expect(Array.from(backward(x, dy))).toEqual([0, 0, 0, 0, 3, 3, 3, NaN]);
    expect(forward(x, { std: 0.5, seed: 3 })).toEqual(forward(x));
  });

  it('defaults: eval, std omitted, no seed; nothing extra in the response', () => {
    const params = noisyRelu.params.parse({});
    expect(params).toEqual({ training: false });
    expect(noisyRelu.resolveParams!(params)).toEqual(params);
    expect(noisyRelu.responseFields!.values(params)).toEqual({});
  });
});

describe('noisy_relu in training mode', () => {
  const N = 200_000;

  it('special values: +∞ stays, −∞ gives 0, NaN gives NaN, with either noise', () => {
    for (const params of [{ training: true, seed: 1, std: 2 }, { training: true, seed: 1 }]) {
      const y = forward([Infinity, -Infinity, NaN], params);
      expect(Array.from(y), JSON.stringify(params)).toEqual([Infinity, 0, NaN]);
      expect(Array.from(backward([Infinity, -Infinity, NaN], [2, 2, 2], params))).toEqual([2, 0, NaN]);
    }
  });

  it('std 0 is relu', () => {
    expect(Array.from(forward([-1, 0, 2], { training: true, std: 0, seed: 4 }))).toEqual([0, 0, 2]);
  });

  it('the same seed gives the same noise, forward and backward; another seed differs', () => {
    const x = Array.from({ length: 257 }, (_, i) => (i - 128) / 32);
    for (const extra of [{ std: 0.7 }, {}]) {
      const params = { training: true, seed: 2024, ...extra };
      const y = forward(x, params);
      expect(forward(x, params)).toEqual(y);
      // Backward passes dy exactly where forward's x + n was positive.
      const dx = backward(x, x.map(() => 1), params);
      expect(Array.from(dx)).toEqual(Array.from(y, (v) => (v > 0 ? 1 : 0)));
      expect(forward(x, { ...params, seed: 2025 })).not.toEqual(y);
    }
  });

  it('with std: the noise has mean 0 and standard deviation std, and is Gaussian', () => {
    const std = 0.5;
    const n = Array.from(forward(new Float64Array(N).fill(10), { training: true, std, seed: 77 }), (v) => v - 10);
    expectMean(n, 0, 'mean');
    // The sample variance of a normal has standard error σ²·√(2/N).
    expect(Math.abs(variance(n) - std ** 2)).toBeLessThan(5 * std ** 2 * Math.sqrt(2 / N));
    // 68.27% within one standard deviation, 95.45% within two.
    for (const [k, p] of [
      [1, 0.6826894921370859],
      [2, 0.9544997361036416],
    ]) {
      const inside = n.filter((v) => Math.abs(v) < k * std).length / N;
      expect(Math.abs(inside - p), `within ${k} sd`).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    }
  });

  it('without std: the noise variance is sigmoid(x) (Nair & Hinton), checked through the rectified moments', () => {
    // y = max(0, x + s·z), s = √σ(x), a = x/s:
    // E[y] = xΦ(a) + sφ(a), E[y²] = (x² + s²)Φ(a) + x·s·φ(a), P(y > 0) = Φ(a).
    for (const [x, seed] of [
      [0, 11],
      [1, 12],
      [-1, 13],
      [2.5, 14],
    ]) {
      const s = Math.sqrt(sigmoid(x));
      const a = x / s;
      const batch = new Float64Array(N).fill(x);
      const y = forward(batch, { training: true, seed });
      expectMean(y, x * Phi(a) + s * phi(a), `E[y] at x=${x}`);
      expectMean(Array.from(y, (v) => v * v), (x * x + s * s) * Phi(a) + x * s * phi(a), `E[y²] at x=${x}`);
      const gate = backward(batch, new Float64Array(N).fill(1), { training: true, seed });
      expectMean(gate, Phi(a), `P(y > 0) at x=${x}`);
    }
  });

  it('the σ(x) spread is not a standard deviation of σ(x) nor of 1', () => {
    // At x = 0: E[y²] = σ(0)/2 = 0.25; std σ(0) would give 0.125, std 1 would give 0.5.
    const y = forward(new Float64Array(N), { training: true, seed: 5 });
    expect(Math.abs(mean(Array.from(y, (v) => v * v)) - 0.25)).toBeLessThan(0.01);
  });

  it('float32 outputs are float32 values', () => {
    for (const v of forward([0.1, 1.7, -0.3], { training: true, seed: 9 }, 'float32')) expect(Math.fround(v)).toBe(v);
  });

  it('without a seed, resolveParams picks a 32-bit one and the response reports it', () => {
    const resolved = noisyRelu.resolveParams!(noisyRelu.params.parse({ training: true, std: 1 }));
    expect(Number.isInteger(resolved.seed)).toBe(true);
    expect(resolved.seed).toBeGreaterThanOrEqual(0);
    expect(resolved.seed).toBeLessThan(2 ** 32);
    expect(noisyRelu.responseFields!.values(resolved)).toEqual({ seed: resolved.seed });
    expect(() => forward([1], { training: true })).toThrow(/seed/);
  });

  it('std must be ≥ 0; the seed a non-negative safe integer', () => {
    expect(noisyRelu.params.safeParse({ std: -0.1 }).success).toBe(false);
    for (const seed of [-1, 0.5, 2 ** 53]) expect(noisyRelu.params.safeParse({ seed }).success).toBe(false);
  });
});
