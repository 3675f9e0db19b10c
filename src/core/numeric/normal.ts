/**
 * The standard normal CDF Φ, to about 2^-59 relative error (2^-58 beyond |w| = 4.25), as a double-double,
 * for the exact GELU x·Φ(x) and its derivative Φ(x) + xφ(x).
 *
 * Why not @stdlib erfc/erfcx: measured against 50-digit references, erfc is off
 * by up to 2 ULP on [0.5, 28] and erfcx by up to 7 ULP on [0, 1]; gelu then
 * multiplies, and gelu′ subtracts nearly equal terms, so the results would miss
 * the 2 ULP bound. The tables here are derived in code at load time (a few
 * milliseconds), so there are no long lists of magic numbers to trust:
 *
 * - |w| ≤ 4.25: Φ(w) from Taylor pieces of width 1/8 (centres -1/16, -3/16, ...).
 *   The first three Taylor coefficients at each centre are double-doubles, from
 *   the same-sign series Φ(c) = ½ + φ(c)·Σ c^(2n+1)/(2n+1)!! and φ; higher ones
 *   come from Hermite polynomials, φ^(n) = (-1)^n He_n φ. The head
 *   a0 + a1·t + a2·t² is evaluated in double-double; the tail t³·Q(t) is below
 *   0.33% of the result, so rounding it costs about 2^-59 at the far edge of
 *   the last two pieces (w < −4; 2^-59.1 measured at w = −4.124, where the
 *   tail is 0.325%) and under 2^-60 elsewhere.
 * - |w| > 4.25: the FreeBSD/fdlibm erfc tail, erfc(z) = exp(-z² - 0.5625 + R/S)/z,
 *   whose rational R/S is what limits this range: Φ comes out good to about
 *   2^-58 (measured), so a result rounds wrongly (by 1 ULP) only within 2^-6 ULP
 *   of a tie. Our change: -z² = -w²/2 is split exactly and the exponent kept as
 *   a double-double, so the one exp (exp.ts) sees an exact argument.
 *
 * gelu′ = Φ + xφ cancels near its root x0 ≈ -0.7518; roots.ts covers
 * |x - x0| ≤ 1/16, and beyond that the cancellation is below 2^3, which the
 * 2^-59 accuracy here absorbs.
 */
import { dd, twoSum, fastTwoSum, twoProd, mulDD, addDD, divDD, sqrtDD } from './dd.js';
import { expDD } from './exp.js';

/** 2^27 + 1, Veltkamp's splitter (dd.ts), for the products written out in tailExponent and cdfPieceInto. */
const SPLITTER = 134217729;

// π as a double-double; the other constants are derived from it.
const PI_H = 3.141592653589793;
const PI_L = 1.2246467991473532e-16;

/** 1/√2 as a double-double. */
export const SQRT1_2_H = sqrtDD(0.5, 0);
export const SQRT1_2_L = dd.lo;

/** √(2/π), the tanh-form GELU constant, as a double-double. */
export const SQRT_2_OVER_PI_H = sqrtDD(divDD(2, 0, PI_H, PI_L), dd.lo);
export const SQRT_2_OVER_PI_L = dd.lo;

/** 1/√(2π) as a double-double. */
const twoPiSqrtH = sqrtDD(2 * PI_H, 2 * PI_L);
const twoPiSqrtL = dd.lo;
export const INV_SQRT_2PI_H = divDD(1, 0, twoPiSqrtH, twoPiSqrtL);
export const INV_SQRT_2PI_L = dd.lo;

/** φ(c) for a double-double c, as a double-double (load-time use). */
function pdfDD(ch: number, cl: number): number {
  const sh = mulDD(ch, cl, ch, cl);
  const e = expDD(-0.5 * sh, -0.5 * dd.lo);
  return mulDD(e, dd.lo, INV_SQRT_2PI_H, INV_SQRT_2PI_L);
}

/**
 * Φ(c) for a double-double c with |c| ≤ 5, to about 2^-90 (load-time use):
 * Φ(c) = ½ + φ(c)·Σ c^(2n+1)/(1·3·…·(2n+1)); the terms all have c's sign.
 */
function cdfSeriesDD(ch: number, cl: number): number {
  const c2h = mulDD(ch, cl, ch, cl);
  const c2l = dd.lo;
  let th = ch;
  let tl = cl;
  let sh = ch;
  let sl = cl;
  for (let n = 0; n < 400 && Math.abs(th) > 1e-36 * Math.abs(sh); n++) {
    th = mulDD(th, tl, c2h, c2l);
    th = divDD(th, dd.lo, 2 * n + 3, 0);
    tl = dd.lo;
    sh = addDD(sh, sl, th, tl);
    sl = dd.lo;
  }
  const ph = pdfDD(ch, cl);
  const p = mulDD(ph, dd.lo, sh, sl);
  return addDD(0.5, 0, p, dd.lo);
}

