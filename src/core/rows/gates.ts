/**
 * The gates of `glu`: act(b) and act′(b) for sigmoid, swish (β) and exact
 * GELU, each to more than double precision, as mantissa·2^k so that a caller
 * multiplies by a and dy and rounds once (`scaleRound`), also when the result
 * is subnormal.
 *
 * - sigmoid: E = e^(−|z|) from the split exp; σ(|z|) = 1/(1 + E) and
 *   σ(−|z|) = E/(1 + E), so neither overflows nor cancels; σ′ = σ(z)σ(−z)
 *   (not σ(1 − σ), which loses everything for z > 37).
 * - swish: z = βb split exactly (TwoProd); act = b·σ(z);
 *   act′ = σ(z)·(1 + z·σ(−z)). The bracket cancels near z ≈ −1.2785 (the
 *   root of swish′); there σ is recomputed from the double-double exp
 *   (relative error 2^-95 instead of 2^-66), and within about 2^-31 of the
 *   root, where βb (exact) can lie closer to it than any double and even
 *   that falls short, the bracket is written about the root (t = z − z0, as
 *   smooth/swish.ts does).
 * - gelu (exact, erf form): Φ and φ from gauss.ts; act′ = φ·(R + b) for
 *   b ≤ 0 with R recomputed precisely near the root b ≈ −0.7518.
 *
 * Each function fills `gate`: act = (h + l)·2^k and, when asked, act′ =
 * (dh + dl)·2^dk. Non-finite and huge |b| (beyond 2^960, where TwoProd's
 * splitting would overflow) take the limits (act(−∞) = 0, act(+∞) = +∞ for
 * swish with β > 0 and gelu) in plain double arithmetic.
 */
import { dd, addDD, divDD, fastTwoSum, mulDD, mulDD1, twoSum } from '../numeric/dd.js';
import { expSplit, expSplitDD, extremeExponent, mulPow2, pow2 } from '../numeric/exp.js';
import { productLo } from '../smooth/shift.js';
import { atRoot, splitAtRoot } from '../smooth/swish.js';
import { GELU_ROOT_BAND, geluPrimeNearRoot, millsRatio, phiSplit, PHI_CUTOFF } from './gauss.js';

/** The root of gelu′, to double precision (gauss.ts holds it to triple). */
const GELU_ROOT = -0.7517915246935645;

/**
 * Result of the last gate call. An object, not module `let`s, so V8 keeps the
 * doubles unboxed. `s` and `ds`: the sign of a part of act (act′) too small
 * for the double-double (e^(−800) next to 1), or 0; used only to round exact
 * ties (glu-kernels.ts).
 */
export const gate = { h: 0, l: 0, k: 0, s: 0, dh: 0, dl: 0, dk: 0, ds: 0 };

/** Beyond this |b| the gates use plain arithmetic (TwoProd needs |x| < 2^996). */
export const HUGE = 2 ** 960;
/** Beyond this |z|, e^(−|z|) < 2^-144000: counts as 0 (the split exp needs |z| < 2^20). */
const EXP_CUTOFF = 1e5;

/** Split sigmoid of the last `sigmoidSplit` call: σ(|z|) = big (exponent 0), σ(−|z|) = (sh + sl)·2^sk. */
const sig = { bh: 0, bl: 0, sh: 0, sl: 0, sk: 0, lost: false, eh: 0, el: 0, dh: 1, dl: 0 };

/** |z| as a double-double (zh, zl), z finite. Fills `sig`. */
function sigmoidSplit(ah: number, al: number, precise: boolean): void {
  // ah + al = |z| ≥ 0.
  if (ah > EXP_CUTOFF) {
    sig.bh = 1;
    sig.bl = 0;
    sig.sh = 0;
    sig.sl = 0;
    sig.sk = 0;
    sig.lost = true;
    sig.eh = 0;
    sig.el = 0;
    sig.dh = 1;
    sig.dl = 0;
    return;
  }
  const eh = precise ? expSplitDD(-ah, -al) : expSplit(-ah, -al);
  const el = dd.lo;
  const ek = dd.k;
  let uh = 0;
  let ul = 0;
  // E below the subnormals: 1 + E is 1 in double-double, and the sticky sign remembers it.
  sig.lost = ek < -1074;
  if (ek >= -1074) {
    const s = pow2(ek);
    uh = eh * s;
    ul = el * s;
  }
  const dh = fastTwoSum(1, uh);
  const dl = dd.lo + ul;
  sig.eh = uh;
  sig.el = ul;
  sig.dh = dh;
  sig.dl = dl;
  sig.bh = divDD(1, 0, dh, dl);
  sig.bl = dd.lo;
  sig.sh = divDD(eh, el, dh, dl);
  sig.sl = dd.lo;
  sig.sk = ek;
}

