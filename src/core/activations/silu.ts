import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd } from '../numeric/dd.js';
import { scaleRoundMul } from '../numeric/exp.js';
import { fixTinySlopes, mulRoundSub, tinyInputs } from '../smooth/round.js';
import { swishInto, swishSide, swishSlope } from '../smooth/swish.js';

/**
 * SiLU, x·σ(x): swish with β = 1, through the same code (`smooth/swish.ts`),
 * so the two agree bit for bit. Forward x·σ(x) in double-double, rounded
 * once; backward dy·σ(x)(1 + xσ(−x)) with the cancellation near the root
 * x0 ≈ −1.2785 removed by the shifted form t + e^x0·expm1(t), t = x − x0.
 */
export const silu = defineActivation({
  name: 'silu',
  title: 'Sigmoid linear unit',
  summary: 'x·σ(x): each input weighted by its own sigmoid (swish with β = 1).',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{SiLU}(x) = x\\,\\sigma(x) = \\frac{x}{1 + e^{-x}}',
  derivative: "\\operatorname{SiLU}'(x) = \\sigma(x)\\bigl(1 + x\\,\\sigma(-x)\\bigr)",
  metadata: {
    range: [-0.2784645427610738, 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Smooth, with a small negative bump: moderately negative inputs keep a gradient, so units do not die.',
      'The default in many modern architectures (EfficientNet, YOLO, and the gate of SwiGLU).',
      'No parameters to tune.',
    ],
    cons: [
      'An exponential per element, several times the cost of ReLU.',
      'Not monotonic and not zero-centred; the gradient vanishes for very negative inputs.',
    ],
    references: [
      { title: 'Elfwing, Uchibe & Doya (2017), Sigmoid-Weighted Linear Units for Neural Network Function Approximation in Reinforcement Learning', url: 'https://arxiv.org/abs/1702.03118' },
      { title: 'Hendrycks & Gimpel (2016), Gaussian Error Linear Units (GELUs)', url: 'https://arxiv.org/abs/1606.08415' },
      { title: 'PyTorch documentation, torch.nn.SiLU', url: 'https://pytorch.org/docs/stable/generated/torch.nn.SiLU.html' },
    ],
  },
  example: { inputs: [[-40, -1.2784645427610738, -1, 0, 1, 40]] },
  forward({ x, out }) {
    swishInto(x, out, 1);
  },
  backward({ x, dy, dx }) {
    const tiny = tinyInputs(x, dy);
    for (let i = 0; i < x.length; i++) {
      const g = dy[i];
      const h = swishSlope(x[i], 0);
      const l = dd.lo;
      const k = swishSide.k;
      dx[i] = k === 0 ? mulRoundSub(g, h, l) : scaleRoundMul(h, l, k, g);
    }
    fixTinySlopes(tiny, dx, 1);
    return undefined;
  },
});
