/**
 * sigmoid: special values, tails and the derivative against finite differences.
 * Reference values are 60-digit mpmath results rounded to float64.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sigmoid } from '../../src/core/activations/sigmoid.js';
import { dd, invDD, twoSum } from '../../src/core/numeric/dd.js';
import { expX } from '../../src/core/numeric/exp.js';
import { ulpError } from '../helpers/golden.js';

function fwd(...xs: number[]): Float64Array {
  const x = Float64Array.from(xs);
  const out = new Float64Array(x.length);
  sigmoid.forward({ x, rows: 1, cols: x.length, params: {}, out });
  return out;
}

function bwd(xs: number[], dys: number[]): Float64Array {
  const x = Float64Array.from(xs);
  const dx = new Float64Array(x.length);
  sigmoid.backward({ x, dy: Float64Array.from(dys), rows: 1, cols: x.length, params: {}, dx });
  return dx;
}

const f = (v: number) => fwd(v)[0];
const g = (v: number) => bwd([v], [1])[0];

describe('the forward written out in its loop', () => {
  // The kernel inlines expX, TwoSum and invDD for speed; it must stay those operations, bit for bit.
  const composed = (v: number) => {
    const e = expX(-v, 0);
    const el = dd.lo;
    const d = twoSum(1, e);
    return invDD(d, dd.lo + el);
  };

  it('equals expX(-x), 1 + e and invDD composed, from -600 to 40', () => {
    const anywhere = fc.double({ min: -600, minExcluded: true, max: 40, noNaN: true });
    const nearZero = fc.double({ min: -40, max: 40, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.oneof(anywhere, nearZero), { minLength: 1, maxLength: 64 }), (xs) => {
        const out = fwd(...xs);
        xs.forEach((v, i) => expect(Object.is(out[i], composed(v)), `σ(${v})`).toBe(true));
      }),
      { numRuns: 300 },
    );
  });
});

describe('sigmoid special values', () => {
  it('NaN propagates, forward and backward', () => {
    expect(f(NaN)).toBeNaN();
    expect(g(NaN)).toBeNaN();
    expect(bwd([1], [NaN])[0]).toBeNaN();
  });

  it('±Infinity give the limits', () => {
    expect(f(Infinity)).toBe(1);
    expect(f(-Infinity)).toBe(0);
    expect(g(Infinity)).toBe(0);
    expect(g(-Infinity)).toBe(0);
  });

  it('±0 give 1/2 and 1/4', () => {
    expect(f(0)).toBe(0.5);
    expect(f(-0)).toBe(0.5);
    expect(g(0)).toBe(0.25);
    expect(g(-0)).toBe(0.25);
  });

  it.each([
    // x, σ(x), σ′(x)
    [-745, 5e-324, 5e-324],
    [-740, 4.2e-322, 4.2e-322],
    [-708.5, 2.006132305331306e-308, 2.006132305331306e-308],
    [-40, 4.248354255291589e-18, 4.248354255291589e-18],
    [-1, 0.2689414213699951, 0.19661193324148185],
    [1, 0.7310585786300049, 0.19661193324148185],
    [36, 0.9999999999999998, 2.319522830243568e-16],
    [37, 0.9999999999999999, 8.533047625744065e-17],
    [40, 1, 4.248354255291589e-18],
  ])('σ(%d) and σ′ are right in the tails, subnormals included', (x, y, dy) => {
    expect(f(x)).toBe(y);
    expect(g(x)).toBe(dy);
  });

  it('does not reach 0 early: σ(-745) is the smallest subnormal, σ(-746) rounds to 0', () => {
    expect(f(-745)).toBe(Number.MIN_VALUE);
    expect(f(-746)).toBe(0);
    expect(f(-1e300)).toBe(0);
  });
});

describe('sigmoid identities and derivative', () => {
  it('σ(x) + σ(-x) = 1 within an ULP of the larger one', () => {
    fc.assert(
      fc.property(fc.double({ min: -40, max: 40, noNaN: true }), (x) => {
        const [a, b] = fwd(x, -x);
        expect(ulpError(a + b, 1, 'float64')).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('σ′ is even and peaks at 1/4', () => {
    fc.assert(
      fc.property(fc.double({ min: -700, max: 700, noNaN: true }), (x) => {
        const [a, b] = bwd([x, -x], [1, 1]);
        expect(a).toBe(b);
        expect(a).toBeLessThanOrEqual(0.25);
      }),
    );
  });

  it('backward matches a fourth-order central difference of forward', () => {
    fc.assert(
      fc.property(fc.double({ min: -30, max: 30, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), (x, dy) => {
        const h = 2 ** -10;
        const [p2, p1, m1, m2] = fwd(x + 2 * h, x + h, x - h, x - 2 * h);
        const fd = (8 * (p1 - m1) - (p2 - m2)) / (12 * h);
        const dx = bwd([x], [dy])[0];
        // truncation O(h^4 σ^(5)) and rounding O(ε/h): both far below 1e-9
        expect(Math.abs(dx - dy * fd)).toBeLessThanOrEqual(1e-9 * Math.abs(dy) + 1e-300);
      }),
    );
  });
});
