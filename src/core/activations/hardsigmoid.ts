import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { SPLIT_SAFE } from '../exact-linear.js';
import { addDD, dd, twoProd, twoSum } from '../numeric/dd.js';
import { DEKKER_SAFE, ExactSum } from '../numeric/exact-sum.js';

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
 * Whether α·x + β is near [0, 1] or inside it: the rough float64 value, r =
 * fl(fl(α·x) + β), is within 2^-50 of the terms' size of the truth, so
 * outside this window the truth is outside [0, 1] and on r's side, and r
 * clamped is the answer; r = ±∞ and NaN are outside.
 */
function inWindow(ax: number, rough: number, absBeta: number): boolean {
  const slack = (Math.abs(ax) + absBeta) * 2 ** -50;
  return rough - slack <= 1 && rough + slack >= 0;
}

/**
 * Whether N = n·x + q·β must be formed exactly (BigInt) rather than in
 * double-double: for x or the parameters beyond 2^995, where Dekker's split
 * would overflow, and (α ≠ 1/6) where fl(α·x) is below DEKKER_SAFE with
 * neither factor 0, where his product loses bits of its low part to
 * underflow (that shifted results next to the subnormals by an ULP and put
 * the kink at an α·x + β that only looked 0 or 1: α = −5e-324, x = −8.7e-19
 * is 4.3e-342, inside). Only elements in the window get here, and such ones
 * are rare.
 */
function needsExact(a: Affine, v: number): boolean {
  return !a.safe || Math.abs(v) >= SPLIT_SAFE || (a.q === 1 && Math.abs(a.alpha * v) < DEKKER_SAFE && v !== 0 && a.alpha !== 0);
}

function exactNumerator(n: number, q: number, beta: number, v: number): ExactSum {
  return new ExactSum().addProduct(n, v).addProduct(q, beta);
}

const EXACT_ZERO = new ExactSum();
const EXACT_ONE = new ExactSum().add(1);
const EXACT_SIX = new ExactSum().add(6);

/** Whether N/q is strictly inside (0, 1), for q = 1 or 6; an N with a term that is not finite is not. */
function strictlyInside(numerator: ExactSum, q: number): boolean {
  return numerator.finite && numerator.compare(EXACT_ZERO) > 0 && numerator.compare(q === 1 ? EXACT_ONE : EXACT_SIX) < 0;
}

/**
 * The forward, in blocks of BLOCK elements and two passes, so that no branch
 * depends on the sign of the data (random signs made a per-element form
 * mispredict) and the exact arithmetic runs only where it can matter:
 *
 * 1. sortOut writes [rough ≥ ½] (0 or 1) everywhere, and lists the elements
 *    whose rough value is not beyond the cuts (or is NaN). Beyond the cuts
 *    the rough value is outside the window (see cutsOf), and clamped it is
 *    0 or 1, the same.
 * 2. A refine loop redoes the listed elements: outside the window the rough
 *    value; inside it N = n·x + q·β in double-double and divided by q (addDD
 *    and divDD inlined, no calls, no low word through `dd.lo`), or exactly
 *    where double-double cannot hold it (needsExact for α ≠ 1/6, a tiny N for
 *    α = 1/6); then the Math.max/Math.min clamp (so even a NaN
 *    keeps the bits V8 gave it). Its branches are on rare cases (near 0 and
 *    1, NaN, |x| ≥ 2^995, tiny products, ties), so they are predicted.
 *
 * Dropped from the inlined operations, because they can only change the sign
 * of a zero, and a zero of either sign is clamped to +0: the terms multiplied
 * by an exact 0 (divDD's q·0, and twoProd's ah·0 and al·0 for the factor 6),
 * and additions of an exact +0.
 *
 * The loops take the parameters as numbers, not the Affine object: its map
 * changes as V8 widens field representations (n = 1, then 0.2), which
 * deoptimised them. `p * 1` makes a raw double of an argument once, before the
 * loop; V8 otherwise unboxes it on every iteration.
 */
