/**
 * exp with more than double precision, and exact scaling into the subnormal range.
 *
 * Why our own: Math.exp is within 1 ULP, but the kernels divide and multiply its
 * result further (σ = e/(1+e), softmax e/Σe) and subtract it from nearly equal
 * terms (the roots of gelu′), so an error of 1 ULP in e becomes 2 to 10^9 ULP
 * in the result. No well-kept npm package offers exp to double-double accuracy
 * (`double-double` has no exp; @stdlib's exp returns a plain double).
 *
 * Method (Tang's table-driven exp): a = n·ln2/64 + r with |r| ≤ ln2/128,
 * exp(a) = 2^k · 2^(j/64) · exp(r), n = 64k + j. The table 2^(j/64) is built
 * here as double-doubles from repeated square roots of 2; exp(r) is a short
 * Taylor polynomial. Two accuracies:
 * - `expX` / `expSplit`: relative error below 2^-66, about the cost of Math.exp.
 *   For the common path: after the last rounding, results are off by at most
 *   0.5 ULP + 2^-13 ULP.
 * - `expDD` / `expSplitDD`: relative error below 2^-95, several times slower.
 *   For the rare bands where a sum of exps cancels (softmax backward, the roots
 *   of the approximate gelu′).
 *
 * The split forms return the mantissa (hi in the return value, lo in `dd.lo`)
 * and the binary exponent in `dd.k` separately, so a caller can multiply the
 * mantissa by other factors and round once with `scaleRound`: results in the
 * subnormal range (σ(-740), gelu(-38)) then get one correct rounding instead of
 * being rounded first to the subnormal grid and then multiplied.
 */
import { dd, twoSum, fastTwoSum, twoProd, mulDD, mulDD1, addDD, sqrtDD } from './dd.js';

/** ln2/64 in three parts: L1 and L2 have 36 significant bits, so n·L1 and n·L2 are exact for |n| < 2^17. */
const L1 = 0.010830424696223417;
const L2 = 2.5728046223228848e-14;
const L3 = 4.784126150029144e-26;
const INV_L = 92.33248261689366; // 64/ln2; any nearby value works, it only picks n

/** 2^(j/64), j = 0..63, as double-doubles: TAB[2j] + TAB[2j+1]. */
const TAB = new Float64Array(128);
{
  // roots[b] = 2^(2^b / 64): 2^(1/64), 2^(1/32), ..., 2^(1/2) by square roots of 2.
  const rootsH = new Float64Array(6);
  const rootsL = new Float64Array(6);
  let h = 2;
  let l = 0;
  for (let b = 5; b >= 0; b--) {
    h = sqrtDD(h, l);
    l = dd.lo;
    rootsH[b] = h;
    rootsL[b] = l;
  }
  for (let j = 0; j < 64; j++) {
    let th = 1;
    let tl = 0;
    for (let b = 0; b < 6; b++) {
      if (j & (1 << b)) {
        th = mulDD(th, tl, rootsH[b], rootsL[b]);
        tl = dd.lo;
      }
    }
    TAB[2 * j] = th;
    TAB[2 * j + 1] = tl;
  }
}

/** POW2[k + 1074] = 2^k for k = -1074..1023, all exact. */
const POW2 = new Float64Array(2098);
{
  let v = 1;
  for (let k = 0; k <= 1023; k++, v *= 2) POW2[k + 1074] = v;
  v = 1;
  for (let k = 0; k >= -1074; k--, v /= 2) POW2[k + 1074] = v;
}

/** 2^k for an integer k in [-1074, 1023]. */
export function pow2(k: number): number {
  return POW2[k + 1074];
}

/** Reduced argument of the last `reduce` call: r = rHi + rLo, and the table index. */
let rHi = 0;
let rLo = 0;
let tabIndex = 0;

/** a = n·ln2/64 + r; sets rHi, rLo, tabIndex = j and dd.k = k (n = 64k + j). */
function reduce(ah: number, al: number): void {
  const n = Math.round(ah * INV_L);
  const j = n & 63;
  dd.k = (n - j) / 64;
  tabIndex = 2 * j;
  // ah - n·L1 is exact (Sterbenz), n·L2 is exact; the rest is far below 2^-100.
  rHi = twoSum(ah - n * L1, -n * L2);
  rLo = dd.lo + (al - n * L3);
}

/**
 * exp(ah + al) = (hi + dd.lo) · 2^dd.k with hi in about [0.99, 2.02], relative
 * error below 2^-66. Needs finite |ah| < 2^20 (callers check).
 */