/** β_k = He_k(c)/k! for k = 0..n (probabilists' Hermite polynomials over k!). */
function hermiteOverFactorial(c: number, n: number): Float64Array {
  const b = new Float64Array(n + 1);
  b[0] = 1;
  if (n >= 1) b[1] = c;
  for (let k = 1; k < n; k++) b[k + 1] = (c * b[k] - b[k - 1]) / (k + 1);
  return b;
}

// ---------------------------------------------------------------- Φ pieces

/** Φ from pieces on [-PIECES_END, 0]. */
export const PIECES_END = 4.25;
// Exported read-only for the tests, which hold cdfPieceInto to the dd.ts helpers.
export const PIECES = 34; // width 1/8
export const DEG = 14; // Taylor remainder below 2^-66 of the result on every piece (mpmath estimate)
export const STRIDE = 6 + DEG - 2; // a0h a0l a1h a1l a2h a2l a3..aDEG
export const PHI = new Float64Array(PIECES * STRIDE);
for (let j = 0; j < PIECES; j++) {
  const c = -(2 * j + 1) / 16;
  const o = j * STRIDE;
  PHI[o] = cdfSeriesDD(c, 0);
  PHI[o + 1] = dd.lo;
  const ph = pdfDD(c, 0);
  const pl = dd.lo;
  PHI[o + 2] = ph;
  PHI[o + 3] = pl;
  PHI[o + 4] = mulDD(ph, pl, -c / 2, 0); // a2 = φ′(c)/2 = -c·φ(c)/2
  PHI[o + 5] = dd.lo;
  // a_n = Φ^(n)(c)/n! = (-1)^(n-1) φ(c) β_(n-1) / n
  const b = hermiteOverFactorial(c, DEG - 1);
  for (let n = 3; n <= DEG; n++) PHI[o + 3 + n] = ((n % 2 === 0 ? -1 : 1) * ph * b[n - 1]) / n;
}

/**
 * Φ(w) for -4.25 ≤ w ≤ 0 as out[0] + out[1], relative error below 2^-59
 * (2^-60 for w ≥ −4; see the tail's rounding above): the
 * Taylor polynomial of piece j around c = -(2j + 1)/16 at t = w - c, with
 * t = th + tl (TwoSum), t² and the first two terms by Dekker's product and
 * their sum in double-double (TwoSum, then FastTwoSum). The dd.ts helpers
 * written out, the two parts through `out` instead of `dd.lo`: gelu's loops
 * call this for every element, and the calls took 40% of their time
 * (test/core/numeric.test.ts holds it to the helpers, bit for bit).
 */
export function cdfPieceInto(w: number, out: Float64Array): void {
  let j = Math.floor(-8 * w);
  if (j >= PIECES) j = PIECES - 1;
  const o = j * STRIDE;
  const c0 = (2 * j + 1) / 16;
  const th = w + c0;
  const tb = th - w;
  const tl = w - (th - tb) + (c0 - tb);
  let q = PHI[o + 3 + DEG];
  for (let k = o + 2 + DEG; k >= o + 6; k--) q = q * th + PHI[k];
  const st = SPLITTER * th;
  const thh = st - (st - th);
  const thl = th - thh;
  const t2 = th * th;
  const t2l = thh * thh - t2 + thh * thl + thl * thh + thl * thl + 2 * th * tl;
  const a2 = PHI[o + 4];
  const p2 = a2 * t2;
  const sa2 = SPLITTER * a2;
  const a2h = sa2 - (sa2 - a2);
  const a2l = a2 - a2h;
  const st2 = SPLITTER * t2;
  const t2h = st2 - (st2 - t2);
  const t2lo = t2 - t2h;
  const p2l = a2h * t2h - p2 + a2h * t2lo + a2l * t2h + a2l * t2lo + a2 * t2l + PHI[o + 5] * t2;
  const a1 = PHI[o + 2];
  const p1 = a1 * th;
  const sa1 = SPLITTER * a1;
  const a1h = sa1 - (sa1 - a1);
  const a1l = a1 - a1h;
  const p1l = a1h * thh - p1 + a1h * thl + a1l * thh + a1l * thl + a1 * tl + PHI[o + 3] * th;
  const a0 = PHI[o];
  const s1 = a0 + p1;
  const b1 = s1 - a0;
  const sl1 = a0 - (s1 - b1) + (p1 - b1) + PHI[o + 1] + p1l + p2l;
  const s2 = s1 + p2;
  const b2 = s2 - s1;
  const sl2 = sl1 + (s1 - (s2 - b2) + (p2 - b2) + t2 * th * q);
  const ph = s2 + sl2;
  out[0] = ph;
  out[1] = sl2 - (ph - s2);
}

// ---------------------------------------------------------------- the erfc tail

