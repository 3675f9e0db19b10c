import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd } from '../numeric/dd.js';
import { scaleRoundMul } from '../numeric/exp.js';
import { mishSide, mishSlope, mishValue } from '../smooth/mish.js';
import { mulRoundSub } from '../smooth/round.js';

/**
 * Mish, x·tanh(softplus(x)).
 *
 * No tanh and no log: with w = e^x, tanh(log(1 + w)) = w(w + 2)/(w² + 2w + 2)
 * exactly (in v = e^-x for x > 0), so forward and backward each take one
 * exponential and double-double arithmetic, rounded once (`smooth/mish.ts`).
 * The derivative tanh(sp) + x·sech²(sp)·σ(x) = w·h/D² has a numerator h that
 * cancels near the root x0 ≈ −1.1924 of mish′; within 1/16 of it h is
 * rewritten in t = x − x0 (x0 a triple-double) as a sum of terms that all
 * have the sign of t. Tails below x = −700 are scaled with one rounding.
 */
export const mish = defineActivation({
  name: 'mish',
  title: 'Mish',
  summary: 'x·tanh(softplus(x)): a smooth, non-monotonic self-gated activation, bounded below.',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{mish}(x) = x \\tanh\\bigl(\\operatorname{softplus}(x)\\bigr) = x \\tanh\\bigl(\\log(1 + e^{x})\\bigr)',
  derivative:
    "\\operatorname{mish}'(x) = \\tanh(s) + x\\,\\operatorname{sech}^2(s)\\,\\sigma(x),\\quad s = \\operatorname{softplus}(x)",
  metadata: {
    range: [-0.30884341301725043, 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Smooth and non-monotonic like swish, with a slightly deeper negative bump; moderately negative inputs keep a gradient.',
      'Unbounded above (no saturation for positive inputs) and bounded below (a mild regulariser).',
      'Reported gains over ReLU and swish in some vision models (YOLOv4 uses it in its backbone).',
    ],
    cons: [
      'Dearer than swish: the naive form needs an exponential, a logarithm and a tanh per element.',
      'Not monotonic and not zero-centred; the gradient vanishes for very negative inputs.',
    ],
    references: [
      { title: 'Misra (2019), Mish: A Self Regularized Non-Monotonic Activation Function', url: 'https://arxiv.org/abs/1908.08681' },
      { title: 'PyTorch documentation, torch.nn.Mish', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Mish.html' },
    ],
  },
  example: { inputs: [[-40, -1.1924312145154952, -1, 0, 1, 40]] },
  forward({ x, out }) {
    for (let i = 0; i < x.length; i++) out[i] = mishValue(x[i]);
  },
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const g = dy[i];
      const h = mishSlope(x[i]);
      const l = dd.lo;
      const k = mishSide.k;
      dx[i] = k === 0 ? mulRoundSub(g, h, l) : scaleRoundMul(h, l, k, g);
    }
    return undefined;
  },
});
