import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { NoiseStream, SeedSchema, randomSeed, requireSeed } from '../noise.js';

/**
 * Noisy ReLU, max(0, x + n) with Gaussian noise n in training, plain ReLU in
 * eval.
 *
 * Training: n = s·z, z a standard normal drawn per element in row-major order
 * from the seeded stream (src/core/noise.ts, Box–Muller), drawn for every
 * element so the same seed and shape give the same noise forward and
 * backward. s = std when given; omitted, the variance is σ(x), s = √σ(x), as
 * Nair & Hinton's approximation of stepped sigmoid units (σ computed as
 * 1/(1 + e^−|x|) or e^−|x|/(1 + e^−|x|), so it never overflows). Backward
 * treats n as a constant: dy where x + n > 0, else 0 (the same sum forward
 * compared, so both agree at the kink).
 *
 * Eval: max(0, x) with relu's convention, derivative 0 at x = 0. A NaN input
 * gives NaN in both modes.
 */
export const noisyRelu = defineActivation({
  name: 'noisy_relu',
  title: 'Noisy ReLU',
  summary: 'A ReLU with Gaussian noise added to its input in training mode; plain ReLU in eval.',
  kind: 'elementwise',
  params: z.strictObject({
    std: z
      .number()
      .min(0)
      .optional()
      .describe('Standard deviation of the noise, ≥ 0; omitted, the noise variance is sigmoid(x) per element (Nair & Hinton).'),
    training: z.boolean().default(false).describe('true: add noise before the rectifier; false: plain ReLU.'),
    seed: SeedSchema.optional().describe(
      'Seed of the noise in training mode; omitted, one is chosen and returned as `seed`. The same seed and shape give the same noise, forward and backward.',
    ),
  }),
  learnable: [],
  formula:
    '\\operatorname{NReLU}(x) = \\max(0, x + n),\\quad n \\sim \\mathcal{N}(0, s^2),\\ s = \\text{std or } \\sqrt{\\sigma(x)} \\text{ (training)};\\quad \\max(0, x) \\text{ (eval)}',
  derivative:
    "\\frac{\\partial y}{\\partial x} = \\begin{cases} 1 & x + n > 0 \\\\ 0 & \\text{otherwise} \\end{cases} \\quad (n = 0 \\text{ in eval})",
  metadata: {
    range: [0, 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'The derivative is taken as 0 where x + n = 0 (x = 0 in eval, as relu); the noise counts as a constant in backward.',
    pros: [
      'Noise in training acts as a regulariser and lets units near zero sometimes pass gradient, which helps against dying units.',
      'Models a sum of many binary units with shifted biases (Nair & Hinton), the origin of ReLU in RBMs.',
      'Eval mode costs no more than ReLU.',
    ],
    cons: [
      'Training costs a Gaussian draw per element (Box–Muller: a logarithm and a square root per two draws, and a cosine or sine each).',
      'Training and eval differ, and results depend on the seed; reproducing a backward pass needs the forward seed.',
      'Outputs are not zero-centred; units can still die in eval.',
    ],
    references: [
      { title: 'Nair & Hinton (2010), Rectified Linear Units Improve Restricted Boltzmann Machines', url: 'https://www.cs.toronto.edu/~hinton/absps/reluICML.pdf' },
      { title: 'Gulcehre, Moczulski, Denil & Bengio (2016), Noisy Activation Functions', url: 'https://arxiv.org/abs/1603.00391' },
    ],
  },
  example: { inputs: [[-2, -0.5, 0, 0.5, 2]], params: { training: true, std: 0.5, seed: 42 } },
  resolveParams(params) {
    return params.training && params.seed === undefined ? { ...params, seed: randomSeed() } : params;
  },
  responseFields: {
    shape: {
      seed: SeedSchema.optional().describe('The seed the noise was drawn with (training mode only): send it back to reproduce it.'),
    },
    values: (params) => (params.training ? { seed: params.seed } : {}),
  },
  forward({ x, out, params }) {
    if (!params.training) {
      for (let i = 0; i < x.length; i++) out[i] = Math.max(0, x[i]);
      return;
    }
    const noise = new NoiseStream(requireSeed('noisy_relu', params.seed));
    const std = params.std;
    if (std !== undefined) {
      for (let i = 0; i < x.length; i++) out[i] = Math.max(0, x[i] + std * noise.normal());
      return;
    }
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const e = Math.exp(-Math.abs(v));
      const sigma = (v >= 0 ? 1 : e) / (1 + e);
      out[i] = Math.max(0, v + Math.sqrt(sigma) * noise.normal());
    }
  },
  backward({ x, dy, dx, params }) {
    if (!params.training) {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        dx[i] = v > 0 ? dy[i] : v === v ? 0 : NaN;
      }
      return undefined;
    }
    const noise = new NoiseStream(requireSeed('noisy_relu', params.seed));
    const std = params.std;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      let s: number;
      if (std !== undefined) s = v + std * noise.normal();
      else {
        const e = Math.exp(-Math.abs(v));
        s = v + Math.sqrt((v >= 0 ? 1 : e) / (1 + e)) * noise.normal();
      }
      dx[i] = s > 0 ? dy[i] : s === s ? 0 : NaN;
    }
    return undefined;
  },
});