/*
 * R/S below is from FreeBSD msun s_erf.c (erfc on [1/0.35, 28]):
 *
 * Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
 *
 * Developed at SunPro, a Sun Microsystems, Inc. business.
 * Permission to use, copy, modify, and distribute this
 * software is freely granted, provided that this notice
 * is preserved.
 */
const RB0 = -9.86494292470009928597e-3;
const RB1 = -7.99283237680523006574e-1;
const RB2 = -1.77579549177547519889e1;
const RB3 = -1.60636384855821916062e2;
const RB4 = -6.37566443368389627722e2;
const RB5 = -1.02509513161107724954e3;
const RB6 = -4.83519191608651397019e2;
const SB1 = 3.03380607434824582924e1;
const SB2 = 3.25792512996573918826e2;
const SB3 = 1.53672958608443695994e3;
const SB4 = 3.19985821950859553908e3;
const SB5 = 2.55305040643316442583e3;
const SB6 = 4.74528541206955367215e2;
const SB7 = -2.24409524465858183362e1;

/**
 * For w ≥ 4.25: -0.5625 + R/S at z = w/√2, as hi + dd.lo, so that
 * Φ(-w) = (1/√2)·exp(-w²/2 + shift)/w (fdlibm: erfc(z) = exp(-z² - 0.5625 + R/S)/z).
 */
export function tailShift(w: number): number {
  const s = 2 / (w * w); // 1/z²
  // R and S with their leading terms added exactly, and R/S in double-double:
  // every absolute error in the exponent is a relative error of Φ.
  const rh = twoSum(RB0, s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6))))));
  const rl = dd.lo;
  const qh = fastTwoSum(1, s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7)))))));
  const f = divDD(rh, rl, qh, dd.lo);
  return addDD(-0.5625, 0, f, dd.lo);
}

/**
 * For w ≥ 4.25: the exponent A = -w²/2 + tailShift(w) with Φ(-w) = (1/√2)·exp(A)/w, as hi + dd.lo.
 *
 * tailShift, twoProd(w, w) and the two addDDs written out with locals, the same
 * operations in the same order (test/core/numeric.test.ts holds it to them, bit
 * for bit, hi and lo): the nested calls and their writes to the shared `dd`
 * object took half of its time (92 → 47 ns a call in a scratch harness;
 * gelu's tails, forward, 20 to 35% faster).
 */
export function tailExponent(w: number): number {
  // tailShift(w)
  const s = 2 / (w * w);
  const pr = s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))));
  const rh = RB0 + pr; // twoSum(RB0, pr)
  const rb = rh - RB0;
  const rl = RB0 - (rh - rb) + (pr - rb);
  const ps = s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7))))));
  const qh = 1 + ps; // fastTwoSum(1, ps)
  const ql = ps - (qh - 1);
  // divDD(rh, rl, qh, ql): q, twoProd(q, qh), the correction, fastTwoSum
  const q = rh / qh;
  const p = q * qh;
  const sq = SPLITTER * q;
  const qhi = sq - (sq - q);
  const qlo = q - qhi;
  const sd = SPLITTER * qh;
  const dhi = sd - (sd - qh);
  const dlo = qh - dhi;
  const pl = qhi * dhi - p + qhi * dlo + qlo * dhi + qlo * dlo;
  const r = (rh - p - pl + rl - q * ql) / qh;
  const fh = q + r;
  const fl = r - (fh - q);
  // addDD(-0.5625, 0, fh, fl)
  const a1 = -0.5625 + fh;
  const a1b = a1 - -0.5625;
  const e1 = -0.5625 - (a1 - a1b) + (fh - a1b);
  const t1 = 0 + fl;
  const t1b = t1 - 0;
  const f1 = 0 - (t1 - t1b) + (fl - t1b);
  const u1 = a1 + (e1 + t1);
  const u1l = e1 + t1 - (u1 - a1);
  const f = u1 + (u1l + f1);
  const fLo = u1l + f1 - (f - u1);
  // twoProd(w, w)
  const w2 = w * w;
  const sw = SPLITTER * w;
  const whi = sw - (sw - w);
  const wlo = w - whi;
  const w2l = whi * whi - w2 + whi * wlo + wlo * whi + wlo * wlo;
  // addDD(-0.5·w2, -0.5·w2l, f, fLo)
  const ah = -0.5 * w2;
  const al = -0.5 * w2l;
  const a2 = ah + f;
  const a2b = a2 - ah;
  const e2 = ah - (a2 - a2b) + (f - a2b);
  const t2 = al + fLo;
  const t2b = t2 - al;
  const f2 = al - (t2 - t2b) + (fLo - t2b);
  const u2 = a2 + (e2 + t2);
  const u2l = e2 + t2 - (u2 - a2);
  const hi = u2 + (u2l + f2);
  dd.lo = u2l + f2 - (hi - u2);
  return hi;
}
