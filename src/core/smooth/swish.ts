/**
 * Swish x·σ(βx) and its derivative, shared by `swish` and `silu` so that
 * silu is swish with β = 1 bit for bit. Arguments are z = βx as a
 * double-double (zh + zl, exact: Dekker's product), so β·x is never rounded.
 *
 * Forward: x·σ(z), σ from `logistic.ts`, the product rounded once.
 *
 * Derivative: σ(z)(1 + z·σ(−z)) = g·E/(1 + E)² with E = e^(−|z|) and
 * g = 1 + E + z·E for z ≥ 0 (all terms positive), g = 1 + z + E for z < 0.
 * The latter cancels near its root z0 = −1 − W(1/e) ≈ −1.2785 (swish′ = 0
 * there). Within |z − z0| < 1/16 we write t = z − z0 (exact, with z0 as a
 * triple-double) and use 1 + z0 + e^z0 = 0:
 *   g = t + e^z0·expm1(t),   E = e^z0·(1 + expm1(t)),
 * where both terms of g have the sign of t: nothing cancels, and the one
 * expm1 replaces the exp. Outside the band, g cancels by less than 2^4, which
 * the 2^-66 exp absorbs. Both paths cost one exponential.
 *
 * σ(z)σ(−z) = E/(1 + E)² (for dβ) comes out of the same computation.
 *
 * Tails: for z < −700 the results are e^z times a factor; they are formed as
 * mantissa and exponent (`expSplit`) and rounded once by the caller with
 * `scaleRound`, so subnormal results are right, not flushed or double-rounded.
 */
import { addDD, dd, divDD, mulDD, twoSum } from '../numeric/dd.js';
import { expSplit, expX, scaleRound, scaleRoundMul } from '../numeric/exp.js';
import { EZ0_H, EZ0_L, Z0_0, Z0_1, Z0_2 } from './constants.js';
import { expm1X } from './expm1.js';
import { sigmoidX } from './logistic.js';
import { fixTinyValues, mulRoundSub, tinyInputs } from './round.js';
import { productLo, shiftFromRoot } from './shift.js';

/**
 * Side results of the last `swishSlope` call: σ(z)σ(−z) = sh + sl, and the
 * binary exponent k that both it and the returned slope carry (0 except in
 * the tails |z| > 700, where the values are mantissas to multiply by 2^k).
 */
export const swishSide = { sh: 0, sl: 0, k: 0 };

const BAND = 1 / 16;

/** What `splitAtRoot` leaves: t = th + tl and c = ch + cl. */
export const atRoot = { th: 0, tl: 0, ch: 0, cl: 0 };

/**
 * Next to swish′'s root z0 (|z − z0| < 1/16): t = z − z0, exact with z0 as a
 * triple-double, and c = e^z0·expm1(t), so that 1 + z + e^z = t + c and
 * e^z = e^z0 + c with nothing cancelling (t and c have the same sign).
 */
export function splitAtRoot(zh: number, zl: number): void {
  const th = shiftFromRoot(zh, zl, Z0_0, Z0_1, Z0_2);
  const tl = dd.lo;
  const mh = expm1X(th, tl);
  atRoot.ch = mulDD(EZ0_H, EZ0_L, mh, dd.lo);
  atRoot.cl = dd.lo;
  atRoot.th = th;
  atRoot.tl = tl;
}

/**
 * x·σ(z), rounded once; z = βx as zh + zl. For a subnormal x with z tiny
 * callers put the result right afterwards (round.ts `fixTinyValues`).
 */
export function swishValue(x: number, zh: number, zl: number): number {
  if (zh > 40) return x; // σ(z) = 1 − e^-z with e^-z < 2^-57: rounds to x
  if (zh >= -700) {
    const s = sigmoidX(zh, zl);
    return mulRoundSub(x, s, dd.lo);
  }
  if (zh >= -1e5) {
    const m = expSplit(zh, zl); // σ(z) = e^z(1 − e^z + …): e^z alone is exact to 2^-1000
    const k = dd.k;
    return scaleRoundMul(m, dd.lo, k, x);
  }
  if (zh === zh) return x < 0 ? -0 : 0; // the limit x·e^z → 0 (x may be infinite)
  return NaN;
}

/**
 * out = x·σ(βx) over a batch: swish's forward and silu's (β = 1), one loop
 * for both. Near 0 it is x·(1/2 + (β/4)·x + …), put right after the loop.
 */
export function swishInto(x: Float64Array, out: Float64Array, beta: number): void {
  const tiny = tinyInputs(x, null, beta);
  if (beta === 1) {
    for (let i = 0; i < x.length; i++) out[i] = swishValue(x[i], x[i], 0);
  } else {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const zh = beta === 0 ? 0 : beta * v; // β = 0: z = 0 even for infinite x
      out[i] = swishValue(v, zh, productLo(beta, v, zh));
    }
  }
  fixTinyValues(tiny, out, Math.sign(beta));
}

/**
 * The derivative σ(z)(1 + z·σ(−z)) as hi + dd.lo, times 2^swishSide.k;
 * σ(z)σ(−z) in swishSide. NaN for NaN.
 */
export function swishSlope(zh: number, zl: number): number {
  swishSide.k = 0;
  if (zh > 50) {
    // σσ′ = E/(1 + E)² with E < 2^-72: E alone; the slope 1 + (z − 1)E rounds to 1.
    swishSide.sh = expX(-zh, -zl);
    swishSide.sl = dd.lo;
    dd.lo = 0;
    return 1;
  }
  let eh: number;
  let el: number;
  let gh: number;
  let gl: number;
  if (zh >= 0) {
    eh = expX(-zh, -zl);
    el = dd.lo;
    // g = 1 + E(1 + z)
    const oz = twoSum(1, zh);
    const ez = mulDD(eh, el, oz, dd.lo + zl);
    const ezl = dd.lo;
    gh = twoSum(1, ez);
    gl = dd.lo + ezl;
  } else if (Math.abs(zh - Z0_0) < BAND) {
    splitAtRoot(zh, zl);
    eh = addDD(EZ0_H, EZ0_L, atRoot.ch, atRoot.cl);
    el = dd.lo;
    gh = addDD(atRoot.th, atRoot.tl, atRoot.ch, atRoot.cl);
    gl = dd.lo;
  } else if (zh >= -700) {
    eh = expX(zh, zl);
    el = dd.lo;
    const oz = twoSum(1, zh);
    gh = addDD(oz, dd.lo + zl, eh, el);
    gl = dd.lo;
  } else if (zh >= -1e5) {
    // σσ′ = E(1 − 2E + …), slope = E(1 + z)(1 + O(E)): E < 2^-1000.
    const m = expSplit(zh, zl);
    const ml = dd.lo;
    swishSide.k = dd.k;
    swishSide.sh = m;
    swishSide.sl = ml;
    const oz = twoSum(1, zh);
    return mulDD(m, ml, oz, dd.lo + zl);
  } else {
    swishSide.sh = zh === zh ? 0 : NaN;
    swishSide.sl = 0;
    dd.lo = 0;
    return swishSide.sh;
  }
  const s = twoSum(1, eh);
  const sl = dd.lo + el;
  const den = mulDD(s, sl, s, sl);
  const denl = dd.lo;
  const ph = divDD(eh, el, den, denl);
  const pl = dd.lo;
  swishSide.sh = ph;
  swishSide.sl = pl;
  if (zh >= 0) return divDD(gh, gl, den, denl);
  return mulDD(gh, gl, ph, pl);
}
