import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { asFraction } from '../exact-linear.js';
import { NoiseStream, SeedSchema, randomSeed, requireSeed } from '../noise.js';
import { addDD, dd, twoProd } from '../numeric/dd.js';
import { ExactSum, signOfSum } from '../numeric/exact-sum.js';
import { mulRoundSub } from '../smooth/round.js';

/**
 * The eval-mode slope (lower + upper)/2: the sum of the bounds is exact as a
 * double-double (sh + sl), and so is its half (hh + hl) unless a part of it is
 * subnormal (bounds like 3e-323): `halved` false, and the products take the
 * general form. A bound of 1/3 is no double-double: its products can be
 * exact ties (x·(1/4 + 1/3)/2 at x = −6.857282834184967e118) that its 2^-106
 * error would decide; a low part below 2^-100 of the sum (lower = 5e-324
 * next to upper = 2) decides ties that a double-double product cannot see.
 * With either (`careful`), products near a tie, and where Dekker's product
 * loses bits, are formed exactly.
 */
function meanSlope(lower: number, upper: number) {
  const [lh, ll] = asFraction(lower, 1, 3);
  const [uh, ul] = asFraction(upper, 1, 3);
  const sh = addDD(lh, ll, uh, ul);
  const sl = dd.lo;
  const hh = sh / 2;
  const hl = sl / 2;
  const halved = hh * 2 === sh && hl * 2 === sl;
  const careful = ll !== 0 || ul !== 0 || !halved || (sl !== 0 && Math.abs(sl) < 2 ** -100 * Math.abs(sh));
  // 6·slope = 3·lower + 3·upper (a bound of 1/3 as 1) as nh + nl, if a double-double holds it exactly (nExact).
  const a = tripled(lower);
  const al = dd.lo;
  const b = tripled(upper);
  const bl = dd.lo;
  const nh = addDD(a, al, b, bl);
  const nl = dd.lo;
  const check = [nh, nl, -a, -al, -b, -bl];
  const nExact = halved && Number.isFinite(nh) && Math.abs(b) >= 2 ** -900 && (a === 0 || Math.abs(a) >= 2 ** -900) && signOfSum(check, 6) === 0;
  return { lower, upper, hh, hl, halved, careful, nh, nl, nExact };
}

/** 3·bound exactly as hi + dd.lo (1 for the fraction 1/3). */
function tripled(bound: number): number {
  if (bound === 1 / 3) {
    dd.lo = 0;
    return 1;
  }
  return twoProd(3, bound);
}

type Slope = ReturnType<typeof meanSlope>;

const terms = new Float64Array(8);
/** Within this fraction of a step from its midpoint a product is settled exactly (the double-double is good to 2^-104). */
const NEAR_TIE = 2 ** -40;

/**
 * v·(hh + hl) rounded once where that is certain (a `careful` slope, halved
 * exactly): away from a step's midpoint (the double-double is good to
 * 2^-104) and within Dekker's range; else NaN, for `unsettledProduct`.
 * Small enough to be inlined into the loops.
 */
function settledProduct(v: number, hh: number, hl: number): number {
  const p = twoProd(v, hh);
  const e = dd.lo + v * hl;
  const r = p + e;
  // t is what r leaves of the product; at a tie it is half the step d to the neighbour on its side.
  const t = p - r + e;
  const d = r + 2 * t - r;
  const a = Math.abs(r);
  // No branch on d = 0 (half of all products; mispredicted, it cost 4x): the midpoint test fails there anyway.
  const settled = (+(Math.abs(t - d / 2) > NEAR_TIE * Math.abs(d)) | +(d === 0)) & +(a >= 2 ** -900) & +(a < 2 ** 990);
  return settled === 1 ? r : NaN;
}

/**
 * v·(lower + upper)/2 rounded once for what `settledProduct` leaves: a
 * product near a midpoint, decided exactly when 6·slope is a double-double
 * (nExact); out of its range, or any other slope, by BigInt; −0 stays −0.
 */