/** σ(b) and σ′(b) = σ(b)σ(−b). */
export function sigmoidGate(b: number, withDerivative: boolean): void {
  if (!(Math.abs(b) <= EXP_CUTOFF)) {
    // NaN, ±Infinity, or so large that σ is 0 or 1 and σ′ is 0 to any precision.
    gate.h = b > 0 ? 1 : b < 0 ? 0 : NaN;
    gate.l = 0;
    gate.k = 0;
    gate.s = b > 0 ? -1 : 0;
    gate.dh = b === b ? 0 : NaN;
    gate.dl = 0;
    gate.dk = 0;
    gate.ds = 0;
    return;
  }
  sigmoidSplit(Math.abs(b), 0, false);
  if (b >= 0) {
    gate.h = sig.bh;
    gate.l = sig.bl;
    gate.k = 0;
    gate.s = sig.lost ? -1 : 0;
  } else {
    gate.h = sig.sh;
    gate.l = sig.sl;
    gate.k = sig.sk;
    gate.s = 0;
  }
  if (withDerivative) {
    gate.dh = mulDD(sig.bh, sig.bl, sig.sh, sig.sl);
    gate.dl = dd.lo;
    gate.dk = sig.sk;
    gate.ds = sig.lost ? -1 : 0;
  }
  // A subnormal-small b: σ(b) − 1/2 = b/4 (and σ′(b) − 1/4 = −b²/16) underflow to 0, yet their signs break ties
  // (a = 5e-324 times σ(5e-324) is 5e-324, not the tie's 0): the smallest subnormal of that sign stands in, far
  // below anything else it could move.
  if (gate.l === 0 && gate.h === 0.5 && b !== 0 && gate.k === 0) gate.l = Math.sign(b) * 5e-324;
  if (withDerivative && gate.dl === 0 && gate.dh === 0.25 && b !== 0 && gate.dk === 0) gate.dl = -5e-324;
}


/** Swish with parameter β: act(b) = b·σ(βb), act′(b) = σ(βb)(1 + βb·σ(−βb)). */
export function swishGate(b: number, beta: number, withDerivative: boolean): void {
  const zh0 = beta * b;
  const zl0 = productLo(beta, b, zh0);
  if (!(Math.abs(b) < HUGE) || !(Math.abs(zh0) <= EXP_CUTOFF)) {
    swishLimit(b, zh0);
    return;
  }
  // b beyond 2^±400 enters b·σ and b·Φ near 1, its power of two in gate.k (gelu's gate at b = −2.5e-323 lost the low part)
  const be = extremeExponent(b);
  const neg = zh0 < 0;
  const ah = neg ? -zh0 : zh0;
  const al = neg ? -zl0 : zl0;
  for (let pass = 0; pass < 2; pass++) {
    sigmoidSplit(ah, al, pass === 1);
    // σ(z) and σ(−z) as (h, l, k).
    const ph = neg ? sig.sh : sig.bh;
    const pl = neg ? sig.sl : sig.bl;
    const pk = neg ? sig.sk : 0;
    gate.h = mulDD1(ph, pl, mulPow2(b, -be));
    gate.l = dd.lo;
    gate.k = pk + be;
    // act = b·(1 − E) with E lost (z > 745): below b in magnitude.
    gate.s = !neg && sig.lost ? -Math.sign(b) : 0;
    if (!withDerivative) return;
    // w = 1 + z·σ(−z).
    let wh: number;
    let wl: number;
    if (neg) {
      // z < 0: w = (1 + z + E)/(1 + E), E = e^z. Near the root (z ≈ −1.28)
      // 1 + z is exact (Sterbenz) and only E's own error remains, instead of
      // the 2^-104 of each double-double operation of 1 + z/(1 + E).
      const s1 = twoSum(1, zh0);
      const nh = addDD(s1, dd.lo + zl0, sig.eh, sig.el);
      wh = divDD(nh, dd.lo, sig.dh, sig.dl);
      wl = dd.lo;
      if (pass === 1 && Math.abs(wh) < 2 ** -34) {
        // Within about 2^-31 of the root even E's 2^-95 leaves w short (2^-39 at 2^-71 from it, βb being exact):
        // written about the root as smooth/swish.ts does, g = t + e^z0·expm1(t), both terms of t's sign.
        splitAtRoot(zh0, zl0);
        const gh = addDD(atRoot.th, atRoot.tl, atRoot.ch, atRoot.cl);
        wh = divDD(gh, dd.lo, sig.dh, sig.dl);
        wl = dd.lo;
      }
    } else {
      // z ≥ 0: σ(−z) ≤ ½ unscaled (when below the subnormals, w = 1 to any precision); nothing cancels.
      let nh = 0;
      let nl = 0;
      if (sig.sk >= -1074) {
        const s = pow2(sig.sk);
        nh = sig.sh * s;
        nl = sig.sl * s;
      }
      const t = mulDD(zh0, zl0, nh, nl);
      wh = addDD(1, 0, t, dd.lo);
      wl = dd.lo;
    }
    // Cancellation near the root of swish′: the error of σ(−z) is amplified by 1/|w|.
    if (pass === 0 && neg && Math.abs(wh) < 2 ** -8) continue;
    gate.dh = mulDD(ph, pl, wh, wl);
    gate.dl = dd.lo;
    gate.dk = pk;
    // act′ = (1 − E)(1 + zE) ≈ 1 + (z − 1)E above 1 when E was lost.
    gate.ds = !neg && sig.lost ? 1 : 0;
    return;
  }
}

