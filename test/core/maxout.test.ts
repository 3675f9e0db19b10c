/**
 * maxout: groups without weights, learnable pieces with weights; gradients
 * against finite differences and closed forms; compensated sums.
 */
import fc from 'fast-check';
import { uniformIn } from '../helpers/reference.js';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { outputCols, runBackward, runForward } from '../../src/core/batch.js';

const maxout = getActivation('maxout')!;

interface P {
  pieces: number;
  weight?: number[][][];
  bias?: number[][];
}

function forward(x: number[][], params: P): number[] {
  const p = maxout.params.parse(params);
  const { out } = runForward(maxout, { x: Float64Array.from(x.flat()), rows: x.length, cols: x[0].length, params: p, dtype: 'float64' });
  return Array.from(out);
}

function backward(x: number[][], dy: number[][], params: P) {
  const p = maxout.params.parse(params);
  const { dx, gradParams } = runBackward(maxout, {
    x: Float64Array.from(x.flat()),
    dy: Float64Array.from(dy.flat()),
    rows: x.length,
    cols: x[0].length,
    params: p,
    dtype: 'float64',
  });
  return { dx: Array.from(dx), grads: gradParams as { weight: number[][][]; bias?: number[][] } | undefined };
}

describe('maxout without weights', () => {
  it('takes the maximum of each group of k consecutive inputs', () => {
    expect(forward([[1, 3, -2, -5, 0.5, 0.25]], { pieces: 2 })).toEqual([3, -2, 0.5]);
    expect(forward([[1, 3, -2, -5, 0.5, 0.25]], { pieces: 3 })).toEqual([3, 0.5]);
    expect(forward([[1, 3, -2]], { pieces: 1 })).toEqual([1, 3, -2]);
  });

  it('sends the gradient to the maximal piece, the lowest index on ties', () => {
    expect(backward([[1, 3, 5, 5, 2, 2]], [[10, 20, 30]], { pieces: 2 }).dx).toEqual([0, 10, 20, 0, 30, 0]);
    expect(backward([[1, 3]], [[10]], { pieces: 2 }).grads).toBeUndefined();
  });

  it('handles infinities and spreads NaN within its group only', () => {
    expect(forward([[-Infinity, -Infinity, Infinity, 1]], { pieces: 2 })).toEqual([-Infinity, Infinity]);
    const y = forward([[1, NaN, 2, 3]], { pieces: 2 });
    expect(Number.isNaN(y[0])).toBe(true);
    expect(y[1]).toBe(3);
    const { dx } = backward([[1, NaN, 2, 3]], [[1, 1]], { pieces: 2 });
    expect(dx[0]).toBe(0);
    expect(Number.isNaN(dx[1])).toBe(true);
    expect(dx.slice(2)).toEqual([0, 1]);
  });

  it('rejects a width that pieces does not divide (a 400 naming /inputs)', () => {
    expect(maxout.checkShape?.(maxout.params.parse({ pieces: 2 }) as never, 1, 5)).toEqual({
      path: '/inputs',
      message: 'without weights the row width must be divisible by pieces = 2; it is 5',
    });
    expect(maxout.checkShape?.(maxout.params.parse({ pieces: 2 }) as never, 1, 6)).toBeUndefined();
  });

  it('requires pieces, a positive integer', () => {
    expect(maxout.params.safeParse({}).success).toBe(false);
    expect(maxout.params.safeParse({ pieces: 0 }).success).toBe(false);
    expect(maxout.params.safeParse({ pieces: 1.5 }).success).toBe(false);
  });
});

