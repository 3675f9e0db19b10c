import { z } from 'zod';
import erfc from '@stdlib/math-base-special-erfc';
import { defineActivation } from '../activation.js';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const SQRT_2_OVER_PI = 0.7978845608028654;

/**
 * GELU. PLACEHOLDER numerics, to be replaced by the accurate kernel.
 */
export const gelu = defineActivation({
  name: 'gelu',
  title: 'Gaussian error linear unit',
  summary: 'Weights each input by the standard normal CDF at that input.',
  kind: 'elementwise',
  params: z.strictObject({
    approximate: z
      .enum(['none', 'tanh', 'sigmoid'])
      .default('none')
      .describe('none: exact x·Φ(x); tanh: the tanh approximation; sigmoid: x·σ(1.702x).'),
  }),
  learnable: [],
  formula: '\\operatorname{GELU}(x) = x\\,\\Phi(x) = \\tfrac{1}{2} x \\operatorname{erfc}(-x/\\sqrt{2})',
  derivative: "\\operatorname{GELU}'(x) = \\Phi(x) + x\\,\\varphi(x)",
  metadata: {
    range: [-0.16997120747671587, 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: ['Smooth, with a small negative dip that keeps gradients alive for slightly negative inputs.'],
    cons: ['Costs an erfc (or tanh) per element.'],
    references: [{ title: 'Hendrycks & Gimpel (2016), Gaussian Error Linear Units (GELUs)', url: 'https://arxiv.org/abs/1606.08415' }],
  },
  example: { inputs: [[-30, -1, 0, 1, 30]], params: { approximate: 'none' } },
  forward({ x, out, params }) {
    const mode = params.approximate;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (mode === 'none') out[i] = 0.5 * v * erfc(-v * SQRT1_2);
      else if (mode === 'tanh') out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
      else out[i] = v / (1 + Math.exp(-1.702 * v));
    }
  },
  backward({ x, dy, dx, params }) {
    const mode = params.approximate;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      let d: number;
      if (mode === 'none') d = 0.5 * erfc(-v * SQRT1_2) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
      else if (mode === 'tanh') {
        const u = SQRT_2_OVER_PI * (v + 0.044715 * v * v * v);
        const t = Math.tanh(u);
        d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
      } else {
        const s = 1 / (1 + Math.exp(-1.702 * v));
        d = s + 1.702 * v * s * (1 - s);
      }
      dx[i] = dy[i] * d;
    }
    return undefined;
  },
});
