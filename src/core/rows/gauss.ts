/**
 * The standard normal density φ and distribution Φ to more than double
 * precision, for GeGLU (glu with `activation: gelu`).
 *
 * Method: Φ is never computed directly but through the Mills-type ratio
 * R(b) = Φ(b)/φ(b) for b ≤ 0 (Φ(b) = 1 − φ(b)·R(−b) for b > 0, which cannot
 * cancel since φ(b)·R(−b) = Φ(−b) ≤ ½). R is smooth and slowly varying
 * (R(0) = √(π/2), R(b) ≈ 1/|b| in the tail), so it is evaluated by a short
 * Taylor series around the nearest node c = −k/8. Its derivatives follow
 * from the ODE R′ = 1 + bR: with r_n = R⁽ⁿ⁾(c)/n!,
 *   r_1 = 1 + c·r_0,   r_{n+1} = (r_{n−1} + c·r_n)/(n + 1).
 * So only r_0 = R(c) is tabulated (double-double, 513 nodes on [−64, 0]),
 * built when the module loads by integrating the ODE upwards from the
 * asymptotic series at −64 (upwards is the stable direction: errors shrink by
 * e^{−(c² − b²)/2}). Below −64 the asymptotic series
 * R(b) = (1/|b|)·Σ (−1)ⁿ (2n−1)!!/b²ⁿ is used directly.
 *
 * This gives GELU′(b) = Φ(b) + bφ(b) = φ(b)·(R(b) + b) without the
 * cancellation of the two terms near its root b ≈ −0.7518: R(b) + b cancels
 * instead, and R carries about 2^-68 (fast) or 2^-100 (precise) relative
 * error there, so callers recompute with `precise` when |R + b| is small.
 *
 * φ(b) = e^(−b²/2)/√(2π) with b² split exactly (TwoProd) and the split exp of
 * numeric/exp.ts, returned as mantissa·2^k so that tails far into the
 * subnormal range (gelu(−38)) are rounded once by the caller.
 */
import { dd, addDD, divDD, fastTwoSum, mulDD, mulDD1, sqrtDD, twoProd, twoSum } from '../numeric/dd.js';
import { expSplit, expSplitDD, pow2 } from '../numeric/exp.js';

/** Nodes c_k = −k/8, k = 0..NODES. */
const NODES = 512;
const STEP = 0.125;
const TAB = new Float64Array(2 * (NODES + 1));

/** R(c) for c ≤ −64 by the asymptotic series, in double-double (terms exact: (2n−1)!!·2^(−12n) at c = −64). */
function asymptoticDD(c: number): number {
  const c2 = c * c;
  let th = 1;
  let sh = 1;
  let sl = 0;
  for (let n = 1; n <= 16; n++) {
    th = (-th * (2 * n - 1)) / c2;
    sh = twoSum(sh, th);
    sl += dd.lo;
  }
  sh = fastTwoSum(sh, sl);
  return divDD(sh, dd.lo, -c, 0);
}

/** Sum of the Taylor series of R about c at offset h, all in double-double, from r_0 = R(c). */
function taylorDD(c: number, r0h: number, r0l: number, h: number): number {
  // Coefficients first (they are needed from the top for Horner), at most 64.
  const ch = COEF_H;
  const cl = COEF_L;
  ch[0] = r0h;
  cl[0] = r0l;
  let p = mulDD1(r0h, r0l, c);
  ch[1] = addDD(1, 0, p, dd.lo);
  cl[1] = dd.lo;
  const r0abs = Math.abs(r0h);
  let n = 1;
  let hp = Math.abs(h);
  while (n < 63) {
    hp *= Math.abs(h);
    p = mulDD1(ch[n], cl[n], c);
    const s = addDD(ch[n - 1], cl[n - 1], p, dd.lo);
    const sl = dd.lo;
    ch[n + 1] = s / (n + 1);
    // (s + sl)/(n + 1) in double-double.
    const q = twoProd(ch[n + 1], n + 1);
    cl[n + 1] = ((s - q) - dd.lo + sl) / (n + 1);
    n++;
    if (Math.abs(ch[n]) * hp < 2 ** -112 * r0abs) break;
  }
  let sh = ch[n];
  let sl = cl[n];
  for (let i = n - 1; i >= 0; i--) {
    sh = mulDD1(sh, sl, h);
    sl = dd.lo;
    sh = addDD(ch[i], cl[i], sh, sl);
    sl = dd.lo;
  }
  dd.lo = sl;
  return sh;
}
const COEF_H = new Float64Array(64);
const COEF_L = new Float64Array(64);

