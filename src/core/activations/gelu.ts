import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, twoSum, fastTwoSum, twoProd, mulDD, mulDD1, addDD, divDD, ddFraction } from '../numeric/dd.js';
import { expX, expSplit, scaleRound, scaleRoundMul } from '../numeric/exp.js';
import {
  cdfPieceInto,
  PIECES_END,
  tailExponent,
  tailShift,
  SQRT1_2_H,
  SQRT1_2_L,
  INV_SQRT_2PI_H,
  INV_SQRT_2PI_L,
  SQRT_2_OVER_PI_H,
  SQRT_2_OVER_PI_L,
} from '../numeric/normal.js';
import { GELU_ROOTS, ROOT_BAND, rootSeries } from '../numeric/roots.js';
import { fixTinySlopes, HALF_INEXACT, halfPlus, mulRoundSub, SMALLEST_SAFE, tinyInputs } from '../smooth/round.js';

/** The spec's constants as the exact reals they write: 1.702, 0.044715, 3·0.044715, 2√(2/π). */
const [K_H, K_L] = ddFraction(1702, 1000);
const [A_H, A_L] = ddFraction(44715, 1_000_000);
const [A3_H, A3_L] = ddFraction(134145, 1_000_000);
const C2_H = 2 * SQRT_2_OVER_PI_H;
const C2_L = 2 * SQRT_2_OVER_PI_L;
const ROOT_NONE = GELU_ROOTS.none;
/** 2^27 + 1, Veltkamp's splitter (numeric/dd.ts), for the products written out below. */
const SPLITTER = 134217729;
const ROOT_TANH = GELU_ROOTS.tanh;
const ROOT_SIGMOID = GELU_ROOTS.sigmoid;

// ------------------------------------------------------------ exact: x·Φ(x)

/**
 * x·Φ(x) for |x| > 4.25 (and NaN), one rounding at the end; the batch loop
 * below does |x| <= 4.25 itself.
 */
function geluTail(x: number): number {
  if (x < 0) {
    if (x > -40) {
      // x·Φ(x) = -(1/√2)·exp(A): x cancels against Φ's 1/x; scaled once into the subnormals.
      const ah = tailExponent(-x);
      const h = expSplit(ah, dd.lo);
      const m = mulDD(h, dd.lo, -SQRT1_2_H, -SQRT1_2_L);
      return scaleRound(m, dd.lo, dd.k);
    }
    return -0; // below half the smallest subnormal, and the limit at -Infinity
  }
  if (x < 40) {
    const ah = tailExponent(x);
    const e = expX(ah, dd.lo);
    return x - SQRT1_2_H * e; // x - x·Φ(-x), the correction is below 2^-15·x
  }
  return x; // also +Infinity and NaN
}

/**
 * Φ(v) for |v| <= 4.25 as NEAR[0] + NEAR[1], for the batch loops: Φ(-|v|)
 * from the pieces (numeric/normal.ts), then Φ(v) = m + (1 - 2m)·Φ(-|v|) with
 * m = [v > 0] (TwoSum and FastTwoSum written out), without a branch on the
 * sign of v, which random data would mispredict.
 */
const NEAR = new Float64Array(2);
function cdfNearInto(v: number): void {
  cdfPieceInto(-Math.abs(v), NEAR);
  const ph = NEAR[0];
  const pl = NEAR[1];
  const m = +(v > 0);
  const sg = 1 - 2 * m;
  const sph = sg * ph;
  const ch = m + sph;
  const cb = ch - m;
  const cl = m - (ch - cb) + (sph - cb) + sg * pl;
  const c = ch + cl;
  NEAR[0] = c;
  NEAR[1] = cl - (c - ch);
}

/**
 * x·Φ(x) over a batch, with its |x| <= 4.25 case written out: cdfNearInto
 * and mulRoundSub inline with locals, the same operations in the same order
 * (test/core/gelu.test.ts holds it to them, bit for bit). The calls and the
 * shared `dd` object they pass low parts through took 40% of the time there
 * (11 -> 20 M elements/s); the tails call geluTail. cdfNearInto, shared with
 * the backward, costs the forward about 15% against its arithmetic copied in
 * here (24 against 28 M elements/s in one process): kept, for one copy.
 */