function unsettledProduct(v: number, s: Slope): number {
  if (v === 0 || !Number.isFinite(v)) return v * s.hh; // IEEE zeros, infinities and NaN
  if (s.nExact) {
    const p = twoProd(v, s.hh);
    const e = dd.lo + v * s.hl;
    const r = p + e;
    const a = Math.abs(r);
    if (a >= 2 ** -900 && a < 2 ** 990) {
      if (s.nl === 0) {
        // Nearly all of these are exact ties, from significands divisible by 3: then v/3 is exact and
        // (v/3)·N/2 rounds once, ties to even, with no help.
        const third = v / 3;
        if (twoProd(third, 3) === v && dd.lo === 0) return (third * s.nh) / 2;
      }
      // Near the midpoint M = r + d/2: the sign of v·N − 6M, N = 6·slope, exactly (all its terms are exact products).
      const d = r + 2 * (p - r + e) - r;
      terms[0] = twoProd(v, s.nh);
      terms[1] = dd.lo;
      terms[2] = twoProd(v, s.nl);
      terms[3] = dd.lo;
      terms[4] = -twoProd(6, r);
      terms[5] = -dd.lo;
      terms[6] = -3 * d;
      const side = signOfSum(terms, 7);
      return side === 0 ? r + d / 2 : side === Math.sign(d) ? r + d : r; // r + d/2 is M itself: IEEE rounds it to even
    }
  }
  return exactTimesSlope(v, s);
}

/** v·(lower + upper)/2 as v·(3·lower + 3·upper)/6, a bound of 1/3 entering as 1 (the rare path: BigInt). */
function exactTimesSlope(v: number, s: Slope): number {
  const sum = new ExactSum();
  for (const bound of [s.lower, s.upper]) {
    if (bound === 1 / 3) sum.addProduct(v, 1);
    else sum.addProduct(v, bound).addProduct(v, bound).addProduct(v, bound);
  }
  return sum.round(6) || v * 0;
}

/**
 * Randomized leaky ReLU: x for x > 0, a·x for x ≤ 0.
 *
 * Training: a ~ U(lower, upper), one draw per element in row-major order from
 * the seeded stream (src/core/noise.ts), drawn for every element whatever its
 * sign, so the same seed and shape give the same slopes in forward and
 * backward. a = lower + (upper − lower)·u in float64 from the parameters as
 * sent; y = x·a and dx = dy·a, one rounding each.
 *
 * Eval: leaky ReLU with the mean slope (lower + upper)/2, taken as the exact
 * real number: the defaults are the fractions 1/8 and 1/3 (the float64
 * nearest 1/3 stands for 1/3), so the slope is 11/48, carried as a
 * double-double, and x·slope is rounded once at every magnitude (subnormal
 * and huge products included; −0 stays −0, as in IEEE x·a).
 *
 * The derivative at x = 0 is the slope (a, or the mean), as leaky_relu; a NaN
 * input gives NaN in both directions.
 */
