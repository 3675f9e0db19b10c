/**
 * swish: special values (mpmath at 120 digits, rounded once), the root band
 * of swish′, β = 0, and dβ against its exact value and a finite difference in β.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { swish } from '../../src/core/activations/swish.js';
import { runBackward, runForward } from '../../src/core/batch.js';

const fwdAll = (x: number[], beta: number) =>
  runForward(swish, { x: Float64Array.from(x), rows: 1, cols: x.length, params: swish.params.parse({ beta }), dtype: 'float64' }).out;
const bwdAll = (x: number[], dy: number[], beta: number) =>
  runBackward(swish, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols: x.length, params: swish.params.parse({ beta }), dtype: 'float64' });
const fwd = (x: number, beta = 1) => fwdAll([x], beta)[0];
const bwd = (x: number, beta = 1, dy = 1) => bwdAll([x], [dy], beta).dx[0];

describe('swish special values', () => {
  it.each([
    [1, NaN, NaN, NaN],
    [1, Infinity, Infinity, 1],
    [1, -Infinity, -0, 0],
    [1, 0, 0, 0.5],
    [1, -0, -0, 0.5],
    [1, 1, 0.7310585786300049, 0.9276705118714867],
    [1, -40, -1.6993417021166355e-16, -1.6568581595637197e-16],
    [1, -745, -2.105e-321, -2.1e-321], // subnormal, rounded once
    [1, -1.2784645427610737, -0.2784645427610738, 2.3843834755243115e-17], // doubles around the root of swish′
    [1, -1.278464542761074, -0.2784645427610738, -2.452007938935708e-17],
    [0.75, -1.7, -0.3712843113659786, 0.0007563789848456495],
    [0.75, 3, 2.7139516053026713, 1.0987309100966571],
    [0.75, -1.704619390348098, -0.3712860570147651, 7.220774889984332e-17], // 0.75x within 2^-52 of the root
    [2, -1.7, -0.05490228998736587, -0.07396292533997909],
    [2, 3, 2.9925821305300957, 1.0123264325915255],
  ] as const)('beta %s: swish(%s) = %s, swish′ = %s', (beta, x, y, d) => {
    expect(fwd(x, beta)).toBe(y);
    expect(bwd(x, beta)).toBe(d);
  });

  it('β = 0 is x/2, also for infinite x', () => {
    expect(Array.from(fwdAll([3, -Infinity, Infinity, -0], 0))).toEqual([1.5, -Infinity, Infinity, -0]);
    const { dx, gradParams } = bwdAll([3, -1], [1, 2], 0);
    expect(Array.from(dx)).toEqual([0.5, 1]);
    expect(gradParams).toEqual({ beta: (1 * 9 + 2 * 1) / 4 });
  });
});

describe('swish dβ', () => {
  it('is the exact sum rounded once', () => {
    // mpmath: Σ dy·x²·σ(0.75x)σ(−0.75x) over x = [−1, 2, 0.5], dy = [1, −0.5, 2]
    const { dx, gradParams } = bwdAll([-1, 2, 0.5], [1, -0.5, 2], 0.75);
    expect(gradParams).toEqual({ beta: 0.040308540247624515 });
    expect(Array.from(dx)).toEqual([0.1574000555032465, -0.5206470771495715, 1.3663928758478538]);
    expect(Array.from(fwdAll([-1, 2, 0.5], 0.75))).toEqual([-0.320821300824607, 1.6351489523872873, 0.2963332999770349]);
  });

  it('matches a central finite difference in β', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -8, max: 8, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.double({ min: -3, max: 3, noNaN: true }),
        (x, dy, beta) => {
          const h = 1e-6 * Math.max(1, Math.abs(beta));
          const up = fwdAll(x, beta + h);
          const down = fwdAll(x, beta - h);
          let fd = 0;
          let scale = 0;
          for (let i = 0; i < x.length; i++) {
            fd += (dy[i] * (up[i] - down[i])) / (beta + h - (beta - h));
            scale += Math.abs(dy[i]) * x[i] * x[i];
          }
          const got = bwdAll(x, dy, beta).gradParams!.beta as number;
          expect(Math.abs(got - fd)).toBeLessThanOrEqual(1e-6 * Math.max(1, scale));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is NaN when an input is NaN, 0 for an empty contribution', () => {
    expect(Number.isNaN(bwdAll([1, NaN], [1, 1], 1.5).gradParams!.beta as number)).toBe(true);
    expect(bwdAll([0, 0], [1, 1], 1.5).gradParams).toEqual({ beta: 0 });
    expect(bwdAll([-Infinity, Infinity], [1, 1], 1.5).gradParams).toEqual({ beta: 0 }); // x²σ′(βx) → 0
  });
});
