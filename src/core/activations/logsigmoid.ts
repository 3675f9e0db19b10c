import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd } from '../numeric/dd.js';
import { expSplit, scaleRound, scaleRoundMul } from '../numeric/exp.js';
import { sigmoidX, softplusX } from '../smooth/logistic.js';
import { mulRoundSub } from '../smooth/round.js';

/**
 * Log-sigmoid, log σ(x) = −softplus(−x), exact in both tails.
 *
 * −(max(−x, 0) + log1p(e^(−|x|))) in double-double (`smooth/logistic.ts`),
 * rounded once: x < −40 gives x (the correction is below 2^-60 of x), and for
 * x > 700 the result −e^(−x) is scaled into the subnormal range with one
 * rounding, so logsigmoid(40) is −4.248e-18 and logsigmoid(745) is −5e-324,
 * not 0. Backward dy·σ(−x), rounded once, the same way in the tail.
 */
export const logsigmoid = defineActivation({
  name: 'logsigmoid',
  title: 'Log-sigmoid',
  summary: 'The logarithm of the logistic sigmoid, −log(1 + e^(−x)): negative everywhere, close to min(0, x).',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\log\\sigma(x) = -\\log\\bigl(1 + e^{-x}\\bigr) = -\\operatorname{softplus}(-x)',
  derivative: "\\frac{d}{dx}\\log\\sigma(x) = \\sigma(-x) = \\frac{1}{1 + e^{x}}",
  metadata: {
    range: ['-Infinity', 0],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: [
      'The log-probability of a logistic output without underflow: log(1/(1 + e^−x)) computed naively is −Infinity from x ≈ −709.8 on (e^−x overflows), and from −745 even with a stable σ.',
      'Smooth, with gradient σ(−x) in (0, 1) that is never exactly zero.',
      'The building block of binary cross-entropy and of log-likelihoods of logistic models.',
    ],
    cons: [
      'Not zero-centred: every output is negative.',
      'The gradient vanishes for large positive inputs.',
      'An exponential and a logarithm per element; rarely used as a hidden-layer activation.',
    ],
    references: [
      { title: 'PyTorch documentation, torch.nn.LogSigmoid', url: 'https://pytorch.org/docs/stable/generated/torch.nn.LogSigmoid.html' },
      { title: 'Mächler (2012), Accurately Computing log(1 − exp(−|a|))', url: 'https://cran.r-project.org/web/packages/Rmpfr/vignettes/log1mexp-note.pdf' },
    ],
  },
  example: { inputs: [[-40, -1, 0, 1, 40, 745]] },
  forward({ x, out }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < -40) {
        out[i] = v;
      } else if (v <= 700) {
        out[i] = -softplusX(-v, 0);
      } else if (v <= 1e5) {
        const m = expSplit(-v, 0);
        const k = dd.k;
        out[i] = -scaleRound(m, dd.lo, k);
      } else {
        out[i] = v === v ? -0 : NaN;
      }
    }
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const g = dy[i];
      if (v < -40) {
        dx[i] = g; // σ(−x) = 1 − e^x with e^x < 2^-57: rounds to 1
      } else if (v <= 700) {
        dx[i] = mulRoundSub(g, sigmoidX(-v, 0), dd.lo);
      } else if (v <= 1e5) {
        const m = expSplit(-v, 0);
        const ml = dd.lo;
        const k = dd.k;
        dx[i] = scaleRoundMul(m, ml, k, g);
      } else {
        dx[i] = v === v ? g * 0 : NaN;
      }
    }
    return undefined;
  },
});