{
  let h = asymptoticDD(-NODES * STEP);
  let l = dd.lo;
  TAB[2 * NODES] = h;
  TAB[2 * NODES + 1] = l;
  for (let k = NODES - 1; k >= 0; k--) {
    h = taylorDD(-(k + 1) * STEP, h, l, STEP);
    l = dd.lo;
    TAB[2 * k] = h;
    TAB[2 * k + 1] = l;
  }
}

/**
 * Per node: r_1, r_2, r_3 as double-doubles, then r_4 … r_19 as doubles
 * (PER_NODE numbers), from the recurrence in double-double.
 */
const PER_NODE = 6 + 16;
const COEF = new Float64Array((NODES + 1) * PER_NODE);
for (let k = 0; k <= NODES; k++) {
  const c = -k * STEP;
  let ph = TAB[2 * k];
  let pl = TAB[2 * k + 1];
  let p = mulDD1(ph, pl, c);
  let qh = addDD(1, 0, p, dd.lo);
  let ql = dd.lo;
  const o = k * PER_NODE;
  COEF[o] = qh;
  COEF[o + 1] = ql;
  for (let n = 1; n < 19; n++) {
    // r_{n+1} = (r_{n−1} + c·r_n)/(n + 1)
    p = mulDD1(qh, ql, c);
    const sh = addDD(ph, pl, p, dd.lo);
    const sl = dd.lo;
    const rh = sh / (n + 1);
    const q = twoProd(rh, n + 1);
    const rl = ((sh - q) - dd.lo + sl) / (n + 1);
    ph = qh;
    pl = ql;
    qh = rh;
    ql = rl;
    if (n + 1 <= 3) {
      COEF[o + 2 * n] = rh;
      COEF[o + 2 * n + 1] = rl;
    } else {
      COEF[o + n + 3] = rh + rl;
    }
  }
}

/**
 * R(b) = Φ(b)/φ(b) for b ≤ 0 (finite), as hi + dd.lo. Relative error about
 * 2^-68, or about 2^-100 with `precise` on the table (b ≥ −64.06); beyond
 * it the asymptotic series' tail is summed in double either way, about 2^-72
 * (geluGate asks for `precise` only next to gelu′'s root, b ≈ −0.75).
 */
export function millsRatio(b: number, precise: boolean): number {
  if (b < -NODES * STEP - STEP / 2) {
    // Asymptotic: 1/b² ≤ 2^-12, so 12 terms leave less than 2^-110. The first
    // correction −1/b² in double-double, the rest (below 2^-22) in double.
    if (b < -1e150) return divDD(-1, 0, b, 0); // 1/b² below 2^-996: −1/b, with its low part
    const q = twoProd(b, b);
    const t1 = divDD(-1, 0, q, dd.lo);
    const t1l = dd.lo;
    const inv2 = 1 / q;
    let t = -inv2;
    let corr = 0;
    for (let n = 2; n <= 12; n++) {
      t *= -(2 * n - 1) * inv2;
      corr += t;
    }
    const s = fastTwoSum(1, t1);
    const sl = dd.lo + (t1l + corr);
    return divDD(s, sl, -b, 0);
  }
  const k = Math.round(-b / STEP);
  const c = -k * STEP;
  const h = b - c; // exact (Sterbenz, or c = 0)
  const r0h = TAB[2 * k];
  const r0l = TAB[2 * k + 1];
  if (h === 0) {
    dd.lo = r0l;
    return r0h;
  }
  if (precise) return taylorDD(c, r0h, r0l, h);
  // r_4 … r_19 in double (below 2^-16 of R, truncation below 2^-79), then
  // R = r0 + h(r1 + h(r2 + h(r3 + h·tail))) in double-double.
  const o = k * PER_NODE;
  let tail = COEF[o + PER_NODE - 1];
  for (let i = PER_NODE - 2; i >= 6; i--) tail = COEF[o + i] + h * tail;
  let sh = addDD(COEF[o + 4], COEF[o + 5], h * tail, 0);
  sh = mulDD1(sh, dd.lo, h);
  sh = addDD(COEF[o + 2], COEF[o + 3], sh, dd.lo);
  sh = mulDD1(sh, dd.lo, h);
  sh = addDD(COEF[o], COEF[o + 1], sh, dd.lo);
  sh = mulDD1(sh, dd.lo, h);
  return addDD(r0h, r0l, sh, dd.lo);
}

/** 1/√(2π) as a double-double. */
const [INV_SQRT_2PI_H, INV_SQRT_2PI_L] = (() => {
  const s = sqrtDD(2 * Math.PI, 2 * 1.2246467991473532e-16);
  const sl = dd.lo;
  const q = divDD(1, 0, s, sl);
  return [q, dd.lo] as const;
})();

