import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { addDD, dd, ddFraction, mulDD, twoProd } from '../numeric/dd.js';
import { scaleRound, scaleRoundMul } from '../numeric/exp.js';
import { TANHSHRINK_SERIES as S, THIRD_H, THIRD_L } from '../smooth/constants.js';
import { mulRoundSub } from '../smooth/round.js';
import { tanhX } from '../smooth/tanh.js';

const [C5_H, C5_L] = ddFraction(-2, 15);
const HUGE = 2 ** 60;
const TINY = 2 ** -300;
const UP = 2 ** 100;

/**
 * Tanhshrink, x − tanh x, without cancellation.
 *
 * |x| < 1/4: the Taylor series x³/3 − 2x⁵/15 + 17x⁷/315 − … (to x^27, error
 * below 2^-62), with x³, 1/3 and the x⁵ term in double-double and the rest in
 * double, so tanhshrink(1e-8) is 3.333…e-25 to the last bit instead of 0.
 * |x| ≥ 1/4: x − tanh x with tanh x as a double-double (`smooth/tanh.ts`); the
 * subtraction cancels at most 2^6 of the 2^-61 relative accuracy of tanh.
 * |x| ≥ 2^60 gives x; |x| < 2^-300 gives x³/3 formed from x·2^100 and scaled
 * back with one rounding (the result is near or in the subnormal range).
 * Backward dy·tanh²x, tanh² in double-double, rounded once (dy·x², scaled,
 * for |x| < 2^-300).
 */
export const tanhshrink = defineActivation({
  name: 'tanhshrink',
  title: 'Tanh shrink',
  summary: 'x − tanh x: cubic and tiny near 0, close to x ∓ 1 for large |x|.',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{tanhshrink}(x) = x - \\tanh x',
  derivative: "\\operatorname{tanhshrink}'(x) = \\tanh^2 x",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: true,
    monotonic: true,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Shrinks small inputs towards 0 (cubically) while passing large ones almost unchanged: a smooth shrinkage, as in sparse-coding networks.',
      'Odd and zero-centred; the gradient tanh²x is never negative and tends to 1.',
    ],
    cons: [
      'The gradient near 0 is about x², so small activations barely learn.',
      'An exponential per element; rarely used as a hidden-layer activation.',
      'Computed naively as x − tanh(x) it loses every digit for small x (this service uses a series there).',
    ],
    references: [
      { title: 'PyTorch documentation, torch.nn.Tanhshrink', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Tanhshrink.html' },
      { title: 'Gregor & LeCun (2010), Learning Fast Approximations of Sparse Coding', url: 'https://icml.cc/Conferences/2010/papers/449.pdf' },
    ],
  },
  example: { inputs: [[-3, -1e-8, 0, 1e-8, 0.5, 3]] },
  forward({ x, out }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const a = Math.abs(v);
      if (v === 0) {
        out[i] = v; // ±0, sign kept
      } else if (a < TINY) {
        // x³/3 (the x⁵ term is below 2^-600 of it), formed from x·2^100 and
        // scaled back with one rounding: results near or in the subnormal range.
        // |x| is used and the sign applied last, so underflow gives a zero of x's sign.
        const u = a * UP;
        const sh = twoProd(u, u);
        const x3 = mulDD(sh, dd.lo, u, 0);
        const r = scaleRound(mulDD(x3, dd.lo, THIRD_H, THIRD_L), dd.lo, -300);
        out[i] = v < 0 ? -r : r;
      } else if (a < 0.25) {
        const sh = twoProd(v, v);
        const sl = dd.lo;
        const c = mulDD(sh, sl, C5_H, C5_L); // −2x²/15
        const cl = dd.lo;
        const rest =
          sh * sh *
          (S[1] + sh * (S[2] + sh * (S[3] + sh * (S[4] + sh * (S[5] + sh * (S[6] + sh * (S[7] + sh * (S[8] + sh * (S[9] + sh * (S[10] + sh * S[11]))))))))));
        const p = addDD(THIRD_H, THIRD_L, c, cl + rest);
        const pl = dd.lo;
        const x3 = mulDD(sh, sl, v, 0);
        out[i] = mulDD(x3, dd.lo, p, pl);
      } else if (a < HUGE) {
        const t = tanhX(v);
        out[i] = addDD(v, 0, -t, -dd.lo);
      } else {
        out[i] = v; // x ∓ 1 rounds to x (also ±Infinity, NaN)
      }
    }
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const g = dy[i];
      const a = Math.abs(v);
      if (a >= TINY) {
        const t = tanhX(v);
        const tl = dd.lo;
        dx[i] = mulRoundSub(g, mulDD(t, tl, t, tl), dd.lo);
      } else {
        // tanh²x = x²(1 − 2x²/3 + …) with x² < 2^-600: dy·x², from x·2^s, scaled once
        const s = a < 2 ** -500 ? 600 : 100;
        const u = v * 2 ** s;
        const sh = twoProd(u, u);
        dx[i] = scaleRoundMul(sh, dd.lo, -2 * s, g);
      }
    }
    return undefined;
  },
});