export function expSplit(ah: number, al: number): number {
  reduce(ah, al);
  const r = fastTwoSum(rHi, rLo);
  const rl = dd.lo;
  // exp(r) - 1 - r to degree 7: truncation below 2^-75 for |r| ≤ 0.0055.
  const p = r * r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040))))));
  const w = p + rl * (1 + r);
  const th = TAB[tabIndex];
  const tl = TAB[tabIndex + 1];
  // T·(1 + r + w) with T·r exact: the only roundings are in terms below 2^-16·T.
  const ph = twoProd(th, r);
  const pe = dd.lo;
  const s = fastTwoSum(th, ph);
  const low = dd.lo + pe + th * w + tl * (1 + r + w);
  return fastTwoSum(s, low);
}

/** 1/k! as double-doubles for k = 2..5 (Horner steps done in double-double). */
const C3 = [1 / 6, 0] as [number, number];
const C4 = [1 / 24, 0] as [number, number];
const C5 = [1 / 120, 0] as [number, number];
for (const [c, k] of [[C3, 6], [C4, 24], [C5, 120]] as const) {
  const p = twoProd(c[0], k);
  c[1] = ((1 - p) - dd.lo) / k;
}

/** As `expSplit`, relative error below 2^-95. */
export function expSplitDD(ah: number, al: number): number {
  reduce(ah, al);
  const r = fastTwoSum(rHi, rLo);
  const rl = dd.lo;
  // exp(r) - 1 = r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r·q))))), q in double.
  const q = 1 / 720 + r * (1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800))));
  let h = twoSum(C5[0], r * q);
  let l = dd.lo + C5[1];
  h = mulDD1(h, l, r); l = dd.lo;
  h = addDD(C4[0], C4[1], h, l); l = dd.lo;
  h = mulDD1(h, l, r); l = dd.lo;
  h = addDD(C3[0], C3[1], h, l); l = dd.lo;
  h = mulDD1(h, l, r); l = dd.lo;
  h = addDD(0.5, 0, h, l); l = dd.lo;
  h = mulDD1(h, l, r); l = dd.lo;
  h = addDD(1, 0, h, l); l = dd.lo;
  h = mulDD1(h, l, r); l = dd.lo; // e = exp(r) - 1
  // exp(r + rl) - 1 = e + rl(1 + e)
  h = addDD(h, l, rl, rl * h); l = dd.lo;
  const th = TAB[tabIndex];
  const tl = TAB[tabIndex + 1];
  const ph = mulDD(th, tl, h, l);
  const pl = dd.lo;
  return addDD(th, tl, ph, pl);
}

/**
 * The double nearest (h + l) · 2^k, also when it is subnormal (one rounding,
 * ties to even), for |l| ≤ ulp(h)/2 and h a normal number.
 */
export function scaleRound(h: number, l: number, k: number): number {
  if (k > -1022 + 2) {
    // |h| ≥ 2^-2 keeps h·2^k normal, so the product is exact (or overflows).
    if (k <= 1023) return h * POW2[k + 1074];
    return h * POW2[1023 + 1074] * POW2[k - 1023 + 1074];
  }
  if (k + 1074 < -1074) return h * 0; // far below half the smallest subnormal: ±0
  // Round (h + l)·2^(k+1074) to an integer n; the result is n·2^-1074.
  const s = POW2[k + 1074 + 1074];
  const a = h * s;
  const b = l * s;
  const fa = Math.floor(a);
  const d = (a - fa - 0.5) + b;
  const n = d > 0 ? fa + 1 : d < 0 ? fa : fa % 2 === 0 ? fa : fa + 1;
  return n * 5e-324;
}

/**
 * exp(ah + al) as hi + dd.lo, relative error below 2^-66 in the normal range;
 * subnormal results are correctly rounded (dd.lo = 0 there). ±Infinity and NaN
 * give the IEEE results; dd.lo may be NaN when ah = ±Infinity, and is ignored.
 */
export function expX(ah: number, al: number): number {
  if (!(ah > -746)) {
    dd.lo = 0;
    return ah === ah ? 0 : NaN;
  }
  if (ah > 709.8) {
    dd.lo = 0;
    return Infinity;
  }
  const h = expSplit(ah, al);
  return finish(h, dd.lo, dd.k);
}

/** As `expX`, relative error below 2^-95. */
export function expDD(ah: number, al: number): number {
  if (!(ah > -746)) {
    dd.lo = 0;
    return ah === ah ? 0 : NaN;
  }
  if (ah > 709.8) {
    dd.lo = 0;
    return Infinity;
  }
  const h = expSplitDD(ah, al);
  return finish(h, dd.lo, dd.k);
}

function finish(h: number, l: number, k: number): number {
  if (k >= -1021 && k <= 1023) {
    const s = POW2[k + 1074];
    dd.lo = l * s;
    return h * s;
  }
  const v = scaleRound(h, l, k);
  dd.lo = 0;
  return v;
}