function geluExactBatch(x: Float64Array, out: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!(Math.abs(v) <= PIECES_END)) {
      out[i] = geluTail(v);
      continue;
    }
    cdfNearInto(v);
    const C = NEAR[0];
    const Cl = NEAR[1];
    // mulRoundSub(v, C, Cl): v·Φ(v), rounded once (its rare tiny case by the call)
    const p = v * C;
    const sv = SPLITTER * v;
    const vh = sv - (sv - v);
    const vl = v - vh;
    const sc = SPLITTER * C;
    const Ch = sc - (sc - C);
    const Clo = C - Ch;
    const r = p + (vh * Ch - p + vh * Clo + vl * Ch + vl * Clo + v * Cl);
    // Tiny: Φ(v) − 1/2 = 0.4v underflows there, yet its sign (v·0.4v > 0) breaks the ties of v/2.
    out[i] = Math.abs(r) >= SMALLEST_SAFE ? r : Math.abs(v) < HALF_INEXACT ? halfPlus(v, 1) : mulRoundSub(v, C, Cl);
  }
}

/**
 * dy·(Φ(x) + xφ(x)) in the root band (its Taylor series, numeric/roots.ts)
 * and for |x| > 4.25 (and NaN); the batch loop below does the rest of
 * |x| <= 4.25 itself.
 */
function geluGradRootOrTail(x: number, dy: number): number {
  if (Math.abs(x) <= PIECES_END) return mulRoundSub(dy, rootSeries(ROOT_NONE, x), dd.lo);
  if (x !== x) return NaN;
  if (x < 0) {
    if (x > -60) {
      // gelu′ = exp(-w²/2)·B, B = (1/√2)·exp(shift)/w - w/√(2π), w = -x: B has no
      // cancellation (its first term is below 6% of the second) and the small
      // exp is scaled in once at the end.
      const w = -x;
      const fh = tailShift(w);
      const eh = expX(fh, dd.lo);
      let bh = mulDD(eh, dd.lo, SQRT1_2_H, SQRT1_2_L);
      bh = divDD(bh, dd.lo, w, 0);
      const bl = dd.lo;
      const ph = mulDD1(INV_SQRT_2PI_H, INV_SQRT_2PI_L, w);
      bh = addDD(bh, bl, -ph, -dd.lo);
      const cl = dd.lo;
      const q = twoProd(w, w);
      const h = expSplit(-0.5 * q, -0.5 * dd.lo);
      const k = dd.k;
      const m = mulDD(h, dd.lo, bh, cl);
      return scaleRoundMul(m, dd.lo, k, dy);
    }
    return dy * 0; // even dy = 1.8e308 times gelu′(-60) underflows; the limit at -Infinity is 0
  }
  if (x < 40) {
    // 1 + xφ(x) - Φ(-x): both small terms below 2^-11, so double precision suffices for them.
    const q = twoProd(x, x);
    const pdf = expX(-0.5 * q, -0.5 * dd.lo) * INV_SQRT_2PI_H;
    const ah = tailExponent(x);
    const tail = (expX(ah, dd.lo) * SQRT1_2_H) / x;
    const gh = fastTwoSum(1, x * pdf - tail);
    return mulRoundSub(dy, gh, dd.lo);
  }
  return dy; // gelu′ = 1 to double precision, and the limit at +Infinity
}

/** INV_SQRT_2PI_H split as twoProd splits it (Veltkamp), for the products written out below. */
const INV_SQRT_2PI_HH = SPLITTER * INV_SQRT_2PI_H - (SPLITTER * INV_SQRT_2PI_H - INV_SQRT_2PI_H);
const INV_SQRT_2PI_HL = INV_SQRT_2PI_H - INV_SQRT_2PI_HH;

/**
 * gelu′ over a batch, with its |x| <= 4.25 case outside the root band
 * written out as the forward's is: cdfNearInto, and twoProd(x, x), mulDD,
 * mulDD1, addDD and mulRoundSub inline with locals, the same operations in the
 * same order (test/core/gelu.test.ts holds it to them, bit for bit). expX
 * stays a call: writing it out too gained only 5%. The root band and the
 * tails call geluGradRootOrTail.
 */
