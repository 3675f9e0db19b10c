import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, divDD, mulDD, twoSum } from '../numeric/dd.js';
import { mulRoundSub } from '../smooth/round.js';

const HUGE = 2 ** 60;

/**
 * Softsign, x/(1 + |x|).
 *
 * 1 + |x| is kept exact as a double-double (TwoSum), and the quotient is
 * formed in double-double and rounded once, so the result is correctly
 * rounded (a plain x/(1 + |x|) rounds twice). |x| ≥ 2^60 gives ±1.
 * Backward dy/(1 + |x|)², the reciprocal squared in double-double and the
 * product with dy rounded once; for |x| ≥ 1e150, where (1 + |x|)² would
 * overflow, (dy/|x|)/|x|.
 */
export const softsign = defineActivation({
  name: 'softsign',
  title: 'Softsign',
  summary: 'Squashes into (−1, 1) like tanh, but with polynomial tails: x/(1 + |x|).',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{softsign}(x) = \\frac{x}{1 + |x|}',
  derivative: "\\operatorname{softsign}'(x) = \\frac{1}{(1 + |x|)^2}",
  metadata: {
    range: [-1, 1],
    zeroCentred: true,
    monotonic: true,
    smooth: false,
    bounded: true,
    kinks:
      'None in the first derivative: 1/(1 + |x|)² is continuous and equals 1 at x = 0. The second derivative jumps from 2 to −2 there, so it is C¹, not smooth.',
    pros: [
      'Approaches ±1 polynomially, so its gradient decays like 1/x² instead of exponentially: it saturates later than tanh.',
      'Zero-centred and odd, like tanh.',
      'No exponential: one addition and one division per element.',
    ],
    cons: [
      'Still saturates: the gradient goes to 0 for large |x|.',
      'Not twice differentiable at 0, and far less used than tanh, so there are fewer tuned recipes.',
    ],
    references: [
      { title: 'Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward neural networks', url: 'https://proceedings.mlr.press/v9/glorot10a.html' },
      { title: 'PyTorch documentation, torch.nn.Softsign', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Softsign.html' },
    ],
  },
  example: { inputs: [[-100, -1, 0, 1, 100]] },
  forward({ x, out }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const a = Math.abs(v);
      if (v === 0) {
        out[i] = v; // ±0, sign kept
      } else if (a < HUGE) {
        const d = twoSum(1, a);
        out[i] = divDD(v, 0, d, dd.lo);
      } else {
        out[i] = v === v ? (v > 0 ? 1 : -1) : NaN;
      }
    }
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const a = Math.abs(v);
      const g = dy[i];
      if (a < 1e150) {
        const d = twoSum(1, a);
        const q = divDD(1, 0, d, dd.lo);
        const q2 = mulDD(q, dd.lo, q, dd.lo);
        dx[i] = mulRoundSub(g, q2, dd.lo);
      } else {
        dx[i] = v === v ? g / a / a : NaN;
      }
    }
    return undefined;
  },
});