function swishLimit(b: number, z: number): void {
  // |b| huge, |z| beyond the cutoff, or NaN: plain arithmetic is exact enough (σ is 0, 1 or far from both).
  const s = 1 / (1 + Math.exp(-z));
  // b near 1 with its power of two in gate.k, as in swishGate: a tiny b·1 times a made the product's low part
  // subnormal, and a rounded low part then looked like a tie (β = -8.1e299, b = -1.2e-295, a = -1.2e-11 gave
  // one step below 2^-1016).
  const be = extremeExponent(b);
  gate.h = s === 0 ? (b === b ? 0 * Math.sign(b) : NaN) : mulPow2(b, -be) * s;
  gate.l = 0;
  gate.k = s === 0 ? 0 : be;
  gate.s = s === 1 ? -Math.sign(b) : 0;
  gate.dh = s === 0 || s === 1 ? s : s * (1 + z * (1 - s));
  gate.dl = 0;
  gate.dk = 0;
  gate.ds = s === 1 ? 1 : 0;
}

/** Exact GELU: act(b) = b·Φ(b), act′(b) = Φ(b) + b·φ(b). */
export function geluGate(b: number, withDerivative: boolean): void {
  if (!(Math.abs(b) < PHI_CUTOFF)) {
    // b near 1 with its power of two in gate.k (b from 2^996 up would overflow Dekker's split).
    const be = b > 0 ? extremeExponent(b) : 0;
    gate.h = b > 0 ? mulPow2(b, -be) : b < 0 ? -0 : NaN;
    gate.l = 0;
    gate.k = be;
    gate.s = b > 0 ? -1 : 0;
    gate.dh = b > 0 ? 1 : b < 0 ? 0 : NaN;
    gate.dl = 0;
    gate.dk = 0;
    gate.ds = b > 0 ? 1 : 0;
    return;
  }
  const fh = phiSplit(b);
  const fl = dd.lo;
  const fk = dd.k;
  if (b <= 0) {
    let rh = millsRatio(b, false);
    let rl = dd.lo;
    // Φ = φ·R; act = b·Φ.
    let ph = mulDD(fh, fl, rh, rl);
    const be = extremeExponent(b);
    gate.h = mulDD1(ph, dd.lo, mulPow2(b, -be));
    gate.l = dd.lo;
    gate.k = fk + be;
    gate.s = 0;
    gate.ds = 0;
    if (!withDerivative) return;
    if (Math.abs(b - GELU_ROOT) < GELU_ROOT_BAND) {
      // Next to the root of gelu′ (b ≈ −0.7518) Φ + bφ cancels beyond double-double: expand about the root.
      gate.dh = geluPrimeNearRoot(b);
      gate.dl = dd.lo;
      gate.dk = 0;
      return;
    }
    let sh = addDD(rh, rl, b, 0);
    if (Math.abs(sh) < 2 ** -8 * -b) {
      // Still close to the root: R + b cancels; recompute R to about 2^-100.
      rh = millsRatio(b, true);
      rl = dd.lo;
      sh = addDD(rh, rl, b, 0);
    }
    ph = mulDD(fh, fl, sh, dd.lo);
    gate.dh = ph;
    gate.dl = dd.lo;
    gate.dk = fk;
    return;
  }
  // b > 0: Φ(b) = 1 − φ(b)·R(−b), with φ·R = Φ(−b) ≤ ½ (no cancellation).
  const rh = millsRatio(-b, false);
  const rl = dd.lo;
  let qh = 0;
  let ql = 0;
  let bph = 0;
  let bpl = 0;
  if (fk >= -1074) {
    const s = pow2(fk);
    qh = mulDD(fh, fl, rh, rl);
    ql = dd.lo * s;
    qh *= s;
    bph = mulDD1(fh, fl, b);
    bpl = dd.lo * s;
    bph *= s;
  }
  const Ph = addDD(1, 0, -qh, -ql);
  const Pl = dd.lo;
  const be = extremeExponent(b);
  gate.h = mulDD1(Ph, Pl, mulPow2(b, -be));
  gate.l = dd.lo;
  gate.k = be;
  // Φ(−b) below the subnormals (b > 37.5): Φ(b) = 1 − (lost), gelu′ = 1 + (lost).
  const lost = qh === 0;
  gate.s = lost ? -1 : 0;
  gate.ds = lost ? 1 : 0;
  if (!withDerivative) return;
  gate.dh = addDD(Ph, Pl, bph, bpl);
  gate.dl = dd.lo;
  gate.dk = 0;
}
