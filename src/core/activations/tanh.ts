import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd } from '../numeric/dd.js';
import { expSplit, scaleRoundMul } from '../numeric/exp.js';
import { mulRoundSub } from '../smooth/round.js';
import { sech2X, tanhX } from '../smooth/tanh.js';

/**
 * Hyperbolic tangent.
 *
 * Forward: tanh|x| = −u/(2 + u) with u = expm1(−2|x|) in double-double
 * (`smooth/tanh.ts`), the sign restored after: one exponential, nothing
 * cancels, no overflow; rounds to x for |x| < 2^-27 and to ±1 for |x| > 22.
 * Backward: dy·sech²x with sech²x = 4E/(1 + E)², E = e^(−2|x|), rounded once
 * with dy; never 1 − tanh²x, which is 0 from |x| ≈ 19 on. For |x| > 345 the
 * derivative nears the subnormal range: formed as mantissa·2^k and rounded
 * once.
 */
export const tanh = defineActivation({
  name: 'tanh',
  title: 'Hyperbolic tangent',
  summary: 'Squashes every input into (−1, 1), symmetrically about 0.',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\tanh x = \\frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}',
  derivative: "\\tanh' x = 1 - \\tanh^2 x = \\operatorname{sech}^2 x",
  metadata: {
    range: [-1, 1],
    zeroCentred: true,
    monotonic: true,
    smooth: true,
    bounded: true,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Zero-centred and odd, so the next layer sees inputs without a mean shift; trains faster than the sigmoid for that reason.',
      'Its gradient is 1 at the origin, four times the sigmoid’s, so signals shrink less through each layer.',
      'Bounded and smooth: the usual choice for recurrent state (LSTM and GRU cells).',
    ],
    cons: [
      'Saturates for |x| beyond about 3: the gradient sech²x vanishes and deep stacks learn slowly.',
      'Costs an exponential per element, far more than a ReLU comparison.',
    ],
    references: [
      { title: 'LeCun, Bottou, Orr & Müller (1998), Efficient BackProp', url: 'http://yann.lecun.com/exdb/publis/pdf/lecun-98b.pdf' },
      { title: 'PyTorch documentation, torch.nn.Tanh', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html' },
    ],
  },
  example: { inputs: [[-20, -1, 0, 1e-8, 1, 20]] },
  forward({ x, out }) {
    for (let i = 0; i < x.length; i++) out[i] = tanhX(x[i]);
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const a = Math.abs(v);
      const g = dy[i];
      if (a <= 345) {
        dx[i] = mulRoundSub(g, sech2X(v), dd.lo);
      } else if (a <= 1e5) {
        // sech²x = 4E(1 − 2E + …), E = e^(−2|x|) < 2^-995: 4E alone, scaled once.
        const m = expSplit(-2 * a, 0);
        const k = dd.k;
        dx[i] = scaleRoundMul(m, dd.lo, k + 2, g);
      } else {
        dx[i] = v === v ? g * 0 : NaN;
      }
    }
    return undefined;
  },
});
