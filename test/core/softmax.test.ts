/**
 * softmax: rows sum to 1, non-finite rows, subnormal outputs, cancellation in
 * backward, and backward against finite differences. Reference values are
 * 60-digit mpmath results rounded to float64.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { softmax } from '../../src/core/activations/softmax.js';
import { SoftmaxRow } from '../../src/core/rows/softmax-row.js';
import { log1pDD } from '../../src/core/rows/log1p.js';
import { dd } from '../../src/core/numeric/dd.js';
import { Decimal } from 'decimal.js';
import { exactIn, relativeError } from '../helpers/reference.js';
import { ulpError } from '../helpers/golden.js';

function fwd(rows: number[][]): Float64Array {
  const cols = rows[0].length;
  const x = Float64Array.from(rows.flat());
  const out = new Float64Array(x.length);
  softmax.forward({ x, rows: rows.length, cols, params: {}, out });
  return out;
}

function bwd(rows: number[][], dys: number[][]): Float64Array {
  const cols = rows[0].length;
  const x = Float64Array.from(rows.flat());
  const dx = new Float64Array(x.length);
  softmax.backward({ x, dy: Float64Array.from(dys.flat()), rows: rows.length, cols, params: {}, dx });
  return dx;
}

const row = (n: number, min = -30, max = 30) =>
  fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n });

describe('softmax forward', () => {
  it('each row sums to 1 (to the rounding of the outputs) and lies in [0, 1]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }).chain((n) => row(n)), (xs) => {
        const y = fwd([xs]);
        let s = 0;
        for (const v of y) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
          s += v;
        }
        expect(Math.abs(s - 1)).toBeLessThanOrEqual(xs.length * 2 ** -53 + 2 ** -52);
      }),
    );
  });

  it('is exactly uniform on a constant row and ignores a shift by an exact constant', () => {
    expect([...fwd([[3, 3, 3, 3]])]).toEqual([0.25, 0.25, 0.25, 0.25]);
    fc.assert(
      fc.property(row(8, -20, 20), (xs) => {
        // adding 64 is exact for these inputs only when no bits are lost: use multiples of 2^-40
        const q = xs.map((v) => Math.round(v * 2 ** 40) / 2 ** 40);
        const a = fwd([q]);
        const b = fwd([q.map((v) => v + 64)]);
        expect([...b]).toEqual([...a]);
      }),
    );
  });

  it('tiny probabilities are right, down to the subnormals', () => {
    const y = fwd([[0, -740, -40, -1e6]]);
    expect(y[1]).toBe(4.2e-322);
    expect(y[2]).toBe(4.248354255291589e-18);
    expect(y[3]).toBe(0);
    expect(y[0]).toBe(1);
  });

  it('x_j − max is kept exactly where it is not a double', () => {
    // 1e-16 − 1 and −3.3e-17 − 1 round in double; mpmath at 400 bits on the exact differences. exp(x − max) in
    // double then normalised gets three of the four wrong (…955, …952, …385). ([1e6 + 1, 1e6], the case here
    // before, has an exact difference and could not tell.)
    expect(Array.from(fwd([[1, 1e-16, -3.3e-17, 0.3]]))).toEqual([0.44795959611034714, 0.16479512588445952, 0.1647951258844595, 0.22245015212073382]);
  });
});

describe('softmax non-finite rows (IEEE, as PyTorch)', () => {
  it('NaN or +Infinity anywhere makes the whole row NaN; other rows are untouched', () => {
    const y = fwd([
      [1, NaN, 2],
      [1, Infinity, 2],
      [0, 0, Math.log(2)],
    ]);
    for (let j = 0; j < 6; j++) expect(y[j]).toBeNaN();
    expect(y[8]).toBe(0.5);
    const dx = bwd([[1, NaN, 2], [Infinity, 0, 0]], [[1, 2, 3], [1, 2, 3]]);
    for (const v of dx) expect(v).toBeNaN();
  });

  it('-Infinity entries get probability 0 and gradient 0; an all -Infinity row is NaN', () => {
    const y = fwd([[-Infinity, 0, 0], [-Infinity, -Infinity, -Infinity]]);
    expect([...y.slice(0, 3)]).toEqual([0, 0.5, 0.5]);
    for (const v of y.slice(3)) expect(v).toBeNaN();
    const dx = bwd([[-Infinity, 0, 0]], [[5, 1, -1]]);
    expect(dx[0]).toBe(0);
    expect(dx[1]).toBe(0.5);
    expect(dx[2]).toBe(-0.5);
  });

  it('NaN in dy gives NaN for the row', () => {
    const dx = bwd([[0, 1, 2]], [[0, NaN, 0]]);
    for (const v of dx) expect(v).toBeNaN();
  });
});

describe('softmax backward', () => {
  it('rounds p_max·(dy_max − g) once for logits 1125 apart and dy near 2e198 (mpmath, 900 digits)', () => {
    // u·2^600 lay next to the subnormals and the fast pass kept it (6.3857888181020135e-291).
    expect(Array.from(bwd([[1124.892058402449, 0]], [[2.1858897471509087e198, 0]]))).toEqual([6.385788818102014e-291, -6.385788818102014e-291]);
  });

  it('rounds dx_max once where every e_j·(dy_j − dy_max) lies below 2^-900 (mpmath, 1200 digits)', () => {
    // Logits 1125.8 apart with dy_max 2.7e181: H = Σ e_j·(dy_j − dy_max) summed at dy's own scale lost its terms'
    // low bits to the subnormals (9.656492917401816e-308, one ULP off).
    const dx = bwd([[1125.7815881876727, 0, -5e-324, 0]], [[2.6818207688222765e181, 0, 9.232978617785736e-128, 0]]);
    expect(Array.from(dx)).toEqual([9.656492917401814e-308, -3.2188309724672717e-308, -3.2188309724672717e-308, -3.2188309724672717e-308]);
  });

  it('rounds dx_max once where the large terms of H cancel exactly and leave one below 2^-900 (mpmath, 1500 digits)', () => {
    // e_1·dy_1 + e_2·dy_2 = 0 exactly; e_3·dy_3 = e^-1200·2e214 lost its low bits (-4.674817492563396e-308).
    const dx = bwd([[0, -1, -1, -1200]], [[0, 1, -1, 2.0050339793606846e214]]);
    expect(Array.from(dx)).toEqual([-4.674817492563397e-308, 0.21194155761708544, -0.21194155761708544, 8.114355986048808e-308]);
  });

  it('keeps a difference of logits that only the low parts of x − max hold (mpmath, 200 digits)', () => {
    // x_1 = −2^-148 and x_2 = 0 both round to −4.6e-13 when the maximum is taken off; e_1 − e_2, which dx_0 and
    // dx_3 are made of, was lost in the exact pass (0 for −7.0e-46).
    const dx = bwd([[4.638162683784364e-13, -2.802596928649634e-45, 0, 0]], [[0, -4, 4, 0]]);
    expect(Array.from(dx)).toEqual([-7.00649232162571e-46, -0.9999999999998841, 0.9999999999998841, -7.00649232162246e-46]);
  });

  // Exactly 0 in all but subnormal corners (x differing from the max by ~1e-323), where it is within the 2-ULP bound.
  it('dy constant on a row gives 0, to within 2 ULP of the smallest subnormal', () => {
    fc.assert(
      fc.property(row(12), fc.double({ min: -5, max: 5, noNaN: true }), (xs, c) => {
        const dx = bwd([xs], [xs.map(() => c)]);
        for (const v of dx) expect(ulpError(v, 0, 'float64')).toBeLessThanOrEqual(2);
      }),
    );
  });

  it('a row of tiny logits with cancelling dy: the softmax-family kernel stays exact', () => {
    // mpmath, 50 digits: x and dy as below, dx[1] = 1.3838266060215115e-206 (a former kernel gave 2.9e-157).
    const x = [6.913905085341039e-280, -3.287822879222956e-140, -5.905656276028134e-218, 1.382372397621145e-225];
    const dy = [-2.2141225699199092e-205, -9.476986875133112e-216, -1.9999999999999962, 1.9999999999999962];
    expect(ulpError(bwd([x], [dy])[1], 1.3838266060215115e-206, 'float64')).toBeLessThanOrEqual(1);
  });

  it('a dominant class: dy - ⟨dy, y⟩ cancels to 1e-17 and is still right', () => {
    // mpmath: x = [40, 0, 1, -3], dy = [0.5, -1, 2, 0.25]
    const dx = bwd([[40, 0, 1, -3]], [[0.5, -1, 2, 0.25]]);
    const want = [-1.0896926600646518e-17, -6.372531382937383e-18, 1.732233625952368e-17, -5.287827593977701e-20];
    want.forEach((w, j) => expect(ulpError(dx[j], w, 'float64')).toBeLessThanOrEqual(1));
  });

  it('gradients of a row sum to 0', () => {
    fc.assert(
      fc.property(row(10), row(10, -3, 3), (xs, dys) => {
        const dx = bwd([xs], [dys]);
        const scale = dys.reduce((s, v) => s + Math.abs(v), 0);
        // plus a floor for subnormal dy: each dx_i rounds to the subnormal grid on its own
        expect(Math.abs(dx.reduce((s, v) => s + v, 0))).toBeLessThanOrEqual(1e-15 * scale + 1e-300);
      }),
    );
  });

  it('matches a fourth-order central difference of ⟨dy, softmax(x)⟩', () => {
    fc.assert(
      fc.property(row(6, -8, 8), row(6, -2, 2), fc.integer({ min: 0, max: 5 }), (xs, dys, j) => {
        const h = 2 ** -10;
        const at = (d: number) => {
          const x = xs.slice();
          x[j] += d;
          return fwd([x]).reduce((s, y, i) => s + y * dys[i], 0);
        };
        const fd = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
        const dx = bwd([xs], [dys])[j];
        const scale = dys.reduce((s, v) => s + Math.abs(v), 0);
        // The floor: with subnormal dy (drawn often) the difference quotient is made of products rounded to
        // multiples of 5e-324 and divided by 12h (dys [0, 0, 0, 0, -7.4e-323, 0] gave fd = 2.95e-321, dx = 0).
        expect(Math.abs(dx - fd)).toBeLessThanOrEqual(1e-9 * scale + 1e-300);
      }),
    );
  });
});

describe('the shared row state', () => {
  it('log1pDD is good to 2^-85 for u from 2^-40 to 2^40 (a 90-digit decimal.js log)', () => {
    // The series branch (u < 2^-10) kept its bracket s²/3 + … in double until this test: 2^-74.5 at u = 2^-10.
    const D90 = Decimal.clone({ precision: 90, minE: -9e15, maxE: 9e15 });
    fc.assert(
      fc.property(fc.double({ min: -40, max: 40, noNaN: true }), fc.double({ min: -0.5, max: 0.5, noNaN: true }), (e, fraction) => {
        const uh = 2 ** e;
        const ul = fraction * uh * 2 ** -53;
        const h = log1pDD(uh, ul);
        const want = exactIn(D90, uh).plus(exactIn(D90, ul)).plus(1).ln();
        expect(relativeError(D90, h, dd.lo, want)).toBeLessThan(2 ** -85);
      }),
      { examples: [[Math.log2(0.0009763285704360759), 0]] },
    );
  });

  it('log S for a subnormal u is u rounded once (softmin row with logits 708.9 apart; mpmath)', () => {
    // u·2^1074 = 2715359896840286.5 + 0.24: Uh·2^-600 alone rounded the tie to even, one unit low.
    const row = new SoftmaxRow(2);
    expect(row.load(Float64Array.of(-203.84619589980758, 505.05617512337335), 0, 2, -1, false)).toBe(true);
    row.logSum();
    expect(row.Lh).toBe(1.341566041123817e-308);
  });
});