function geluExactGradBatch(x: Float64Array, dy: Float64Array, dx: Float64Array): void {
  const root = ROOT_NONE[0];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!(Math.abs(v) <= PIECES_END) || Math.abs(v - root) <= ROOT_BAND) {
      dx[i] = geluGradRootOrTail(v, dy[i]);
      continue;
    }
    cdfNearInto(v);
    const C = NEAR[0];
    const Cl = NEAR[1];
    // twoProd(v, v) = qh + ql
    const qh = v * v;
    const sv = SPLITTER * v;
    const vh = sv - (sv - v);
    const vl = v - vh;
    const ql = vh * vh - qh + vh * vl + vl * vh + vl * vl;
    // expX(-qh/2, -ql/2) = eh + el
    const eh = expX(-0.5 * qh, -0.5 * ql);
    const el = dd.lo;
    // mulDD(eh, el, 1/√(2π)) = m1 + m1l
    const q1 = eh * INV_SQRT_2PI_H;
    const se = SPLITTER * eh;
    const ehh = se - (se - eh);
    const ehl = eh - ehh;
    const q1l = ehh * INV_SQRT_2PI_HH - q1 + ehh * INV_SQRT_2PI_HL + ehl * INV_SQRT_2PI_HH + ehl * INV_SQRT_2PI_HL;
    const e1 = q1l + (eh * INV_SQRT_2PI_L + el * INV_SQRT_2PI_H);
    const m1 = q1 + e1;
    const m1l = e1 - (m1 - q1);
    // mulDD1(m1, m1l, v) = xh + xl: xφ(x)
    const q2 = m1 * v;
    const sm = SPLITTER * m1;
    const m1h = sm - (sm - m1);
    const m1o = m1 - m1h;
    const q2l = m1h * vh - q2 + m1h * vl + m1o * vh + m1o * vl;
    const e2 = q2l + m1l * v;
    const xh = q2 + e2;
    const xl = e2 - (xh - q2);
    // addDD(C, Cl, xh, xl) = gh + gl: Φ(x) + xφ(x)
    const ss1 = C + xh;
    const bb1 = ss1 - C;
    const e3 = C - (ss1 - bb1) + (xh - bb1);
    const ss2 = Cl + xl;
    const bb2 = ss2 - Cl;
    const f = Cl - (ss2 - bb2) + (xl - bb2);
    const t3 = e3 + ss2;
    const u = ss1 + t3;
    const ul = t3 - (u - ss1);
    const t4 = ul + f;
    const gh = u + t4;
    const gl = t4 - (gh - u);
    // mulRoundSub(dy, gh, gl)
    const d = dy[i];
    const pd = d * gh;
    const sd = SPLITTER * d;
    const dh = sd - (sd - d);
    const dl = d - dh;
    const sg2 = SPLITTER * gh;
    const ghh = sg2 - (sg2 - gh);
    const ghl = gh - ghh;
    const res = pd + (dh * ghh - pd + dh * ghl + dl * ghh + dl * ghl + d * gl);
    dx[i] = Math.abs(res) >= SMALLEST_SAFE ? res : mulRoundSub(d, gh, gl);
  }
}

// ------------------------------------------------- the approximate forms: x·σ(s)

/**
 * 2√(2/π)·x·(1 + a·x²) in double-double: with a = 0.044715 it is s = 2u of the tanh
 * form, with a = 3·0.044715 it is x·ds/dx. exp(s) multiplies an error in s by
 * |s| (up to 745), so s has to be exact well beyond double precision.
 */
function cubic(x: number, aH: number, aL: number): number {
  const q = twoProd(x, x);
  const ql = dd.lo;
  const p = twoProd(aH, q);
  const pl = dd.lo + (aH * ql + aL * q);
  const w = twoSum(1, p);
  const wl = dd.lo + pl;
  const v = twoProd(x, w);
  const vl = dd.lo + x * wl;
  const s = twoProd(C2_H, v);
  return fastTwoSum(s, dd.lo + (C2_H * vl + C2_L * v));
}

/**
 * x·σ(s) for s = sh + sl (1 + tanh u = 2σ(2u) for the tanh form), as
 * x/(1 + e^-s) for every s > -600: e^-s is then below e^600 (products of it
 * stay inside Dekker's range, 2^996), and its relative error passes to σ
 * unchanged, so one formula serves both signs and the hot loop has no branch
 * on the sign of x (random data would mispredict it). ±0 gives ±0, as x·Φ(x)
 * does (the division's compensation would make −0 into +0), and a subnormal x
 * goes to `halfPlus`, where σ(s) − 1/2 would underflow.
 */
