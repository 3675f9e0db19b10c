import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, divDD, twoProd } from '../numeric/dd.js';
import { expSplit, exponentNear, mulPow2, scaleRound, scaleRoundMul } from '../numeric/exp.js';
import { sigmoidX, softplusX } from '../smooth/logistic.js';
import { mulRoundSub } from '../smooth/round.js';
import { productLo } from '../smooth/shift.js';

/**
 * βx > t, decided exactly (β > 0) from zh = βx rounded: zh ≠ t settles it
 * (rounding is monotonic); at zh = t the product is formed again from β and
 * x scaled near 1, where Dekker's low part is exact even when βx itself is
 * subnormal or underflowed to 0.
 */
function beyond(zh: number, beta: number, x: number, t: number): boolean {
  if (zh !== t) return zh > t;
  if (x === 0 || zh - zh !== 0) return false;
  const eb = exponentNear(beta);
  const ex = exponentNear(x);
  const p = twoProd(mulPow2(beta, -eb), mulPow2(x, -ex));
  return p - mulPow2(t, -eb - ex) > -dd.lo; // both multiples of 2^-52 below 8: the difference is exact
}

/** β as βm·2^βe, βm near 1, so (1/β)·s is a division by βm (no overflow in Dekker's split) and one scaling. */
interface Beta {
  beta: number;
  m: number;
  e: number;
}

const betaOf = (beta: number): Beta => {
  const e = exponentNear(beta);
  return { beta, m: mulPow2(beta, -e), e };
};

/** (1/β)·softplus(z) for z = βx = zh + zl, rounded once, also into the subnormals or to Infinity; `threshold` applies PyTorch's cut. */
function softplusValue(x: number, zh: number, zl: number, b: Beta, threshold: number): number {
  if (beyond(zh, b.beta, x, threshold)) return x;
  if (zh > 40) return x; // log1p(e^-z)/β < 2^-60·|x|: rounds to x (also +Infinity)
  if (zh >= -690) {
    // softplus(z) ≥ 2^-996 here, so its low part is good to 2^-78.
    const s = softplusX(zh, zl);
    return b.beta === 1 ? s : scaleRound(divDD(s, dd.lo, b.m, 0), dd.lo, -b.e);
  }
  if (zh >= -1e5) {
    // softplus(z) = e^z(1 − e^z/2 + …) with e^z < 2^-995: e^z alone, scaled once.
    const m = expSplit(zh, zl);
    const ml = dd.lo;
    const k = dd.k;
    return b.beta === 1 ? scaleRound(m, ml, k) : scaleRound(divDD(m, ml, b.m, 0), dd.lo, k - b.e);
  }
  return zh === zh ? 0 : NaN;
}

/** dy·σ(z), rounded once; 1·dy where the threshold cut applies. */
function softplusGrad(g: number, x: number, zh: number, zl: number, beta: number, threshold: number): number {
  if (beyond(zh, beta, x, threshold)) return g;
  if (zh > 40) return g; // σ(z) = 1 − e^-z with e^-z < 2^-57: dy·σ rounds to dy
  if (zh >= -700) return mulRoundSub(g, sigmoidX(zh, zl), dd.lo);
  if (zh >= -1e5) {
    const m = expSplit(zh, zl);
    const ml = dd.lo;
    const k = dd.k;
    return scaleRoundMul(m, ml, k, g);
  }
  return zh === zh ? g * 0 : NaN;
}

/**
 * Softplus, (1/β)·log(1 + e^(βx)), exact for every finite x.
 *
 * Stable form max(z, 0) + log1p(e^(−|z|)) with z = βx kept exact as a
 * double-double (Dekker's product), e^(−|z|) ≤ 1 from the double-double exp
 * and log1p from the table-driven double-double log1p (`smooth/`): no
 * overflow, no cancellation, and the division by β is done in double-double
 * and rounded once (β's exponent taken out first, so any β > 0 works and
 * results round once into the subnormals). z > 40 returns x (the correction
 * is below 2^-60 of x); z < −690 returns e^z/β scaled with one rounding,
 * so softplus(−745) is 5e-324, not 0. Unlike PyTorch (cut at βx > 20, off by
 * millions of ULP) there is no cut unless `threshold` is set; then x is
 * returned where βx > threshold, compared exactly (also where βx
 * underflows), as PyTorch.
 * Backward: dy·σ(βx) rounded once; dy where the cut applies.
 */