/** Beyond this |b|, φ(b) = e^(−b²/2)/√(2π) < 2^-1500000 and counts as 0. */
export const PHI_CUTOFF = 1448;

/**
 * φ(b) = (hi + dd.lo)·2^dd.k for finite |b| < PHI_CUTOFF, hi in about [0.39, 0.81];
 * relative error about 2^-66.
 */
export function phiSplit(b: number): number {
  const q = twoProd(b, b);
  const ql = dd.lo;
  const e = expSplit(-0.5 * q, -0.5 * ql);
  const el = dd.lo;
  const k = dd.k;
  const r = mulDD(e, el, INV_SQRT_2PI_H, INV_SQRT_2PI_L);
  dd.k = k;
  return r;
}

/** Exposed for tests: R at the table node −k/8, as [hi, lo]. */
export function millsNode(k: number): [number, number] {
  return [TAB[2 * k], TAB[2 * k + 1]];
}

/**
 * GELU′ near its root r* ≈ −0.7518, where Φ(b) and bφ(b) cancel to more than
 * double-double can hold (at the doubles next to r*, GELU′ ≈ 6e-18 while the
 * terms are 0.23). There GELU′(b) = Σ_{n≥1} c_n δⁿ with δ = b − r* and
 * c_n = GELU⁽ⁿ⁺¹⁾(r*)/n! = φ(r*)·Q_{n+1}(r*)/n!, where GELU⁽ᵏ⁾ = φ·Q_k,
 * Q_2 = 2 − b², Q_{k+1} = Q_k′ − b·Q_k. r* is stored in three parts (mpmath),
 * so δ is exact to about 2^-160; the c_n are built here in double-double.
 */
const ROOT1 = -0.7517915246935645;
const ROOT2 = 1.4956759177009883e-17;
const ROOT3 = 5.384040947833005e-34;
/** The expansion is used for |b − r*| below this. */
export const GELU_ROOT_BAND = 2 ** -6;
const ROOT_TERMS = 14;
const ROOT_C = new Float64Array(2 * (ROOT_TERMS + 1));
{
  // φ(r*) in double-double.
  const q = mulDD(ROOT1, ROOT2, ROOT1, ROOT2);
  const e = expSplitDD(-0.5 * q, -0.5 * dd.lo);
  const el = dd.lo;
  const s = pow2(dd.k);
  const ph0 = mulDD(e, el, INV_SQRT_2PI_H, INV_SQRT_2PI_L);
  const pl = dd.lo * s;
  const ph = ph0 * s;
  // Q_k as integer coefficients (index = power of b), starting from Q_2 = 2 − b².
  let poly = [2, 0, -1];
  let fact = 1;
  for (let n = 1; n <= ROOT_TERMS; n++) {
    // c_n = φ(r*)·Q_{n+1}(r*)/n!, Q evaluated by Horner in double-double.
    fact *= n;
    let vh = poly[poly.length - 1];
    let vl = 0;
    for (let i = poly.length - 2; i >= 0; i--) {
      vh = mulDD(vh, vl, ROOT1, ROOT2);
      vh = addDD(poly[i], 0, vh, dd.lo);
      vl = dd.lo;
    }
    const ch = mulDD(ph, pl, vh, vl);
    ROOT_C[2 * n] = divDD(ch, dd.lo, fact, 0);
    ROOT_C[2 * n + 1] = dd.lo;
    // Q_{k+1} = Q_k′ − b·Q_k.
    const next = new Array<number>(poly.length + 1).fill(0);
    for (let i = 1; i < poly.length; i++) next[i - 1] += i * poly[i];
    for (let i = 0; i < poly.length; i++) next[i + 1] -= poly[i];
    poly = next;
  }
}

/** GELU′(b) for |b − r*| < GELU_ROOT_BAND, as hi + dd.lo (relative error about 2^-100). */
export function geluPrimeNearRoot(b: number): number {
  const t = b - ROOT1; // exact (Sterbenz)
  const dh = twoSum(t, -ROOT2);
  const dl = dd.lo - ROOT3;
  let sh = ROOT_C[2 * ROOT_TERMS];
  let sl = ROOT_C[2 * ROOT_TERMS + 1];
  for (let n = ROOT_TERMS - 1; n >= 1; n--) {
    sh = mulDD(sh, sl, dh, dl);
    sh = addDD(ROOT_C[2 * n], ROOT_C[2 * n + 1], sh, dd.lo);
    sl = dd.lo;
  }
  return mulDD(sh, sl, dh, dl);
}
