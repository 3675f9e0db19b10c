import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hardswish } from '../../src/core/activations/hardswish.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { dd, divDD, fastTwoSum, twoProd, twoSum } from '../../src/core/numeric/dd.js';
import { HALF_INEXACT, halfPlus, mulRoundSub } from '../../src/core/smooth/round.js';

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
    expect(forward([-0])[0]).toBe(-0); // x·relu6(x + 3)/6, as PyTorch (and gelu, silu)
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

/**
 * The kernels sort elements into the outer pieces and a list for the middle,
 * in blocks (hardswish.ts). They must give, bit for bit, what the per-element
 * form gives: the middle evaluated at x clamped to [−3, 3], selected by
 * ternaries, written here with the dd.ts helpers.
 */
describe('hardswish in blocks matches the per-element form bit for bit', () => {
  function forwardOracle(v: number): number {
    const t = Math.min(Math.max(v, -3), 3);
    const s = twoSum(t, 3);
    const sl = dd.lo;
    const p = twoProd(t, s);
    const n = fastTwoSum(p, dd.lo + t * sl);
    const mid = Math.abs(t) < HALF_INEXACT ? halfPlus(t, 1) : divDD(n, dd.lo, 6, 0);
    return v >= 3 ? v : mid;
  }
  function backwardOracle(v: number, d: number): number {
    const t = Math.min(Math.max(v, -3), 3);
    const s = twoSum(2 * t, 3);
    const mid = mulRoundSub(d, divDD(s, dd.lo, 6, 0), dd.lo);
    // A subnormal x: dy·(1/2 + x/3), whose x/3 underflows, breaks the ties of dy/2 by the sign of dy·x (fixTinySlopes).
    if (v !== 0 && Math.abs(v) < HALF_INEXACT) return halfPlus(d, Math.sign(d) * Math.sign(v));
    return v <= -3 ? 0 : v >= 3 ? d : mid;
  }
  const value = fc.oneof(
    fc.double({ min: -8, max: 8, noNaN: true }),
    fc.constantFrom(-3, 3, -2.9999999999999996, 2.9999999999999996, -3.0000000000000004, 0, -0, NaN, Infinity, -Infinity, 1e308, -1e308),
    fc.double(),
  );

  it('on any inputs and dy, across blocks, and in place', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value), { minLength: 1, maxLength: 2100, size: 'max' }), fc.boolean(), (pairs, inPlace) => {
        const xs = pairs.map(([v]) => v);
        const gs = pairs.map(([, g]) => g);
        const x = Float64Array.from(xs);
        const out = inPlace ? x : new Float64Array(xs.length);
        hardswish.forward({ x, out, rows: 1, cols: xs.length, params: {} });
        const dy = Float64Array.from(gs);
        const dx = inPlace ? dy : new Float64Array(xs.length);
        hardswish.backward({ x: Float64Array.from(xs), dy, dx, rows: 1, cols: xs.length, params: {} });
        xs.forEach((v, i) => {
          expect(Object.is(out[i], forwardOracle(v)), `forward x=${v}: ${out[i]}`).toBe(true);
          expect(Object.is(dx[i], backwardOracle(v, gs[i])), `backward x=${v} dy=${gs[i]}: ${dx[i]}`).toBe(true);
        });
      }),
      { numRuns: 100 },
    );
  });
});
