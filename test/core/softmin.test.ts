/**
 * softmin: special values (mpmath at 1200 digits, correctly rounded), the
 * identity softmin(x) = softmax(−x) bit for bit, rows summing to 1.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { softmaxBackward, softmaxForward } from '../../src/core/rows/softmax-family.js';
import { ulpError } from '../helpers/golden.js';

const softmin = getActivation('softmin')!;

function forward(x: number[][]): number[] {
  const { out } = runForward(softmin, { x: Float64Array.from(x.flat()), rows: x.length, cols: x[0].length, params: {}, dtype: 'float64' });
  return Array.from(out);
}

function backward(x: number[][], dy: number[][]): number[] {
  const { dx } = runBackward(softmin, {
    x: Float64Array.from(x.flat()),
    dy: Float64Array.from(dy.flat()),
    rows: x.length,
    cols: x[0].length,
    params: {},
    dtype: 'float64',
  });
  return Array.from(dx);
}

function expectClose(got: number[], want: number[], ulps = 0): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(ulpError(g, want[i], 'float64'), `element ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(ulps));
}

describe('softmin special values', () => {
  it('weights the smallest entry: huge logits give an exact one-hot', () => {
    expectClose(forward([[1000, 0, -1000]]), [0, 0, 1]);
  });

  it('rounds a subnormal probability once', () => {
    expectClose(forward([[0, 720]]), [1, 2.0322308024e-313]);
  });

  it('splits ties evenly', () => {
    expectClose(forward([[3, 3, 3, 3]]), [0.25, 0.25, 0.25, 0.25]);
    expectClose(forward([[-5, 1, -5]]), [0.4993810790316821, 0.0012378419366357767, 0.4993810790316821]);
  });

  it('matches mpmath on an ordinary row, forward and backward', () => {
    const x = [[0.5, -1.25, 3, 2.75]];
    expectClose(forward(x), [0.14404890266015893, 0.8289442007238396, 0.011824253976633278, 0.015182642639368228]);
    expectClose(backward(x, [[0.25, -1, 0.5, 2]]), [-0.14500748512799316, 0.20171978894638878, -0.014859002711344663, -0.041853301107050954]);
  });

  it('gives +Infinity weight 0 (e^−∞ = 0); −Infinity or NaN make the row NaN', () => {
    expectClose(forward([[Infinity, 1, 1]]), [0, 0.5, 0.5]);
    expect(forward([[-Infinity, 1, 1]]).every(Number.isNaN)).toBe(true);
    expect(forward([[NaN, 1, 1]]).every(Number.isNaN)).toBe(true);
  });

  it('backward of a one-hot output is zero', () => {
    expectClose(backward([[1000, 0, -1000]], [[1, 2, 3]]), [0, 0, 0]);
  });

  it('backward keeps y_max·(dy_max − ⟨dy, y⟩) when 1 − y_max is subnormal', () => {
    // y = (1 − ε, ε), ε = e^-720/(1 + e^-720); for dy = (1, 0): dx = −y ⊙ (dy − ⟨dy, y⟩) = (−ε(1 − ε), ε(1 − ε)).
    expectClose(backward([[0, 720]], [[1, 0]]), [-2.0322308024e-313, 2.0322308024e-313]);
  });
});

describe('softmin properties', () => {
  const row = fc.array(fc.double({ min: -800, max: 800, noNaN: true }), { minLength: 1, maxLength: 12 });
  const dyRow = fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 12, maxLength: 12 });

  it('softmin(x) = softmax(−x) bit for bit, forward and backward (the row kernel on −x)', () => {
    fc.assert(
      fc.property(row, dyRow, (x, d) => {
        const n = x.length;
        const neg = Float64Array.from(x, (v) => -v);
        const want = new Float64Array(n);
        softmaxForward(neg, 1, n, 1, want);
        expect(forward([x])).toEqual(Array.from(want));
        const dy = Float64Array.from(x, (_, i) => d[i]);
        const dxSoftmax = new Float64Array(n);
        softmaxBackward(neg, dy, 1, n, 1, dxSoftmax);
        // d softmin(x)/dx = −(d softmax/dx)(−x).
        expect(backward([x], [Array.from(dy)])).toEqual(Array.from(dxSoftmax, (v) => -v));
      }),
    );
  });

  it('rows sum to 1 to within a few ULP, and every entry is in [0, 1]', () => {
    fc.assert(
      fc.property(row, (x) => {
        const y = forward([x]);
        let s = 0;
        let c = 0;
        for (const v of y) {
          expect(v >= 0 && v <= 1).toBe(true);
          const t = s + v;
          c += Math.abs(s) >= v ? s - t + v : v - t + s;
          s = t;
        }
        expect(Math.abs(s + c - 1)).toBeLessThanOrEqual(x.length * 2 ** -53);
      }),
    );
  });

  it('backward is orthogonal to the constant direction: Σ dx = 0 up to rounding', () => {
    fc.assert(
      fc.property(row, dyRow, (x, d) => {
        const dy = x.map((_, i) => d[i]);
        const dx = backward([x], [dy]);
        const scale = dx.reduce((a, v) => a + Math.abs(v), 0);
        expect(Math.abs(dx.reduce((a, v) => a + v, 0))).toBeLessThanOrEqual(2 * x.length * 2 ** -53 * scale + 1e-300);
      }),
    );
  });
});
