import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, divDD, mulDD } from '../numeric/dd.js';
import { expSplit, expX, scaleRoundMul } from '../numeric/exp.js';
import { SELU_SCALE_ALPHA_H, SELU_SCALE_ALPHA_L, SELU_SCALE_H, SELU_SCALE_L } from '../smooth/constants.js';
import { expm1X } from '../smooth/expm1.js';
import { mulRoundSub } from '../smooth/round.js';

/**
 * SELU, λ·x for x > 0 and λα(e^x − 1) otherwise, with the 32-digit λ and α of
 * ACTIVATIONS.md as exact real numbers.
 *
 * λ and the product λα are double-doubles (`smooth/constants.ts`, from
 * mpmath), so λ·x and λα·expm1(x) are each rounded once: with λ and α
 * rounded to doubles first the product would be off by up to 1.5 ULP before
 * any other error. e^x − 1 is the double-double expm1. Backward: dy·λ, or
 * dy·λα·e^x, rounded once (mantissa·2^k below x = −690). At x = 0 the
 * derivative is λα (the x ≤ 0 branch).
 *
 * `alpha` and `scale` are optional (ONNX's Selu has them; PyTorch has none):
 * omitted, they are the exact constants above; given, they are the float64
 * numbers sent, and their product is formed exactly (TwoProd).
 */
/** λ and λα as double-doubles: the exact defaults, or the sent numbers with their exact product. */
function constants(params: { alpha?: number; scale?: number }): [number, number, number, number] {
  if (params.alpha === undefined && params.scale === undefined) {
    return [SELU_SCALE_H, SELU_SCALE_L, SELU_SCALE_ALPHA_H, SELU_SCALE_ALPHA_L];
  }
  // One given and one omitted: the omitted one is its exact constant, as a double-double.
  const [sH, sL] = params.scale === undefined ? [SELU_SCALE_H, SELU_SCALE_L] : [params.scale, 0];
  if (params.alpha === undefined) {
    // The default α as a double-double, (λα)/λ, good to about 2^-104.
    const aH = divDD(SELU_SCALE_ALPHA_H, SELU_SCALE_ALPHA_L, SELU_SCALE_H, SELU_SCALE_L);
    const saH = mulDD(sH, sL, aH, dd.lo);
    return [sH, sL, saH, dd.lo];
  }
  const saH = mulDD(sH, sL, params.alpha, 0);
  return [sH, sL, saH, dd.lo];
}

export const selu = defineActivation({
  name: 'selu',
  title: 'Scaled exponential linear unit',
  summary: 'ELU scaled by two fixed constants so that activations drive themselves towards zero mean and unit variance.',
  kind: 'elementwise',
  params: z.strictObject({
    alpha: z
      .number()
      .positive()
      .optional()
      .describe('α; omitted: 1.6732632423543772848170429916717 exactly. ONNX Selu alpha.'),
    scale: z
      .number()
      .positive()
      .optional()
      .describe('λ; omitted: 1.0507009873554804934193349852946 exactly. ONNX Selu gamma.'),
  }),
  learnable: [],
  formula:
    '\\operatorname{SELU}(x) = \\lambda \\begin{cases} x & x > 0 \\\\ \\alpha\\,(e^{x} - 1) & x \\le 0 \\end{cases},\\quad \\lambda = 1.0507009873554804934193349852946,\\ \\alpha = 1.6732632423543772848170429916717\\ \\text{unless scale and alpha are given}',
  derivative: "\\operatorname{SELU}'(x) = \\begin{cases} \\lambda & x > 0 \\\\ \\lambda\\alpha\\,e^{x} & x \\le 0 \\end{cases}",
  metadata: {
    range: [-1.7580993408473768, 'Infinity'],
    zeroCentred: true,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'At x = 0 the derivative is taken as λα ≈ 1.7581 (the value of the x ≤ 0 branch, λα·e^0); the slope right of 0 is λ ≈ 1.0507.',
    pros: [
      'Self-normalising: with LeCun-normal weights, activations of a plain feed-forward net converge to zero mean and unit variance, so deep MLPs train without batch normalisation.',
      'Negative inputs keep a gradient (λα·e^x), so units do not die.',
      'No hyperparameters to tune: λ and α are fixed by the derivation (scale and alpha exist for ONNX Selu; other values lose the self-normalisation).',
    ],
    cons: [
      'The guarantee holds only under its assumptions: LeCun-normal initialisation, fully connected layers, alpha-dropout instead of dropout.',
      'Not differentiable at 0 (slope λα on the left, λ on the right).',
      'An exponential per negative element; the gradient still vanishes for very negative inputs.',
    ],
    references: [
      { title: 'Klambauer, Unterthiner, Mayr & Hochreiter (2017), Self-Normalizing Neural Networks', url: 'https://arxiv.org/abs/1706.02515' },
      { title: 'PyTorch documentation, torch.nn.SELU', url: 'https://pytorch.org/docs/stable/generated/torch.nn.SELU.html' },
    ],
  },
  example: { inputs: [[-40, -1, 0, 1, 2]] },
  forward({ x, out, params }) {
    const [sH, sL, saH, saL] = constants(params);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v > 0) out[i] = mulRoundSub(v, sH, sL);
      else if (v === 0) out[i] = v; // ±0, sign kept
      // expm1(v) = v to far beyond double-double precision here, and λα·v may be tiny: rounded once, scaled.
      else if (v > -(2 ** -500)) out[i] = mulRoundSub(v, saH, saL);
      else out[i] = mulDD(saH, saL, expm1X(v, 0), dd.lo);
    }
  },
  backward({ x, dy, dx, params }) {
    const [sH, sL, saH, saL] = constants(params);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const g = dy[i];
      if (v > 0) {
        dx[i] = mulRoundSub(g, sH, sL);
      } else if (v >= -690) {
        const p = mulDD(saH, saL, expX(v, 0), dd.lo);
        dx[i] = mulRoundSub(g, p, dd.lo);
      } else if (v >= -1e5) {
        const m = expSplit(v, 0);
        const k = dd.k;
        const p = mulDD(saH, saL, m, dd.lo);
        dx[i] = scaleRoundMul(p, dd.lo, k, g);
      } else {
        dx[i] = v === v ? g * 0 : NaN;
      }
    }
    return undefined;
  },
});