function xSigma(x: number, sh: number, sl: number): number {
  if (Math.abs(x) < HALF_INEXACT) return halfPlus(x, 1); // x·(1/2 + s/4) with x·s > 0 (±0 included)
  if (sh > -600) {
    const e = expX(-sh, -sl);
    const el = dd.lo;
    const dh = twoSum(1, e);
    return divDD(x, 0, dh, dd.lo + el);
  }
  // x·e^s (1 + e^s = 1 to 2^-800 here) may be subnormal: multiply the mantissa, scale once.
  const h = expSplit(sh, sl);
  const k = dd.k;
  const m = mulDD1(h, dd.lo, x);
  return scaleRound(m, dd.lo, k);
}

/**
 * dy·σ(s)·(1 + v·σ(-s)), the derivative of x·σ(s(x)) with v = x·s′(x): with
 * E = e^-s it is (1 + E + v·E)/(1 + E)², one formula for both signs while
 * E ≤ e^40. For x < 0 the numerator 1 + E·(1 + v) cancels near the root of
 * gelu′ (the caller's root series covers |x - x0| ≤ 1/16); outside that band the
 * cancellation is below 2^7 and E is known to 2^-74, so full accuracy remains.
 * Below s = -40 the form e·(1 + v + e)/(1 + e)² with e = e^s takes over.
 */
function xSigmaGrad(sh: number, sl: number, vh: number, vl: number, dy: number): number {
  if (sh > -40) {
    const e = expX(-sh, -sl);
    const el = dd.lo;
    const d1 = twoSum(1, e);
    const d1l = dd.lo + el;
    const ve = mulDD(vh, vl, e, el);
    const nh = addDD(d1, d1l, ve, dd.lo);
    const nl = dd.lo;
    const den = mulDD(d1, d1l, d1, d1l);
    const g = divDD(nh, nl, den, dd.lo);
    return mulRoundSub(dy, g, dd.lo);
  }
  const oh = twoSum(1, vh); // 1 + v
  const ol = dd.lo + vl;
  if (sh > -600) {
    const e = expX(sh, sl);
    const el = dd.lo;
    const nh = addDD(oh, ol, e, el);
    const num = mulDD(e, el, nh, dd.lo);
    const numl = dd.lo;
    const d1 = fastTwoSum(1, e);
    const d1l = dd.lo + el;
    const den = mulDD(d1, d1l, d1, d1l);
    const g = divDD(num, numl, den, dd.lo);
    return mulRoundSub(dy, g, dd.lo);
  }
  // (1 + e)² = 1 and e ≪ 1 + v: dy·e^s·(1 + v), scaled once.
  const h = expSplit(sh, sl);
  const k = dd.k;
  const m = mulDD(h, dd.lo, oh, ol);
  return scaleRoundMul(m, dd.lo, k, dy);
}