const BLOCK = 1024;
/** Per block: where the listed elements are, and their x (read back from here, so `out` may alias `x`). */
const listedAt = new Int32Array(BLOCK);
const listedX = new Float64Array(BLOCK);
/** Veltkamp's constant (dd.ts). */
const SPLITTER = 134217729;

/** Which refine loop: α ≠ 1/6; α = 1/6 with 6β a double not below 2^-897 (the default β = ½); α = 1/6 otherwise. */
type Refinement = 'slope' | 'sixth-plain' | 'sixth';

function refinementOf(a: Affine): Refinement {
  return a.q === 1 ? 'slope' : a.bl === 0 && Math.abs(a.bh) >= 2 ** -897 ? 'sixth-plain' : 'sixth';
}

function forwardBlocks(x: Float64Array, out: Float64Array, refinement: Refinement, alpha: number, beta: number, bh: number, bl: number): void {
  const { hi, lo } = cutsOf(beta);
  for (let start = 0; start < x.length; start += BLOCK) {
    const count = sortOut(x, out, start, Math.min(x.length, start + BLOCK), alpha, beta, hi, lo);
    if (refinement === 'slope') refineSlope(out, count, alpha, beta);
    else if (refinement === 'sixth-plain') refineSixthPlain(out, count, alpha, beta, bh);
    else refineSixth(out, count, alpha, beta, bh, bl);
  }
}

/**
 * Cuts on the rough value r = fl(fl(α·x) + β): r > hi implies fl(r − slack) > 1,
 * and r < lo implies fl(r + slack) < 0, so r is outside inWindow's window.
 * From r = fl(α·x + β), |α·x| ≤ |r|·(1 + 2^-52) + |β|, so slack ≤ 2^-50·(|r| + 2|β|)
 * up to a factor 1 + 2^-51 (plus 2^-1074 if it underflows); the margin
 * 2^-44·(1 + |β|) leaves r ∓ slack beyond 1 + 2^-45 or below −2^-45, which
 * rounding cannot bring back to 1 or 0. r = ±∞ is outside too (r ∓ slack is
 * ±∞ or NaN); r = NaN fails both comparisons and is listed.
 */
function cutsOf(beta: number): { hi: number; lo: number } {
  const margin = (1 + Math.abs(beta)) * 2 ** -44;
  return { hi: 1 + margin, lo: -margin };
}

/** Pass 1 over [start, end): out = [rough ≥ ½]; lists the rest; returns how many (unrolled by 4, no branch per element). */
function sortOut(x: Float64Array, out: Float64Array, start: number, end: number, alphaArg: number, betaArg: number, hiArg: number, loArg: number): number {
  const alpha = alphaArg * 1;
  const beta = betaArg * 1;
  const hi = hiArg * 1;
  const lo = loArg * 1;
  const at = listedAt;
  const xs = listedX;
  let k = 0;
  let i = start;
  for (; i + 3 < end; i += 4) {
    const va = x[i];
    const vb = x[i + 1];
    const vc = x[i + 2];
    const vd = x[i + 3];
    const ra = alpha * va + beta;
    const rb = alpha * vb + beta;
    const rc = alpha * vc + beta;
    const rd = alpha * vd + beta;
    out[i] = +(ra >= 0.5);
    out[i + 1] = +(rb >= 0.5);
    out[i + 2] = +(rc >= 0.5);
    out[i + 3] = +(rd >= 0.5);
    // Listed unless beyond a cut: 1 − [r > hi or r < lo], so NaN is listed.
    at[k] = i;
    xs[k] = va;
    k += 1 - (+(ra > hi) | +(ra < lo));
    at[k] = i + 1;
    xs[k] = vb;
    k += 1 - (+(rb > hi) | +(rb < lo));
    at[k] = i + 2;
    xs[k] = vc;
    k += 1 - (+(rc > hi) | +(rc < lo));
    at[k] = i + 3;
    xs[k] = vd;
    k += 1 - (+(rd > hi) | +(rd < lo));
  }
  for (; i < end; i++) {
    const v = x[i];
    const r = alpha * v + beta;
    out[i] = +(r >= 0.5);
    at[k] = i;
    xs[k] = v;
    k += 1 - (+(r > hi) | +(r < lo));
  }
  return k;
}

