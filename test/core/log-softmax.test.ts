/**
 * log_softmax: special values one by one (expected values from mpmath at
 * 1200 digits, correctly rounded), and identities as properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { ulpError } from '../helpers/golden.js';

const logSoftmax = getActivation('log_softmax')!;
const softmin = getActivation('softmin')!;

function forward(x: number[][], dtype: 'float64' | 'float32' = 'float64'): number[] {
  const { out } = runForward(logSoftmax, { x: Float64Array.from(x.flat()), rows: x.length, cols: x[0].length, params: {}, dtype });
  return Array.from(out);
}

function backward(x: number[][], dy: number[][]): number[] {
  const { dx } = runBackward(logSoftmax, {
    x: Float64Array.from(x.flat()),
    dy: Float64Array.from(dy.flat()),
    rows: x.length,
    cols: x[0].length,
    params: {},
    dtype: 'float64',
  });
  return Array.from(dx);
}

/** Equal as doubles (+0 = −0, NaN = NaN), or within `ulps`. */
function expectClose(got: number[], want: number[], ulps = 0): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(ulpError(g, want[i], 'float64'), `element ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(ulps));
}

describe('log_softmax special values', () => {
  it('is exact for huge logits: the max gets −log1p(e^-1000 + e^-2000), which rounds to −0', () => {
    expectClose(forward([[1000, 0, -1000]]), [-0, -1000, -2000]);
  });

  it('keeps a tiny log-sum-exp when one logit dominates, down to the subnormals', () => {
    // −log1p(e^-720) = −2.03e-313 (subnormal), and −log1p(e^-745 + e^-800) rounds to −2^-1074.
    expectClose(forward([[0, -720]]), [-2.0322308024e-313, -720]);
    expectClose(forward([[0, -745, -800]]), [-5e-324, -745, -800]);
  });

  it('gives −log 2 to tied pairs and −log n to a constant row', () => {
    expectClose(forward([[2, 2]]), [-0.6931471805599453, -0.6931471805599453]);
    expectClose(forward([[7, 7, 7, 7]]), Array(4).fill(-1.3862943611198906));
  });

  it('matches mpmath on an ordinary row', () => {
    expectClose(forward([[0.5, -1.25, 3, 2.75]]), [-3.128688664544174, -4.878688664544174, -0.6286886645441739, -0.8786886645441739]);
  });

  it('treats −Infinity as a masked logit', () => {
    const y = forward([[0, -Infinity, 0]]);
    expectClose(y, [-Math.LN2, -Infinity, -Math.LN2]);
  });

  it('gives NaN rows for NaN, +Infinity, or only −Infinity (x − max is NaN there, as PyTorch)', () => {
    for (const row of [[NaN, 1, 2], [1, Infinity, 2], [-Infinity, -Infinity, -Infinity]]) {
      expect(forward([row]).every(Number.isNaN), String(row)).toBe(true);
      expect(backward([row], [[1, 1, 1]]).every(Number.isNaN), String(row)).toBe(true);
    }
  });

  it('rows are independent', () => {
    // −log 3 correctly rounded (V8's Math.log(3) is 1 ULP off: …096).
    expectClose(forward([[1000, 0, -1000], [NaN, 0, 0], [2, 2, 2]]).slice(6), Array(3).fill(-1.0986122886681098));
  });
});

describe('log_softmax backward', () => {
  it('matches mpmath on an ordinary row', () => {
    expectClose(backward([[0.5, -1.25, 3, 2.75]], [[0.25, -1, 0.5, 2]]), [0.1733934637781344, -1.0133122198933529, -0.4332586648732897, 1.2731774209885083]);
  });

  it('keeps 1 − p_max when it is subnormal: dy_max·u − Σ_{j≠max} dy_j, not dy − p·Σdy', () => {
    expectClose(backward([[0, -720]], [[1, 0]]), [2.0322308024e-313, -2.0322308024e-313]);
  });

  it('is dy − softmax·Σdy: zero for a constant dy', () => {
    expectClose(backward([[0.3, -2, 5]], [[0, 0, 0]]), [0, 0, 0]);
    // dy = 1 everywhere: dx = 1 − 3·p.
    const dx = backward([[0, 0, 0]], [[1, 1, 1]]);
    expectClose(dx, [0, 0, 0]);
  });

  it('passes dy through at a masked logit', () => {
    expectClose(backward([[0, -Infinity]], [[0.5, 2]]), [-2, 2]);
  });

  it('uses IEEE arithmetic where dy is not finite', () => {
    const dx = backward([[0, 1]], [[Infinity, 0]]);
    expect(dx[1]).toBe(-Infinity);
  });

  it('keeps e_j·dy exact in the exact pass for logits 1300 apart and dy near 1e303 (mpmath, 700 digits)', () => {
    // unscale took h·2^-1074 first and lost the product's bits (-1.9877531669469295e-265); dy from 2^990 up also
    // overflowed the fast pass.
    const dx = backward([[1307.1407791876522, 5e-324, 0]], [[0, 9.602624044173637e302, 5e-324]]);
    expectClose(dx, [-9.602624044173637e302, 9.602624044173637e302, -1.9877531669469298e-265]);
  });

  it('keeps e_j·Σdy exact next to the subnormals: logits 1395 apart with dy near 2e298 (mpmath, 900 digits)', () => {
    // e_2·Σdy lay below 2^-1022 in the exact pass's sum and lost its low bits (-3.268584960037649e-308).
    const dx = backward([[0, 1394.9061484858762, 0, 0]], [[2.062542177684212e298, 0, -2.5e-323, 3.273390607896142e150]]);
    expectClose(dx, [2.062542177684212e298, -2.062542177684212e298, -3.2685849600376505e-308, 3.273390607896142e150]);
  });

  it('forms dy_max·u at a scale of its own for logits 1135 apart: a subnormal result rounded once (mpmath, 900 digits)', () => {
    // u·2^600 and dy_max·u both lay below the normal range (2.858028934385e-312, three units off).
    expectClose(backward([[0, -1135.0864068919493]], [[2.617156045334462e181, 0]]), [2.85802893437e-312, -2.85802893437e-312]);
  });

  it('keeps u near the smallest normal double exact: 1 − p_max for logits 708 apart (mpmath, 700 digits)', () => {
    // u = e^-707.88 unscaled lost its low bits in the exact pass (7.172879653090343e-306).
    expectClose(backward([[707.8772803619903, 5e-324]], [[191.8184026737251, 0]]), [7.172879653090342e-306, -7.172879653090342e-306]);
  });

  it('gives dy where the probability underflows even when Σdy overflows, not 0·Infinity = NaN', () => {
    // dx_i = dy_i − p_i·Σdy with Σdy = −4·MAX: p_i·Σdy is below 2^-600 for the first two, 7e4 for the third,
    // and the fourth overflows (−MAX + 4·MAX).
    const M = Number.MAX_VALUE;
    expect(backward([[-1356, -700, 0, 700]], [[-M, -M, -M, -M]])).toEqual([-M, -M, -M, Infinity]);
  });
});

describe('log_softmax properties', () => {
  const row = fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 2, maxLength: 12 });

  it('equals log ∘ softmax (softmax(x) = softmin(−x)) to a few ULP where p ≤ ½', () => {
    fc.assert(
      fc.property(row, (x) => {
        const y = forward([x]);
        const { out: p } = runForward(softmin, { x: Float64Array.from(x, (v) => -v), rows: 1, cols: x.length, params: {}, dtype: 'float64' });
        p.forEach((pi, i) => {
          if (pi <= 0.5 && pi > 1e-300) expect(ulpError(Math.log(pi), y[i], 'float64'), `x=${x} i=${i}`).toBeLessThanOrEqual(4);
        });
      }),
    );
  });

  it('is invariant under adding a constant to the row (exactly, when the shift is exact)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 2, maxLength: 10 }), fc.integer({ min: -1000, max: 1000 }), (x, c) => {
        expectClose(forward([x.map((v) => v / 8 + c)]), forward([x.map((v) => v / 8)]));
      }),
    );
  });

  it('exponentiates to a distribution: Σ e^y = 1 to a few ULP', () => {
    fc.assert(
      fc.property(row, (x) => {
        const s = forward([x]).reduce((a, v) => a + Math.exp(v), 0);
        expect(Math.abs(s - 1)).toBeLessThanOrEqual(x.length * 2 ** -51);
      }),
    );
  });

  it('backward rows sum to Σdy·(1 − Σp) = 0 up to rounding', () => {
    fc.assert(
      fc.property(row, fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 12, maxLength: 12 }), (x, d) => {
        const dy = x.map((_, i) => d[i]);
        const dx = backward([x], [dy]);
        const scale = dy.reduce((a, v) => a + Math.abs(v), 0);
        expect(Math.abs(dx.reduce((a, v) => a + v, 0))).toBeLessThanOrEqual(4 * x.length * 2 ** -53 * Math.max(scale, 1e-300));
      }),
    );
  });

  it('float32 results are the float64 results rounded once', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 8 }), (x) => {
        const y64 = forward([x]);
        const y32 = forward([x], 'float32');
        y32.forEach((v, i) => expect(v).toBe(Math.fround(y64[i])));
      }),
    );
  });
});
