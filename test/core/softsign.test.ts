/**
 * softsign: x/(1 + |x|) is rational, so results are checked against the exact
 * value in rational arithmetic (BigInt): forward and derivative are the
 * doubles nearest the exact results. Special values one by one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { softsign } from '../../src/core/activations/softsign.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const fwd = (x: number) => runForward(softsign, { x: Float64Array.of(x), rows: 1, cols: 1, params: {}, dtype: 'float64' }).out[0];
const bwd = (x: number, dy = 1) =>
  runBackward(softsign, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params: {}, dtype: 'float64' }).dx[0];

/** |d| as m·2^e with a BigInt m. */
function exact(d: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(d));
  const bits = view.getBigUint64(0);
  const ex = Number(bits >> 52n);
  const frac = bits & ((1n << 52n) - 1n);
  return ex === 0 ? { m: frac, e: -1074 } : { m: frac | (1n << 52n), e: ex - 1075 };
}

/** The double nearest num/den (both > 0), ties to even; normal results only. */
function nearest(num: bigint, den: bigint): number {
  let e = num.toString(2).length - den.toString(2).length - 53;
  for (;;) {
    const n = e >= 0 ? num : num << BigInt(-e);
    const d = e >= 0 ? den << BigInt(e) : den;
    const q = n / d;
    if (q >= 1n << 53n) e++;
    else if (q < 1n << 52n) e--;
    else {
      const r2 = (n - q * d) * 2n;
      const up = r2 > d || (r2 === d && q % 2n === 1n);
      return Number(up ? q + 1n : q) * 2 ** e;
    }
  }
}

/** |x|/(1 + |x|) and 1/(1 + |x|)² as exact fractions, x = m·2^e. */
function exactSoftsign(x: number): { y: [bigint, bigint]; d: [bigint, bigint] } {
  const { m, e } = exact(x);
  // |x| = m/2^s with s = −e ≥ 0 for the inputs used here (|x| < 2^52)
  const s = BigInt(-e);
  const one = 1n << s;
  return { y: [m, one + m], d: [one * one, (one + m) * (one + m)] };
}

describe('softsign special values', () => {
  it.each([
    [NaN, NaN, NaN],
    [Infinity, 1, 0],
    [-Infinity, -1, 0],
    [0, 0, 1],
    [-0, -0, 1],
    [1e-17, 1e-17, undefined],
    [0.3, 0.23076923076923075, 0.591715976331361],
    [3, 0.75, 0.0625],
    [-7.5, -0.8823529411764706, 0.01384083044982699],
    [1e10, undefined, 9.999999998e-21],
    [1e200, undefined, 0],
    [1e300, 1, 0],
  ] as const)('softsign(%s) = %s, softsign′ = %s', (x, y, d) => {
    if (y !== undefined) expect(fwd(x)).toBe(y);
    if (d !== undefined) expect(bwd(x)).toBe(d);
  });

  it('keeps dy·(1 + |x|)^-2 right when (1 + |x|)² overflows', () => {
    expect(bwd(1e200, 1e300)).toBe(1e-100);
  });
});

describe('softsign is correctly rounded', () => {
  it('forward and derivative equal the doubles nearest the exact rationals', () => {
    fc.assert(
      fc.property(fc.double({ min: 2 ** -40, max: 2 ** 40, noNaN: true }), fc.boolean(), (a, neg) => {
        const x = neg ? -a : a;
        const { y, d } = exactSoftsign(x);
        expect(fwd(x)).toBe((neg ? -1 : 1) * nearest(y[0], y[1]));
        expect(bwd(x)).toBe(nearest(d[0], d[1]));
      }),
      { numRuns: 500 },
    );
  });
});