/**
 * Pass 2, α = 1/6 when 6β is a double (bl = 0) of at least 2^-897, as for the
 * default β = ½: divDD(x + 6β, 6) with two steps fewer, the same bits.
 * - addDD(x, 0, bh, 0) is twoSum(x, bh) = s + e, as fl(s + e) = s leaves its
 *   renormalisations unchanged.
 * - divDD's residual s − p − pl, with p + pl = 6·qh by Dekker's product, is
 *   s − 6·qh exactly (a multiple of ulp(qh) of at most 3 ulps); so is
 *   (s − 4qh) − 2qh, both subtractions exact by Sterbenz (4qh ≈ 2s/3,
 *   2qh ≈ s − 4qh ≈ s/3). Dekker's product is exact for |qh| ≥ 2^-972, and a
 *   nonzero s = fl(x + bh) is at least |bh|·2^-54 (x and bh are multiples of
 *   ulp(bh)/2 unless |x| < |bh|/2), so |qh| ≥ 2^-954.
 * - Nothing splits x (x·1 needs no product), and in the window qh is small,
 *   so x beyond 2^995 needs no exact path here, nor in refineSixth.
 */
function refineSixthPlain(out: Float64Array, count: number, alphaArg: number, betaArg: number, bhArg: number): void {
  const alpha = alphaArg * 1;
  const beta = betaArg * 1;
  const bh = bhArg * 1;
  const absBeta = Math.abs(beta);
  for (let m = 0; m < count; m++) {
    const v = listedX[m];
    const ax = alpha * v;
    let y = ax + beta;
    if ((y > 0 && y < 1) || inWindow(ax, y, absBeta)) {
      const s = v + bh;
      const sb = s - v;
      const e = v - (s - sb) + (bh - sb);
      const qh = s / 6;
      y = qh + (s - 4 * qh - 2 * qh + e) / 6;
    }
    out[listedAt[m]] = Math.max(0, Math.min(1, y));
  }
}

/**
 * Below this N, divDD's correction (N − 6·qh + nl)/6 is rounded to the
 * subnormal grid, an error of up to 2^-1075 against a distance of 2^-1074/6
 * from the exact quotient to a rounding midpoint: one ULP off for 1.3e-306 −
 * 2.4e-321. From here up ulp(qh)/2 ≥ 2^-1016, so a correction that small
 * leaves qh far from any midpoint. Such N need a β below 2^-897 (refineSixth,
 * not refineSixthPlain) and are rare; they are divided exactly (BigInt).
 */
const SIXTH_EXACT_BELOW = 2 ** -960;

/** Pass 2, α = 1/6 and any other β: N = x + 6β by addDD (twoProd(1, x) is x with low word +0), then divDD(N, 6), as they are, or exactly for a tiny N. */
function refineSixth(out: Float64Array, count: number, alphaArg: number, betaArg: number, bhArg: number, bl: number): void {
  const alpha = alphaArg * 1;
  const beta = betaArg * 1;
  const bh = bhArg * 1;
  const absBeta = Math.abs(beta);
  // addDD's twoSum of the low words, x·1's +0 and bl: the same for every element.
  const t0 = twoSum(0, bl);
  const f0 = dd.lo;
  for (let m = 0; m < count; m++) {
    const v = listedX[m];
    const ax = alpha * v;
    let y = ax + beta;
    if ((y > 0 && y < 1) || inWindow(ax, y, absBeta)) {
      // addDD(v, 0, bh, bl)
      const s = v + bh;
      const sb = s - v;
      const e = v - (s - sb) + (bh - sb);
      const g = e + t0;
      const u = s + g;
      const h = g - (u - s) + f0;
      const nh = u + h;
      const nl = h - (nh - u);
      if (nh !== 0 && Math.abs(nh) < SIXTH_EXACT_BELOW) y = exactNumerator(1, 6, beta, v).round(6);
      else {
        // divDD(nh, nl, 6, 0)
        const qh = nh / 6;
        const p = qh * 6;
        const sq = SPLITTER * qh;
        const qhh = sq - (sq - qh);
        const qhl = qh - qhh;
        const pl = qhh * 6 - p + qhl * 6;
        y = qh + (nh - p - pl + nl) / 6;
      }
    }
    out[listedAt[m]] = Math.max(0, Math.min(1, y));
  }
}

