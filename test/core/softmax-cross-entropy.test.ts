/**
 * softmax_cross_entropy: special values (mpmath at 1200 digits, correctly
 * rounded), targets as class indices and as probability rows agreeing, the
 * shape checks, and the dloss sources.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { ulpError } from '../helpers/golden.js';

const sce = getActivation('softmax_cross_entropy')!;
type Targets = number[] | number[][];

function loss(x: number[][], targets: Targets | undefined): number[] {
  const params = targets === undefined ? {} : { targets };
  const { out } = runForward(sce, { x: Float64Array.from(x.flat()), rows: x.length, cols: x[0].length, params, dtype: 'float64' });
  return Array.from(out);
}

function grad(x: number[][], targets: Targets | undefined, dloss?: number[], gradLoss?: (number | string)[]): number[] {
  const params: Record<string, unknown> = targets === undefined ? {} : { targets };
  if (gradLoss) params.grad_loss = gradLoss;
  const { dx } = runBackward(sce, {
    x: Float64Array.from(x.flat()),
    dy: Float64Array.from(dloss ?? x.map(() => 1)),
    rows: x.length,
    cols: x[0].length,
    params,
    dtype: 'float64',
  });
  return Array.from(dx);
}

function expectClose(got: number[], want: number[], ulps = 0): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(ulpError(g, want[i], 'float64'), `element ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(ulps));
}

describe('softmax_cross_entropy forward', () => {
  it('is finite and exact for huge logits', () => {
    const x = [[1000, 0, -1000]];
    expectClose(loss(x, [0]), [0]);
    expectClose(loss(x, [2]), [2000]);
    expectClose(loss(x, [[0.5, 0.5, 0]]), [500]);
  });

  it('rounds a tiny soft target\'s loss once: t·log 2 just above the smallest normal double (mpmath)', () => {
    // t·L's low part was subnormal (2.2982969454064656e-308).
    expectClose(loss([[5e-324, 0]], [[3.315741605628161e-308, 0]]), [2.298296945406466e-308]);
  });

  it('stays finite for logits far beyond Dekker\'s split (L − x_i above 2^995 gave NaN)', () => {
    expectClose(loss([[1e305, 1]], [1]), [1e305]);
    expectClose(loss([[1e300, -1e300]], [1]), [2 * 1e300]);
    expectClose(loss([[1e300, -1e300]], [[0.5, 0.5]]), [1e300]);
  });

  it('keeps a confident right answer’s tiny loss, down to the subnormals', () => {
    expectClose(loss([[0, -720]], [0]), [2.0322308024e-313]);
    expectClose(loss([[0, -720]], [[1, 0]]), [2.0322308024e-313]);
  });

  it('matches mpmath with a class index and with a soft target', () => {
    const x = [[0.5, -1.25, 3, 2.75]];
    expectClose(loss(x, [1]), [4.878688664544174]);
    expectClose(loss(x, [[0.25, 0, 0.5, 0.25]]), [1.3161886645441738]);
  });

  it('is +Infinity when the target sits on a −Infinity logit, finite when it does not', () => {
    expectClose(loss([[0, -Infinity]], [1]), [Infinity]);
    expectClose(loss([[0, -Infinity]], [0]), [0]);
    expectClose(loss([[0, -Infinity, 0]], [[0.5, 0, 0.5]]), [Math.LN2]);
  });

  it('is NaN for a row with NaN or +Infinity', () => {
    expect(Number.isNaN(loss([[NaN, 0]], [1])[0])).toBe(true);
    expect(Number.isNaN(loss([[Infinity, 0]], [0])[0])).toBe(true);
  });

  it('without targets (only possible from code) uses the uniform distribution', () => {
    expectClose(loss([[1, 2, 3]], undefined), loss([[1, 2, 3]], [[1 / 3, 1 / 3, 1 / 3]]));
  });
});

describe('softmax_cross_entropy backward', () => {
  it('matches mpmath: (softmax − t)·dloss', () => {
    const x = [[0.5, -1.25, 3, 2.75]];
    expectClose(grad(x, [1], [0.5]), [0.02188758177767589, -0.4961965086018992, 0.2666453328209399, 0.20766359400328338]);
    expectClose(grad(x, [[0.25, 0, 0.5, 0.25]]), [-0.20622483644464823, 0.007606982796201686, 0.0332906656418798, 0.16532718800656673]);
  });

  it('keeps p_max − 1 = −u/S when it is subnormal', () => {
    expectClose(grad([[0, -720]], [0]), [-2.0322308024e-313, 2.0322308024e-313]);
  });

  it('rounds (p − t)·dloss once where the product falls just above the smallest normal double (mpmath)', () => {
    // A soft target of 5.6e-164 beside p_0 = 1e-164, dloss 5.6e-145: the product's low part is below the subnormals.
    const dx = grad([[0, 377.64041928124504, 0]], [[5.592066632152444e-164, 0, 0]], [5.555026481533201e-145]);
    expectClose(dx, [-2.5599761100675315e-308, 5.555026481533201e-145, 5.46431712742969e-309]);
  });

  it('rounds p_max − 1 = −u/S once for logits 1160 apart and dloss 1.9e197 (mpmath)', () => {
    // u = e^-1159.9 is 2^-1673: kept as u·2^600, it lay among the subnormals with few bits (5.3e-307 for 3.6e-307).
    expect(grad([[1159.8585339749006, 0]], [0], [-1.8690697459816663e197])).toEqual([3.5601181736115222e-307, -3.5601181736115222e-307]);
  });

  it('takes dloss from grad_loss when given (one number per row, JSON strings for non-finite values)', () => {
    const x = [[0.5, -1.25, 3, 2.75], [1, 1, 1, 1]];
    const viaDy = grad(x, [1, 0], [0.5, -2]);
    expect(grad(x, [1, 0], [1, 1], [0.5, -2])).toEqual(viaDy);
    expect(grad(x, [1, 0], undefined, [0.5, 'NaN']).slice(4).every(Number.isNaN)).toBe(true);
  });

  it('is zero where dloss is 0, and exact on a uniform row', () => {
    expectClose(grad([[3, -2]], [0], [0]), [0, 0]);
    expectClose(grad([[1, 1, 1, 1]], [2]), [0.25, 0.25, -0.75, 0.25]);
  });
});

describe('softmax_cross_entropy targets', () => {
  const row = fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 2, maxLength: 10 });

  it('a one-hot probability row and its class index agree bit for bit', () => {
    fc.assert(
      fc.property(row, fc.nat(), fc.double({ min: -3, max: 3, noNaN: true }), (x, k, d) => {
        const c = k % x.length;
        const oneHot = x.map((_, j) => (j === c ? 1 : 0));
        expect(loss([x], [[...oneHot]])).toEqual(loss([x], [c]));
        expect(grad([x], [oneHot], [d])).toEqual(grad([x], [c], [d]));
      }),
    );
  });

  it('a soft target is the t-weighted sum of the class losses (to rounding)', () => {
    fc.assert(
      fc.property(row, fc.array(fc.integer({ min: 0, max: 16 }), { minLength: 10, maxLength: 10 }), (x, w) => {
        const weights = x.map((_, j) => w[j]);
        const total = weights.reduce((a, b) => a + b, 0);
        if (total === 0) return;
        const t = weights.map((v) => v / total);
        const soft = loss([x], [t])[0];
        const mixed = t.reduce((a, tj, j) => a + tj * loss([x], [j])[0], 0);
        expect(Math.abs(soft - mixed)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(mixed)));
      }),
    );
  });

  it('the gradient sums to (Σp − Σt)·dloss = 0 over the row, to rounding', () => {
    fc.assert(
      fc.property(row, fc.nat(), (x, k) => {
        const dx = grad([x], [k % x.length]);
        expect(Math.abs(dx.reduce((a, v) => a + v, 0))).toBeLessThanOrEqual(4 * x.length * 2 ** -53);
      }),
    );
  });
});

describe('softmax_cross_entropy shape checks', () => {
  const check = (targets: unknown, rows: number, cols: number, gradLoss?: unknown) =>
    sce.checkShape?.({ targets, ...(gradLoss ? { grad_loss: gradLoss } : {}) } as never, rows, cols);

  it('accepts one class index per row, or one probability row per row', () => {
    expect(check([0, 2], 2, 3)).toBeUndefined();
    expect(check([[0.1, 0.2, 0.7], [0, 0, 1]], 2, 3)).toBeUndefined();
  });

  it('names /targets when the length is wrong', () => {
    expect(check([0], 2, 3)).toEqual({ path: '/targets', message: 'expected one target per row (2), got 1' });
  });

  it('names the bad entry: index out of range, wrong width, value outside [0, 1], sum not 1', () => {
    expect(check([0, 3], 2, 3)?.path).toBe('/targets/1');
    expect(check([[0.5, 0.5]], 1, 3)?.path).toBe('/targets/0');
    expect(check([[1.5, -0.5, 0]], 1, 3)?.path).toBe('/targets/0/0');
    expect(check([[0.5, 0.25, 0]], 1, 3)).toEqual({
      path: '/targets/0',
      message: 'a probability row must sum to 1 (within 0.000001), this one sums to 0.75',
    });
  });

  it('names /grad_loss when it does not hold one number per row', () => {
    expect(check([0, 1], 2, 3, [1])).toEqual({ path: '/grad_loss', message: 'expected one number per row (2), got 1' });
  });

  it('has one output column', () => {
    expect(sce.outputCols?.(7, {} as never)).toBe(1);
  });
});