describe('maxout with weights', () => {
  // k = 2 pieces, cols = 3, units = 2.
  const weight = [
    [[1, 0], [0, 1], [1, 1]],
    [[-1, 2], [0.5, 0], [0, -1]],
  ];
  const bias = [[0, 0.5], [1, 0]];
  const params: P = { pieces: 2, weight, bias };

  it('computes z_ij = x·W_i[:, j] + b_ij and takes the maximum over i', () => {
    // x = (1, 2, 3): z_0 = (4, 5.5), z_1 = (1, -1): out = (4, 5.5). x = (-2, 0, 0): z_0 = (-2, 0.5), z_1 = (3, -4): out = (3, 0.5).
    expect(forward([[1, 2, 3], [-2, 0, 0]], params)).toEqual([4, 5.5, 3, 0.5]);
    expect(outputCols(maxout, 3, maxout.params.parse(params))).toBe(2);
  });

  it('returns dx, dW and db summed over the batch, routed through the winning pieces', () => {
    const { dx, grads } = backward([[1, 2, 3], [-2, 0, 0]], [[1, 10], [100, 1000]], params);
    // Row 0: both units won by piece 0: dx = 1·W_0[:,0] + 10·W_0[:,1] = (1, 10, 11).
    // Row 1: unit 0 won by piece 1, unit 1 by piece 0: dx = 100·W_1[:,0] + 1000·W_0[:,1] = (-100, 1050, 1000).
    expect(dx).toEqual([1, 10, 11, -100, 1050, 1000]);
    expect(grads!.weight).toEqual([
      [[1, 10 + 1000 * -2], [2, 20], [3, 30]],
      [[100 * -2, 0], [0, 0], [0, 0]],
    ]);
    expect(grads!.bias).toEqual([[1, 1010], [100, 0]]);
  });

  it('omits db when no bias was sent (and treats the bias as zero)', () => {
    const { grads } = backward([[1, 2, 3]], [[1, 1]], { pieces: 2, weight });
    expect(grads!.bias).toBeUndefined();
    expect(forward([[1, 2, 3]], { pieces: 2, weight })).toEqual([4, 5]);
  });

  it('compensates the dot products: 1e16 + 1 − 1e16 is 1, not 0', () => {
    const w = [[[1], [1], [1]]];
    expect(forward([[1e16, 1, -1e16]], { pieces: 1, weight: w })).toEqual([1]);
    expect(backward([[1, 1, 1]], [[1]], { pieces: 2, weight: [[[1e16], [1], [-1e16]], [[-5], [-5], [-5]]] }).dx).toEqual([1e16, 1, -1e16]);
  });

  it('compensates the batch sums of dW and db', () => {
    const w = [[[1]]];
    const { grads } = backward([[1], [1], [1]], [[1e16], [1], [-1e16]], { pieces: 1, weight: w, bias: [[0]] });
    expect(grads!.weight).toEqual([[[1]]]);
    expect(grads!.bias).toEqual([[1]]);
  });

  it('dx, dW and db match central finite differences of Σ dy·y', () => {
    // Uniform draws: fc.double's cluster at 0 made the best pieces tie in 98% of draws, all rejected below.
    const gen = fc.record({
      x: fc.array(fc.array(uniformIn(-3, 3), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
      w: fc.array(fc.array(fc.array(uniformIn(-2, 2), { minLength: 2, maxLength: 2 }), { minLength: 3, maxLength: 3 }), {
        minLength: 3,
        maxLength: 3,
      }),
      b: fc.array(fc.array(uniformIn(-1, 1), { minLength: 2, maxLength: 2 }), { minLength: 3, maxLength: 3 }),
      d: fc.array(uniformIn(-2, 2), { minLength: 8, maxLength: 8 }),
    });
    fc.assert(
      fc.property(gen, ({ x, w, b, d }) => {
        // Away from ties between the two best pieces: a step of h there can switch winners in several rows at once,
        // and the switches can cancel, which the one-sided check below cannot see (seed 2065669641 found such a case).
        for (const row of x) {
          for (let j = 0; j < 2; j++) {
            const z = w.map((piece, k) => piece.reduce((sum, col, c) => sum + row[c] * col[j], b[k][j])).sort((p, q) => q - p);
            fc.pre(z[0] - z[1] > 1e-4);
          }
        }
        const dy = x.map((_, r) => [d[2 * r], d[2 * r + 1]]);
        const objective = (xx: number[][], ww: number[][][], bb: number[][]) =>
          forward(xx, { pieces: 3, weight: ww, bias: bb }).reduce((a, y, i) => a + y * dy.flat()[i], 0);
        const { dx, grads } = backward(x, dy, { pieces: 3, weight: w, bias: b });
        const h = 1e-6;
        const check = (analytic: number, plus: number, minus: number, where: string) => {
          const fd = (plus - minus) / (2 * h);
          // Maxout is piecewise linear: away from a switch of the winning piece the difference is exact up to rounding.
          const base = objective(x, w, b);
          const ahead = plus - base;
          const behind = base - minus;
          const oneSidedAgree = Math.abs(ahead - behind) <= 1e-6 * (Math.abs(ahead) + Math.abs(behind)) + 1e-14;
          if (oneSidedAgree) expect(Math.abs(fd - analytic), where).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(analytic)));
        };
        const clone3 = (a: number[][][]) => a.map((m) => m.map((r) => [...r]));
        const clone2 = (a: number[][]) => a.map((r) => [...r]);
        for (let r = 0; r < x.length; r++) {
          for (let c = 0; c < 3; c++) {
            const xp = clone2(x);
            const xm = clone2(x);
            xp[r][c] += h;
            xm[r][c] -= h;
            check(dx[r * 3 + c], objective(xp, w, b), objective(xm, w, b), `dx[${r}][${c}]`);
          }
        }
        for (let i = 0; i < 3; i++) {
          for (let j = 0; j < 2; j++) {
            for (let c = 0; c < 3; c++) {
              const wp = clone3(w);
              const wm = clone3(w);
              wp[i][c][j] += h;
              wm[i][c][j] -= h;
              check(grads!.weight[i][c][j], objective(x, wp, b), objective(x, wm, b), `dW[${i}][${c}][${j}]`);
            }
            const bp = clone2(b);
            const bm = clone2(b);
            bp[i][j] += h;
            bm[i][j] -= h;
            check(grads!.bias![i][j], objective(x, w, bp), objective(x, w, bm), `db[${i}][${j}]`);
          }
        }
      }),
      // Ties are set aside here (a tie case once failed this check: all-zero rows); the next test holds them.
      { numRuns: 50 },
    );
  });

  it('with weights, a tie of pieces sends every gradient to the lowest index', () => {
    const piece = [[1, 0], [0, 1], [1, 1]];
    const tied = { pieces: 3, weight: [piece, piece, piece], bias: [[0, 0], [0, 0], [0, 0]] };
    const { dx, grads } = backward([[1, 1, 1]], [[2, 3]], tied);
    expect(Array.from(dx)).toEqual([2, 3, 5]);
    expect(grads!.weight).toEqual([[[2, 3], [2, 3], [2, 3]], [[0, 0], [0, 0], [0, 0]], [[0, 0], [0, 0], [0, 0]]]);
    expect(grads!.bias).toEqual([[2, 3], [0, 0], [0, 0]]);
  });

  it('checks weight and bias shapes against the batch, naming the parameter', () => {
    const parse = (p: P) => maxout.params.parse(p) as never;
    expect(maxout.checkShape?.(parse(params), 2, 3)).toBeUndefined();
    expect(maxout.checkShape?.(parse({ pieces: 3, weight, bias }), 2, 3)?.path).toBe('/params/weight');
    expect(maxout.checkShape?.(parse(params), 2, 4)).toEqual({ path: '/params/weight/0', message: 'expected 4 rows (one per input column), got 3' });
    expect(maxout.checkShape?.(parse({ pieces: 2, weight: [weight[0], [[1, 2], [3], [4, 5]]] }), 2, 3)?.path).toBe('/params/weight/1/1');
    expect(maxout.checkShape?.(parse({ pieces: 2, weight, bias: [[0, 0]] }), 2, 3)?.path).toBe('/params/bias');
    expect(maxout.checkShape?.(parse({ pieces: 2, weight, bias: [[0, 0], [0]] }), 2, 3)?.path).toBe('/params/bias/1');
    expect(maxout.checkShape?.(parse({ pieces: 2, bias }), 2, 4)?.path).toBe('/params/bias');
    // With weights the width need not be divisible by pieces.
    expect(maxout.checkShape?.(parse({ pieces: 2, weight: [[[1]], [[2]]] }), 2, 1)).toBeUndefined();
  });
});