/**
 * Pass 2, any other α (n = α, q = 1, so bh = β and bl = +0: twoProd(1, β) has
 * low word (βh − β) + βl = 0, rounding being symmetric): twoProd(α, x), then
 * addDD with β, its high word; exactly where needsExact says so (its test
 * inlined).
 */
function refineSlope(out: Float64Array, count: number, alphaArg: number, betaArg: number): void {
  const alpha = alphaArg * 1;
  const beta = betaArg * 1;
  const absBeta = Math.abs(beta);
  const sa = SPLITTER * alpha;
  const ah = sa - (sa - alpha);
  const al = alpha - ah;
  for (let m = 0; m < count; m++) {
    const v = listedX[m];
    const ax = alpha * v;
    let y = ax + beta;
    const near = (y > 0 && y < 1) || inWindow(ax, y, absBeta);
    if (near && (Math.abs(v) >= SPLIT_SAFE || (Math.abs(ax) < DEKKER_SAFE && v !== 0 && alpha !== 0))) y = exactNumerator(alpha, 1, beta, v).round();
    else if (near) {
      // twoProd(α, v): its high word is ax
      const sv = SPLITTER * v;
      const vh = sv - (sv - v);
      const vl = v - vh;
      const pl = ah * vh - ax + ah * vl + al * vh + al * vl;
      // addDD(ax, pl, β, 0): twoSum(pl, 0) is pl with low word +0
      const s = ax + beta;
      const sb = s - ax;
      const e = ax - (s - sb) + (beta - sb);
      const g = e + pl;
      const u = s + g;
      const lo = g - (u - s);
      y = u + lo;
      // u + lo is exact but for g's rounding, which is below g's last bit and
      // so can only decide a tie of u + lo (β far below α·x: 5e-324 against
      // 2e-271 decided the tie α·x sat on).
      const d = lo - (y - u);
      if (d !== 0 && y + 2 * d - y === 2 * d) y = brokenTie(y, d, e, pl);
    }
    out[listedAt[m]] = Math.max(0, Math.min(1, y));
  }
}

/**
 * y, which u + lo = y + d rounded to at a tie (|d| half y's step), rounded
 * again with the part that g = fl(e + pl) dropped: past the tie (the neighbour
 * y + 2d) if that part has d's sign, y if the other or none.
 */
function brokenTie(y: number, d: number, e: number, pl: number): number {
  twoSum(e, pl);
  const dropped = dd.lo;
  return dropped === 0 || dropped > 0 !== d > 0 ? y : y + 2 * d;
}

/** Parameters beyond 2^995, where Dekker's split would overflow: the rough value outside the window, exactly inside it; too rare to tune. */
function unsafeForward(x: Float64Array, out: Float64Array, a: Affine): void {
  const absBeta = Math.abs(a.beta);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const ax = a.alpha * v;
    const rough = ax + a.beta;
    out[i] = Math.max(0, Math.min(1, inWindow(ax, rough, absBeta) ? exactNumerator(a.n, a.q, a.beta, v).round(a.q) : rough));
  }
}

/**
 * The backward at one element: dy·n/q where 0 < N/q < 1 exactly, else +0, or
 * NaN for a NaN x. Outside the window the rough value is outside [0, 1]: +0.
 * In double-double, N is normalised, so its sign and its order against q
 * follow from the high part (the low part breaking a tie with q).
 */