export const softplus = defineActivation({
  name: 'softplus',
  title: 'Softplus',
  summary: 'A smooth ReLU, log(1 + e^(βx))/β: positive everywhere, close to max(0, x) away from 0.',
  kind: 'elementwise',
  params: z.strictObject({
    beta: z
      .number()
      .positive()
      .default(1)
      .describe(
        'Sharpness β > 0; larger β brings it closer to ReLU. PyTorch accepts any β, but β = 0 divides by zero and β < 0 gives a different function (bounded above by 0, going as x for x → −∞: β = −1 is logsigmoid), so both are refused here.',
      ),
    threshold: z
      .number()
      .optional()
      .describe(
        'Omitted (the default here): exact for every finite x. Set: x is returned where βx > threshold, as PyTorch does (its default is 20, an error of up to log1p(e^-20) ≈ 2e-9).',
      ),
  }),
  learnable: [],
  formula: '\\operatorname{softplus}(x) = \\frac{1}{\\beta}\\log\\bigl(1 + e^{\\beta x}\\bigr)',
  derivative: "\\operatorname{softplus}'(x) = \\sigma(\\beta x) = \\frac{1}{1 + e^{-\\beta x}}",
  metadata: {
    range: [0, 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: false,
    kinks:
      'None: smooth everywhere. With threshold set, the output switches to x where βx > threshold (a step of log1p(e^-threshold)/β) and the derivative there is 1; at βx = threshold it is σ(βx).',
    pros: [
      'Smooth, with gradient σ(βx) that is never exactly zero, so no unit dies.',
      'Strictly positive outputs: a natural link for quantities that must be positive (scales, variances, rates).',
      'β interpolates between a soft curve and ReLU.',
    ],
    cons: [
      'An exponential and a logarithm per element.',
      'Not zero-centred, and never exactly sparse.',
      'The gradient vanishes for very negative inputs.',
    ],
    references: [
      { title: 'Dugas, Bengio, Bélisle, Nadeau & Garcia (2000), Incorporating Second-Order Functional Knowledge for Better Option Pricing', url: 'https://proceedings.neurips.cc/paper/2000/hash/44968aece94f667e4095002d140b5896-Abstract.html' },
      { title: 'Glorot, Bordes & Bengio (2011), Deep Sparse Rectifier Neural Networks', url: 'https://proceedings.mlr.press/v15/glorot11a.html' },
      { title: 'PyTorch documentation, torch.nn.Softplus', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Softplus.html' },
    ],
  },
  example: { inputs: [[-745, -40, -1, 0, 1, 40]], params: { beta: 1 } },
  forward({ x, out, params }) {
    const beta = params.beta;
    const threshold = params.threshold ?? Infinity;
    const b = betaOf(beta);
    if (beta === 1) {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        out[i] = softplusValue(v, v, 0, b, threshold);
      }
      return;
    }
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const zh = beta * v;
      out[i] = softplusValue(v, zh, productLo(beta, v, zh), b, threshold);
    }
  },
  backward({ x, dy, dx, params }) {
    const beta = params.beta;
    const threshold = params.threshold ?? Infinity;
    if (beta === 1) {
      for (let i = 0; i < x.length; i++) dx[i] = softplusGrad(dy[i], x[i], x[i], 0, 1, threshold);
      return undefined;
    }
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const zh = beta * v;
      dx[i] = softplusGrad(dy[i], v, zh, productLo(beta, v, zh), beta, threshold);
    }
    return undefined;
  },
});
