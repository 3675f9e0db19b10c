import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, fastTwoSum, mulDD, mulDD1, twoProd, twoSum } from '../numeric/dd.js';
import { exponentNear, mulPow2, scaleRound, scaleRoundMul } from '../numeric/exp.js';
import { fixTinySlopes, mulRoundSub, tinyInputs } from '../smooth/round.js';
import { productLo } from '../smooth/shift.js';
import { swishInto, swishSide, swishSlope } from '../smooth/swish.js';

/**
 * Swish, x·σ(βx), with β learnable.
 *
 * z = βx is kept exact as a double-double. Forward x·σ(z), σ in
 * double-double, rounded once. Backward dy·σ(z)(1 + zσ(−z)): the two terms
 * cancel near the root z0 ≈ −1.2785 of swish′, where `smooth/swish.ts`
 * rewrites g = 1 + z + e^z as t + e^z0·expm1(t), t = z − z0 (z0 a
 * triple-double): both terms have the sign of t, so the result keeps full
 * relative accuracy even for the doubles nearest the root; elsewhere the
 * double-double form cancels by less than 2^4. One exponential per element
 * either way. Tails below z = −700 are scaled into the subnormal range with
 * one rounding.
 *
 * dβ = Σ dy·x²·σ(z)σ(−z): each term in double-double, summed in
 * double-double (a compensated sum that keeps the low parts too), rounded
 * once at the end.
 */
export const swish = defineActivation({
  name: 'swish',
  title: 'Swish',
  summary: 'x·σ(βx) with a learnable β: x/2 at β = 0, approaching ReLU as β grows.',
  kind: 'elementwise',
  params: z.strictObject({
    beta: z
      .number()
      .default(1)
      .describe('β, learnable: backward returns dL/dβ summed over the batch. Any finite number; β = 1 is silu, β = 0 gives x/2.'),
  }),
  learnable: ['beta'],
  formula: '\\operatorname{swish}(x) = x\\,\\sigma(\\beta x)',
  derivative:
    "\\frac{\\partial}{\\partial x} = \\sigma(\\beta x) + \\beta x\\,\\sigma(\\beta x)\\,\\sigma(-\\beta x),\\quad \\frac{\\partial}{\\partial \\beta} = x^2\\,\\sigma(\\beta x)\\,\\sigma(-\\beta x)",
  metadata: {
    range: [-0.2784645427610738, 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere (for every β).',
    pros: [
      'Smooth and non-monotonic: a small negative bump keeps a gradient for moderately negative inputs, so units do not die.',
      'Found by automated search to match or beat ReLU on deep image and translation models.',
      'A learnable β lets each layer move between linear (β = 0) and ReLU-like (large β).',
    ],
    cons: [
      'An exponential per element, plus the dβ reduction in backward.',
      'Not monotonic and not zero-centred; the gradient vanishes for very negative βx.',
      'No peer library makes β learnable, so dβ has no reference to compare against.',
    ],
    references: [
      { title: 'Ramachandran, Zoph & Le (2017), Searching for Activation Functions', url: 'https://arxiv.org/abs/1710.05941' },
      { title: 'ONNX operator Swish', url: 'https://onnx.ai/onnx/operators/onnx__Swish.html' },
    ],
  },
  example: { inputs: [[-40, -1.2784645427610738, -1, 0, 1, 40]], params: { beta: 1 } },
  forward({ x, out, params }) {
    swishInto(x, out, params.beta);
  },
  backward({ x, dy, dx, params }) {
    const beta = params.beta;
    const tiny = tinyInputs(x, dy, beta);
    let sh = 0;
    let sl = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const g = dy[i];
      let zh = v;
      let zl = 0;
      if (beta !== 1) {
        zh = beta === 0 ? 0 : beta * v;
        zl = productLo(beta, v, zh);
      }
      const h = swishSlope(zh, zl);
      const l = dd.lo;
      const k = swishSide.k;
      dx[i] = k === 0 ? mulRoundSub(g, h, l) : scaleRoundMul(h, l, k, g);
      // dβ term g·x²·σ(z)σ(−z), σ(z)σ(−z) = (sh + sl)·2^k
      let th: number;
      let tl = 0;
      if (k === 0 && Math.abs(v) >= 2 ** -300 && Math.abs(v) <= 2 ** 300 && Math.abs(g) >= 2 ** -300 && Math.abs(g) <= 2 ** 300) {
        const x2 = twoProd(v, v);
        const p = mulDD(x2, dd.lo, swishSide.sh, swishSide.sl);
        th = mulDD1(p, dd.lo, g);
        tl = dd.lo;
      } else if (v - v === 0 && g - g === 0 && v !== 0 && g !== 0) {
        // Tails, and x or dy beyond 2^±300: their exponents taken out, the term is formed near 1, then scaled
        // back as a double-double, or rounded once where its low part would be subnormal (below about 2^-966;
        // x = 6e-304 with dy = 1e284 gave 0 for 1e-323; the tails rounded three times).
        const ev = exponentNear(v);
        const eg = exponentNear(g);
        const vm = mulPow2(v, -ev);
        const x2 = twoProd(vm, vm);
        const p = mulDD(x2, dd.lo, swishSide.sh, swishSide.sl);
        const ph = mulDD1(p, dd.lo, mulPow2(g, -eg));
        const pl = dd.lo;
        const e = k + 2 * ev + eg;
        if (e >= -969) {
          // scaling both parts is exact while they stay normal; an overflow gives ±Infinity
          th = mulPow2(ph, e);
          tl = th - th === 0 ? mulPow2(pl, e) : 0;
        } else {
          th = scaleRound(ph, pl, e);
        }
      } else {
        // a zero, infinite or NaN factor: the IEEE product
        const s = k === 0 ? swishSide.sh : scaleRound(swishSide.sh, swishSide.sl, k);
        th = s === 0 ? 0 * g : g * v * (v * s);
      }
      const s = twoSum(sh, th);
      sl += dd.lo + tl;
      sh = s;
    }
    fixTinySlopes(tiny, dx, Math.sign(beta)); // σ(βx)(1 + βx·σ(−βx)) = 1/2 + (β/2)·x + …
    return { beta: fastTwoSum(sh, sl) };
  },
});
