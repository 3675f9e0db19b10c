import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { SPLIT_SAFE } from '../exact-linear.js';
import { addDD, dd, divDD, twoProd } from '../numeric/dd.js';

/**
 * α·x + β as an exact ratio N/q, N = n·x + q·β. The default α = 1/6 is n = 1,
 * q = 6 (the fraction itself, not the float64 nearest it; a client that
 * writes 0.16666666666666666 gets the same); any other α is n = α, q = 1.
 */
interface Affine {
  readonly n: number;
  readonly q: number;
  /** q·β = bh + bl exactly. */
  readonly bh: number;
  readonly bl: number;
  readonly alpha: number;
  readonly beta: number;
  /** Whether the error-free products cannot overflow for these parameters. */
  readonly safe: boolean;
}

function affineOf(alpha: number, beta: number): Affine {
  const sixth = alpha === 1 / 6;
  const n = sixth ? 1 : alpha;
  const q = sixth ? 6 : 1;
  const bh = twoProd(q, beta);
  const bl = dd.lo;
  return { n, q, bh, bl, alpha, beta, safe: Math.abs(n) < SPLIT_SAFE && Math.abs(bh) < SPLIT_SAFE };
}

/**
 * N = n·x + q·β as a normalised double-double (hi returned, lo in dd.lo), or
 * NaN when α·x + β is certainly outside (0, 1) or not finite (the rough
 * float64 α·x + β is within 2^-50 of the terms' size of the truth), or when
 * x or the parameters are beyond 2^995, where Dekker's split would overflow:
 * the caller then uses the rough value.
 */
function exactNumerator(a: Affine, v: number): number {
  const ax = a.alpha * v;
  const rough = ax + a.beta;
  const slack = (Math.abs(ax) + Math.abs(a.beta)) * 2 ** -50;
  if (!(rough - slack <= 1 && rough + slack >= 0 && Math.abs(v) < SPLIT_SAFE && a.safe)) return NaN;
  const ph = twoProd(a.n, v);
  return addDD(ph, dd.lo, a.bh, a.bl);
}

/**
 * HardSigmoid, max(0, min(1, α·x + β)), α = 1/6 and β = ½ by default (PyTorch,
 * Keras 3, JAX); α = 0.2 gives the ONNX/Keras 2 form.
 *
 * α·x + β cancels where the output nears 0 (x near −3 for the defaults): the
 * float64 product α·x is off by up to half an ULP of α·x, which is many ULPs of
 * the small difference, and with α = fl(1/6) the output at x = −3 would be
 * 2.8e-17 instead of 0. So α·x + β is formed exactly: as (x + 6β)/6 for the
 * default α (exactly 1/6), otherwise α·x by Dekker's error-free product and
 * the sum with β in double-double; the result is rounded once (the double-
 * double division by 6 included), then clamped, which is exact. Where the rough
 * value is clearly outside [0, 1] (or NaN, or infinite) it is clamped directly.
 *
 * Backward is dy·α exactly where 0 < α·x + β < 1 (decided on the exact value,
 * so 0 at both ends: x = ±3 for the defaults), computed as dy/6 or dy·α, one
 * rounding; 0 elsewhere; a NaN input gives NaN.
 */
export const hardsigmoid = defineActivation({
  name: 'hardsigmoid',
  title: 'HardSigmoid',
  summary: 'A piecewise-linear sigmoid: clamps α·x + β to [0, 1].',
  kind: 'elementwise',
  params: z.strictObject({
    alpha: z
      .number()
      .default(1 / 6)
      .describe('Slope α; the default is exactly 1/6 (PyTorch, Keras 3, JAX); 0.2 gives the ONNX/Keras 2 form.'),
    beta: z.number().default(0.5).describe('Offset β.'),
  }),
  learnable: [],
  formula: '\\operatorname{HardSigmoid}(x) = \\max(0, \\min(1, \\alpha x + \\beta))',
  derivative:
    "\\operatorname{HardSigmoid}'(x) = \\begin{cases} \\alpha & 0 < \\alpha x + \\beta < 1 \\\\ 0 & \\text{otherwise} \\end{cases}",
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: true,
    kinks: 'The derivative is taken as 0 at both kinks, where α·x + β is exactly 0 or 1 (x = −3 and x = 3 for the defaults).',
    pros: [
      'Approximates the sigmoid with a multiply-add and a clamp: no exponential, which suits mobile and quantised inference.',
      'Bounded in [0, 1], usable as a gate (MobileNetV3 squeeze-and-excitation, hard-swish).',
    ],
    cons: [
      'The gradient is exactly 0 outside the linear region, so saturated units stop learning (worse than the sigmoid, whose gradient only vanishes).',
      'Outputs are not zero-centred.',
      'Peers disagree on α (1/6 or 0.2), so results differ between frameworks.',
    ],
    references: [
      { title: 'Courbariaux, Bengio & David (2015), BinaryConnect: Training Deep Neural Networks with binary weights during propagations', url: 'https://arxiv.org/abs/1511.00363' },
      { title: 'Howard et al. (2019), Searching for MobileNetV3', url: 'https://arxiv.org/abs/1905.02244' },
      { title: 'PyTorch documentation, torch.nn.Hardsigmoid', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html' },
    ],
  },
  example: { inputs: [[-4, -3, 0, 1.5, 4]] },
  forward({ x, out, params }) {
    const a = affineOf(params.alpha, params.beta);
    const q = a.q;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const nh = exactNumerator(a, v);
      const y = nh === nh ? (q === 1 ? nh : divDD(nh, dd.lo, q, 0)) : a.alpha * v + a.beta;
      out[i] = Math.max(0, Math.min(1, y));
    }
  },
  backward({ x, dy, dx, params }) {
    const a = affineOf(params.alpha, params.beta);
    const { n, q } = a;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const nh = exactNumerator(a, v);
      const nl = dd.lo;
      // N is normalised, so its sign and its order against q follow from the high part;
      // without N (clearly outside, or parameters beyond the safe range) the rough value decides.
      const rough = nh === nh ? 0 : a.alpha * v + a.beta;
      const inside = nh === nh ? nh > 0 && (nh < q || (nh === q && nl < 0)) : rough > 0 && rough < 1;
      dx[i] = inside ? (dy[i] * n) / q : v === v ? 0 : NaN;
    }
    return undefined;
  },
});