function backwardAt(a: Affine, v: number, g: number): number {
  const ax = a.alpha * v;
  const rough = ax + a.beta;
  if (!inWindow(ax, rough, Math.abs(a.beta))) return v === v ? 0 : NaN;
  let inside: boolean;
  if (needsExact(a, v)) inside = strictlyInside(exactNumerator(a.n, a.q, a.beta, v), a.q);
  else {
    const nh = addDD(twoProd(a.n, v), dd.lo, a.bh, a.bl);
    const nl = dd.lo;
    inside = nh > 0 && (nh < a.q || (nh === a.q && nl < 0));
  }
  return inside ? (g * a.n) / a.q : 0;
}

/** Per block: dy of the listed elements (the backward's; x goes in listedX). */
const listedDy = new Float64Array(BLOCK);
/** The backward's two candidates, [+0, dy·n/q], at [inside]. */
const settled = new Float64Array(2);

/**
 * The backward in blocks, as the forward: most elements are settled by the
 * rough value r = α·x + β alone, without a branch on the data, and the rest
 * (r within 2^-44·(1 + |β|) of 0 or 1, or NaN) are listed and redone by
 * backwardAt.
 * - r > hi or r < lo (cutsOf): r is outside the window, and backwardAt
 *   gives +0.
 * - margin < r < 1 − margin, margin = 2^-44·(1 + |β|): the truth is within
 *   slack ≤ 2^-50·(|r| + 2|β|)·(1 + 2^-51) of r (cutsOf), so strictly inside
 *   (0, 1), and backwardAt says inside: dy·n/q, the same expression.
 * The two candidates sit in a small table indexed by [inside] (piecewise.ts).
 */
function backwardBlocks(x: Float64Array, dy: Float64Array, dx: Float64Array, a: Affine): void {
  const { hi, lo } = cutsOf(a.beta);
  // The cuts' margin: lo = −margin.
  for (let start = 0; start < x.length; start += BLOCK) {
    const count = sortOutBackward(x, dy, dx, start, Math.min(x.length, start + BLOCK), a.alpha, a.beta, a.n, a.q, hi, lo, -lo, 1 + lo);
    for (let m = 0; m < count; m++) dx[listedAt[m]] = backwardAt(a, listedX[m], listedDy[m]);
  }
}

/** Pass 1 of the backward over [start, end): dx where r settles it; lists the rest; returns how many. */
function sortOutBackward(
  x: Float64Array,
  dy: Float64Array,
  dx: Float64Array,
  start: number,
  end: number,
  alphaArg: number,
  betaArg: number,
  nArg: number,
  qArg: number,
  hiArg: number,
  loArg: number,
  inLoArg: number,
  inHiArg: number,
): number {
  const alpha = alphaArg * 1;
  const beta = betaArg * 1;
  const n = nArg * 1;
  const q = qArg * 1;
  const hi = hiArg * 1;
  const lo = loArg * 1;
  const inLo = inLoArg * 1;
  const inHi = inHiArg * 1;
  const t = settled;
  const at = listedAt;
  const xs = listedX;
  const gs = listedDy;
  let k = 0;
  for (let i = start; i < end; i++) {
    const v = x[i];
    const g = dy[i];
    const r = alpha * v + beta;
    const inside = +(r > inLo) & +(r < inHi);
    t[1] = (g * n) / q;
    dx[i] = t[inside];
    // Listed unless settled: NaN fails every comparison and is listed.
    at[k] = i;
    xs[k] = v;
    gs[k] = g;
    k += 1 - (+(r > hi) | +(r < lo) | inside);
  }
  return k;
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
    if (!a.safe) return unsafeForward(x, out, a);
    forwardBlocks(x, out, refinementOf(a), a.alpha, a.beta, a.bh, a.bl);
  },
  backward({ x, dy, dx, params }) {
    const a = affineOf(params.alpha, params.beta);
    if (!a.safe) {
      for (let i = 0; i < x.length; i++) dx[i] = backwardAt(a, x[i], dy[i]);
    } else backwardBlocks(x, dy, dx, a);
    return undefined;
  },
});