/**
 * GELU in three forms, each accurate to the last bit or so (within 2 ULP in
 * float64 everywhere we measured, usually correctly rounded). The tanh and
 * sigmoid forms round once from double-double. The exact form's Φ is good to
 * about 2^-67 absolute from the pieces and 2^-58 relative from fdlibm's erfc
 * fit, so about 0.01% of −4.25 < x < 0 and 0.6% of x < −4.25 come out one
 * ULP off (against a 50-digit reference, 2026-12-07); rows/gauss.ts's Mills
 * ratio (2^-74) would settle the tail but runs about 4x slower.
 *
 * - `none`, x·Φ(x): Φ from Taylor pieces with double-double heads for |x| ≤ 4.25
 *   and fdlibm's erfc tail with an exactly split exponent beyond
 *   (numeric/normal.ts); not erfc(-x/√2), whose rounded argument costs 100+ ULP
 *   in the tail (gelu(-9.4)), and not @stdlib erfc/erfcx, off by 2 to 7 ULP.
 * - `tanh` and `sigmoid`, x·σ(s) with s = 2u (as ½(1 + tanh u) = σ(2u)) or s = 1.702x:
 *   x/(1 + e^-s), and x·e^s in the far negative tail, instead of 1 + tanh u
 *   cancelling to 0; s in double-double with the spec's exact constants, since
 *   exp turns an absolute error in s into a relative one.
 * - Backward: the derivative of the chosen form, arranged so that only one sum can
 *   cancel (Φ + xφ, or 1 + v + e), near the root x0 ≈ -0.75 of gelu′; within 1/16
 *   of it the Taylor series about the root is used (numeric/roots.ts).
 * - Results that may be subnormal (x < -35 or so) are formed from an unscaled exp
 *   and rounded once (numeric/exp.ts). gelu(±Infinity) = ±Infinity/0; NaN propagates.
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
      .describe('none: exact x·Φ(x); tanh: ½x(1 + tanh(√(2/π)(x + 0.044715x³))); sigmoid: x·σ(1.702x).'),
  }),
  learnable: [],
  // The exact form (approximate: none); the other two are in approximate's description.
  formula: '\\operatorname{GELU}(x) = x\\,\\Phi(x) = \\tfrac{1}{2} x \\operatorname{erfc}(-x/\\sqrt{2})',
  derivative: "\\operatorname{GELU}'(x) = \\Phi(x) + x\\,\\varphi(x)",
  metadata: {
    // x·Φ(x) at its minimum x0 = -0.75179152469356445746 (mpmath, 40 digits), rounded: -0.16997120747990366169…
    range: [-0.16997120747990366, 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Smooth, with a small negative dip that keeps gradients alive for slightly negative inputs.',
      "The activation of BERT, GPT-2 and many transformers since; their reference code used the tanh form, so their weights expect approximate: 'tanh'.",
      'The tanh and sigmoid forms are cheaper stand-ins that stay within about 0.02 of the exact curve.',
    ],
    cons: [
      'Costs an erf (or exp) per element, several times a ReLU.',
      'Not monotonic: the gradient changes sign near x ≈ -0.75.',
      'Peers disagree on the default form (exact in PyTorch and keras.activations.gelu, tanh in JAX and keras.ops.gelu), so results differ unless the form is pinned.',
    ],
    references: [{ title: 'Hendrycks & Gimpel (2016), Gaussian Error Linear Units (GELUs)', url: 'https://arxiv.org/abs/1606.08415' }],
  },
  example: { inputs: [[-30, -1, 0, 1, 30]], params: { approximate: 'none' } },
  forward({ x, out, params }) {
    const n = x.length;
    switch (params.approximate) {
      case 'none':
        geluExactBatch(x, out);
        break;
      case 'tanh':
        for (let i = 0; i < n; i++) {
          const v = x[i];
          // beyond these the result is v, or below the smallest subnormal
          if (v > -25 && v < 10) out[i] = xSigma(v, cubic(v, A_H, A_L), dd.lo);
          else out[i] = v >= 10 ? v : v === v ? -0 : NaN;
        }
        break;
      case 'sigmoid':
        for (let i = 0; i < n; i++) {
          const v = x[i];
          if (v > -450 && v < 30) {
            const th = twoProd(K_H, v);
            out[i] = xSigma(v, th, dd.lo + K_L * v);
          } else out[i] = v >= 30 ? v : v === v ? -0 : NaN;
        }
        break;
    }
  },
  backward({ x, dy, dx, params }) {
    const n = x.length;
    const tiny = tinyInputs(x, dy);
    switch (params.approximate) {
      case 'none':
        geluExactGradBatch(x, dy, dx);
        break;
      case 'tanh':
        for (let i = 0; i < n; i++) {
          const v = x[i];
          if (Math.abs(v - ROOT_TANH[0]) <= ROOT_BAND) {
            const g = rootSeries(ROOT_TANH, v);
            dx[i] = mulRoundSub(dy[i], g, dd.lo);
          } else if (v > -30 && v < 10) {
            // (below -30 even dy = 1.8e308 times gelu′ underflows)
            const sh = cubic(v, A_H, A_L);
            const sl = dd.lo;
            const vh = cubic(v, A3_H, A3_L);
            dx[i] = xSigmaGrad(sh, sl, vh, dd.lo, dy[i]);
          } else dx[i] = v >= 10 ? dy[i] : v === v ? dy[i] * 0 : NaN;
        }
        break;
      case 'sigmoid':
        for (let i = 0; i < n; i++) {
          const v = x[i];
          if (Math.abs(v - ROOT_SIGMOID[0]) <= ROOT_BAND) {
            const g = rootSeries(ROOT_SIGMOID, v);
            dx[i] = mulRoundSub(dy[i], g, dd.lo);
          } else if (v > -900 && v < 30) {
            const th = twoProd(K_H, v);
            const tl = dd.lo + K_L * v;
            dx[i] = xSigmaGrad(th, tl, th, tl, dy[i]);
          } else dx[i] = v >= 30 ? dy[i] : v === v ? dy[i] * 0 : NaN;
        }
        break;
    }
    fixTinySlopes(tiny, dx, 1); // all three forms are x·(1/2 + c·x + …) with c > 0
    return undefined;
  },
});