export const rrelu = defineActivation({
  name: 'rrelu',
  title: 'Randomized leaky ReLU',
  summary: 'A leaky ReLU whose negative slope is drawn at random per element in training, and fixed to its mean in eval.',
  kind: 'elementwise',
  params: z
    .strictObject({
      lower: z
        .number()
        .min(0)
        .default(1 / 8)
        .describe('Lower bound of the random slope, 0 ≤ lower ≤ upper (default exactly 1/8).'),
      upper: z
        .number()
        .default(1 / 3)
        .describe('Upper bound of the random slope (default exactly 1/3).'),
      training: z
        .boolean()
        .default(false)
        .describe('true: draw a slope per element from U(lower, upper); false: use the mean slope (lower + upper)/2.'),
      seed: SeedSchema.optional().describe(
        'Seed of the slopes in training mode; omitted, one is chosen and returned as `seed`. The same seed and shape give the same slopes, forward and backward.',
      ),
    })
    .refine((p) => p.lower <= p.upper, { path: ['lower'], message: 'lower must not exceed upper' }),
  learnable: [],
  formula:
    '\\operatorname{RReLU}(x) = \\begin{cases} x & x > 0 \\\\ a x & x \\le 0 \\end{cases},\\quad a \\sim U(\\text{lower}, \\text{upper}) \\text{ (training)},\\ a = \\tfrac{\\text{lower} + \\text{upper}}{2} \\text{ (eval)}',
  derivative: "\\operatorname{RReLU}'(x) = \\begin{cases} 1 & x > 0 \\\\ a & x \\le 0 \\end{cases}",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: false,
    monotonic: true,
    smooth: false,
    bounded: false,
    kinks: 'The derivative at x = 0 is taken as the slope a (the drawn one in training, (lower + upper)/2 in eval).',
    pros: [
      'Negative inputs keep a gradient, so units do not die.',
      'The random slope acts as a regulariser during training (Xu et al. found it reduced overfitting on small data sets).',
      'Costs one uniform draw per element in training, a multiplication in eval.',
    ],
    cons: [
      'Training and eval differ, and results depend on the seed; reproducing a backward pass needs the forward seed.',
      'Two more hyperparameters (lower, upper).',
      'Not zero-centred, and no sparsity for negative inputs.',
    ],
    references: [
      { title: 'Xu, Wang, Chen & Li (2015), Empirical Evaluation of Rectified Activations in Convolutional Network', url: 'https://arxiv.org/abs/1505.00853' },
      { title: 'PyTorch documentation, torch.nn.RReLU', url: 'https://pytorch.org/docs/stable/generated/torch.nn.RReLU.html' },
    ],
  },
  example: { inputs: [[-2, -0.5, 0, 0.5, 2]], params: { training: true, seed: 42 } },
  resolveParams(params) {
    return params.training && params.seed === undefined ? { ...params, seed: randomSeed() } : params;
  },
  responseFields: {
    shape: {
      seed: SeedSchema.optional().describe('The seed the slopes were drawn with (training mode only): send it back to reproduce them.'),
    },
    values: (params) => (params.training ? { seed: params.seed } : {}),
  },
  forward({ x, out, params }) {
    const { lower, upper } = params;
    if (params.training) {
      const noise = new NoiseStream(requireSeed('rrelu', params.seed));
      const width = upper - lower;
      for (let i = 0; i < x.length; i++) {
        const a = lower + width * noise.uniform();
        const v = x[i];
        out[i] = v * (v > 0 ? 1 : a);
      }
      return;
    }
    const slope = meanSlope(lower, upper);
    if (slope.careful) {
      const { hh, hl, halved } = slope;
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        let negative = halved ? settledProduct(v, hh, hl) : NaN;
        if (negative !== negative) negative = unsettledProduct(v, slope);
        out[i] = v > 0 ? v : negative;
      }
      return;
    }
    const { hh, hl } = slope;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const negative = mulRoundSub(v, hh, hl);
      out[i] = v > 0 ? v : negative;
    }
  },
  backward({ x, dy, dx, params }) {
    const { lower, upper } = params;
    if (params.training) {
      const noise = new NoiseStream(requireSeed('rrelu', params.seed));
      const width = upper - lower;
      for (let i = 0; i < x.length; i++) {
        const a = lower + width * noise.uniform();
        const v = x[i];
        dx[i] = v === v ? dy[i] * (v > 0 ? 1 : a) : NaN;
      }
      return undefined;
    }
    const slope = meanSlope(lower, upper);
    const { hh, hl, careful, halved } = slope;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const d = dy[i];
      let negative: number;
      if (careful) {
        negative = halved ? settledProduct(d, hh, hl) : NaN;
        if (negative !== negative) negative = unsettledProduct(d, slope);
      } else negative = mulRoundSub(d, hh, hl);
      dx[i] = v > 0 ? d : v === v ? negative : NaN;
    }
    return undefined;
  },
});
