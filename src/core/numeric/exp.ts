/**
 * exp with more than double precision, and exact scaling into the subnormal range.
 *
 * Why our own: Math.exp is within 1 ULP, but the kernels divide and multiply its
 * result further (σ = e/(1+e), softmax e/Σe) and subtract it from nearly equal
 * terms (the roots of gelu′), so an error of 1 ULP in e becomes 2 to 10^9 ULP
 * in the result. No well-kept npm package offers exp to double-double accuracy
 * (`double-double` has no exp; @stdlib's exp returns a plain double).
 *
 * Method (Tang's table-driven exp): a = n·ln2/1024 + r with |r| ≤ ln2/2048,
 * exp(a) = 2^k · 2^(j/1024) · exp(r), n = 1024k + j. The table 2^(j/1024)
 * (32 KB) is built here as double-doubles from repeated square roots of 2;
 * exp(r) is a short Taylor polynomial. Two accuracies:
 * - `expX` / `expSplit`: relative error below 2^-74, about 1.5 times the cost of
 *   Math.exp. For the common path: after the last rounding, results are off by
 *   at most 0.5 ULP + 2^-21 ULP, and sums of them cancel by 2^18 before the
 *   error reaches a quarter ULP.
 * - `expDD` / `expSplitDD`: relative error below 2^-100, about 10 times slower.
 *   For the rare cases where a sum of exps cancels further (softmax backward)
 *   and for tables built at load time.
 *
 * The split forms return the mantissa (hi in the return value, lo in `dd.lo`)
 * and the binary exponent in `dd.k` separately, so a caller can multiply the
 * mantissa by other factors and round once with `scaleRound`: results in the
 * subnormal range (σ(-740), gelu(-38)) then get one correct rounding instead of
 * being rounded first to the subnormal grid and then multiplied.
 */
import { dd, twoSum, fastTwoSum, twoProd, mulDD, mulDD1, sqrtDD } from './dd.js';

/** ln2/1024 in three parts: L1 and L2 have 32 significant bits, so n·L1 and n·L2 are exact for |n| < 2^21. */
export const L1 = 0.0006769015433292225;
export const L2 = 1.8634911414483108e-13;
export const L3 = 4.1749761618629385e-23;
/** What L1 + L2 + L3 leave of ln2/1024 (2^-129.6): counts only where n reaches 2^28, far out (expFar). */
const L4 = -9.664144515033916e-40;
export const INV_L = 1477.3197218702985; // 1024/ln2; any nearby value works, it only picks n
/**
 * Below this |ah|, |n| < 2^20: n·L1 and n·L2 are exact and c = al − n·L2 −
 * n·L3 (up to 2^-22) rounds below 2^-76, inside expSplit's 2^-74. At |n|
 * near 2^21, where the products are still exact, c's roundings reached
 * 2^-73.8 (measured against decimal.js), so the far path starts here.
 */
const EXACT_BELOW = 709;

// The tables and constants are exported, read-only, for kernels that write expSplit out inline in their own
// loop (sigmoid's forward): a call per element and the shared `dd` result object cost half of such a loop.
/** 2^(j/1024), j = 0..1023, as double-doubles: TAB[2j] + TAB[2j+1]. */
export const TAB = new Float64Array(2048);
/** TAB[2j] split in 26-bit halves (Veltkamp), so T·r needs only r split. */
export const TAB_SPLIT = new Float64Array(2048);
{
  // roots[b] = 2^(2^b / 1024): 2^(1/1024), …, 2^(1/2) by repeated square roots of 2.
  const rootsH = new Float64Array(10);
  const rootsL = new Float64Array(10);
  let h = 2;
  let l = 0;
  for (let b = 9; b >= 0; b--) {
    h = sqrtDD(h, l);
    l = dd.lo;
    rootsH[b] = h;
    rootsL[b] = l;
  }
  for (let j = 0; j < 1024; j++) {
    let th = 1;
    let tl = 0;
    for (let b = 0; b < 10; b++) {
      if (j & (1 << b)) {
        th = mulDD(th, tl, rootsH[b], rootsL[b]);
        tl = dd.lo;
      }
    }
    TAB[2 * j] = th;
    TAB[2 * j + 1] = tl;
    const t = 134217729 * th;
    TAB_SPLIT[2 * j] = t - (t - th);
    TAB_SPLIT[2 * j + 1] = th - TAB_SPLIT[2 * j];
  }
}

/** POW2[k + 1074] = 2^k for k = -1074..1023, all exact. */
export const POW2 = new Float64Array(2098);
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

/** 1.5·2^52: adding and subtracting it rounds to the nearest integer (|x| < 2^51). */
export const ROUNDER = 6755399441055744;
export const SPLITTER = 134217729;

/**
 * expSplit (or, precise, expSplitDD) for 709 ≤ |ah| < 2^20, out of line:
 * rare, as exp leaves the normal range there (a factor may bring it back).
 * (ah + al) − m·ln2, |r| ≤ 0.35, comes out first, m·1024 a multiple of 1024
 * near n, so that their own reduction does the rest with a small n.
 * m·1024·L1 and m·1024·L2 are exact (|m| < 2^21, L1 and L2 have 32 bits),
 * ah − m·1024·L1 is exact (both multiples of 2^-43, the difference below 1),
 * and TwoSums keep the rest, m·1024·L3 (up to 2^-43) too: summed as a low
 * part it would round at 2^-96. m·1024·L4 reaches 2^-98.6.
 */
function expFar(ah: number, al: number, precise: boolean): number {
  const m = Math.round(ah * (INV_L / 1024));
  const l3 = twoProd(m * 1024, -L3);
  const l3Low = dd.lo;
  let r = twoSum(ah - m * 1024 * L1, -m * 1024 * L2);
  let e = dd.lo;
  r = twoSum(r, l3);
  e += dd.lo;
  r = twoSum(r, al);
  e += dd.lo + l3Low - m * 1024 * L4;
  r = fastTwoSum(r, e);
  const hi = precise ? expSplitDD(r, dd.lo) : expSplit(r, dd.lo);
  dd.k += m;
  return hi;
}

/**
 * exp(ah + al) = (hi + dd.lo) · 2^dd.k with hi in about [0.9997, 2.0007],
 * relative error below 2^-74. Needs finite |ah| < 2^20 (callers check).
 * From |ah| = 1419 n·L1 would round (|n| ≥ 2^21: glu's swish gate at
 * βb = −2048 came out 2.3e-13 off), and from about 709 the sum of the
 * reduction's low terms reaches 2^-74 (EXACT_BELOW), so from 709 a multiple
 * of 1024 near n is taken out first (`expFar`, out of line: the hot path
 * gains one pair of comparisons). Kernels that write this out inline keep
 * |ah| ≤ 600.
 *
 * With |r| ≤ ln2/2048 the polynomial part p = exp(r) - 1 - r is below 2^-24,
 * so its roundings and that of T·p stay near 2^-76; T·r is exact (Dekker).
 * Written out flat (no helper calls, no writes to shared objects but the
 * result): this is the hot path of every kernel, and V8 does not inline
 * deeply enough to flatten the helpers itself.
 */
export function expSplit(ah: number, al: number): number {
  if (ah >= EXACT_BELOW || ah <= -EXACT_BELOW) return expFar(ah, al, false); // NaN stays here
  const n = ah * INV_L + ROUNDER - ROUNDER;
  const j = n & 1023;
  dd.k = (n - j) / 1024;
  // r = ah - n·ln2/1024 + al: ah - n·L1 is exact (Sterbenz), n·L2 too; TwoSum keeps the rest.
  const a = ah - n * L1;
  const c = al - n * L2 - n * L3;
  const r = a + c;
  const bb = r - a;
  const rl = a - (r - bb) + (c - bb);
  // exp(r) - 1 - r to degree 5: truncation below 2^-78.
  const p = r * r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120))));
  const w = p + rl * (1 + r);
  const j2 = 2 * j;
  const th = TAB[j2];
  const tl = TAB[j2 + 1];
  const ph = th * r;
  const sp = SPLITTER * r;
  const rh = sp - (sp - r);
  const rr = r - rh;
  const thh = TAB_SPLIT[j2];
  const thl = TAB_SPLIT[j2 + 1];
  const pe = thh * rh - ph + thh * rr + thl * rh + thl * rr;
  const s = th + ph;
  const low = ph - (s - th) + pe + th * w + tl * (1 + r + w);
  const hi = s + low;
  dd.lo = low - (hi - s);
  return hi;
}

/** 1/6 as a double-double (its Horner step is done in double-double). */
const C3H = 1 / 6;
const C3L = (() => {
  const p = twoProd(C3H, 6);
  return ((1 - p) - dd.lo) / 6;
})();

/**
 * (ch + cl) + r·(ah + al) in double-double, for |r·a| ≤ |c|; r comes pre-split
 * (r = rH + rL, 26 bits each) since every Horner step multiplies by the same r.
 */
function hornerStep(ch: number, cl: number, r: number, rH: number, rL: number, ah: number, al: number): number {
  const p = r * ah;
  const t = SPLITTER * ah;
  const aH = t - (t - ah);
  const aL = ah - aH;
  const pe = rH * aH - p + rH * aL + rL * aH + rL * aL;
  const s = ch + p;
  const low = p - (s - ch) + pe + r * al + cl;
  const hi = s + low;
  dd.lo = low - (hi - s);
  return hi;
}

/** As `expSplit`, relative error below 2^-100 (a few times slower). */
export function expSplitDD(ah: number, al: number): number {
  if (ah >= EXACT_BELOW || ah <= -EXACT_BELOW) return expFar(ah, al, true); // NaN stays here
  const n = ah * INV_L + ROUNDER - ROUNDER;
  const j = n & 1023;
  dd.k = (n - j) / 1024;
  // r = (ah - n·L1) - n·L2 + al - n·L3 to about 2^-106 (the first two terms exact)
  let r = twoSum(ah - n * L1, -n * L2);
  let e = dd.lo;
  r = twoSum(r, al);
  e += dd.lo - n * L3;
  r = fastTwoSum(r, e);
  const rl = dd.lo;
  const sp = SPLITTER * r;
  const rH = sp - (sp - r);
  const rL = r - rH;
  // exp(r) - 1 = r(1 + r(1/2 + r(1/6 + r·q))), q to degree 3 in double: the
  // terms from r⁴/24 on are below 2^-50, so their roundings are below 2^-103.
  const q = 1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040)));
  let h = hornerStep(C3H, C3L, r, rH, rL, q, 0);
  h = hornerStep(0.5, 0, r, rH, rL, h, dd.lo);
  h = hornerStep(1, 0, r, rH, rL, h, dd.lo);
  h = hornerStep(0, 0, r, rH, rL, h, dd.lo); // e = exp(r) - 1
  let l = dd.lo;
  // exp(r + rl) - 1 = e + rl(1 + e); then T·(1 + that)
  h = fastTwoSum(h, l + rl * (1 + h));
  l = dd.lo;
  const th = TAB[2 * j];
  const tl = TAB[2 * j + 1];
  const ph = mulDD(th, tl, h, l);
  const pl = dd.lo;
  const s = th + ph; // |ph| ≤ 0.0004·th
  const low = ph - (s - th) + pl + tl;
  const hi = s + low;
  dd.lo = low - (hi - s);
  return hi;
}

/**
 * x · 2^k for any integer k: exact whenever the result is a normal number,
 * rounded once (ties to even) when it is subnormal.
 */
export function mulPow2(x: number, k: number): number {
  // Beyond ±2200 every finite nonzero x gives 0 or ±Infinity; the clamp also keeps an infinite k from looping.
  if (k > 2200) k = 2200;
  else if (k < -2200) k = -2200;
  while (k > 1023) {
    x *= POW2[1023 + 1074];
    k -= 1023;
  }
  // Steps of 2^-969, not 2^-1022, so that the last factor is below 2^-53 whenever a step was taken: a step that
  // lands in the subnormals (rounding there) then leaves a result below 2^-1075, which is 0 either way. Steps of
  // 2^-1022 rounded twice: mulPow2(-1.3385e293, -2045) gave -3e-323 for -3.5e-323.
  while (k < -1022) {
    x *= POW2[-969 + 1074];
    k += 969;
  }
  return x * POW2[k + 1074];
}

const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * The double nearest (h + l) · 2^k, also when it is subnormal (one rounding,
 * ties to even), for a normalized h + l (h = fl(h + l), so |l| ≤ ulp(h)/2;
 * h = 1 + 2^-52 with l = 2^-53 is not). Rounding h·2^k alone would round twice in
 * the subnormal range (first to 53 bits, then to the grid of 2^-1074).
 */
export function scaleRound(h: number, l: number, k: number): number {
  const v = mulPow2(h, k);
  // Normal (exact), ±Infinity or NaN; the smallest normal itself may be a subnormal h·2^k rounded up (twice, then).
  if (!(Math.abs(v) <= MIN_NORMAL)) return v;
  // Round a + b = |h + l|·2^(k+1074) to an integer n; the result is ±n·2^-1074. On the magnitude, since
  // a - floor(a) is exact only for a >= 0: for a in (-0.5, 0), 1 + a can round up to 0.5 and lose the tie.
  const sign = h < 0 ? -1 : 1;
  const a = mulPow2(sign * h, k + 1074);
  const b = mulPow2(sign * l, k + 1074);
  const fa = Math.floor(a);
  // a - fa is exact; only the sign of d matters. At a tie of the high part it is l's, which the scaling of b may
  // have flushed to 0 (a·(0.5 + 2^-1075) at a = 2^-1074 is 2^-1074, not the tie's 0).
  const d0 = a - fa - 0.5;
  const d = d0 !== 0 ? d0 + b : sign * l;
  const n = d > 0 ? fa + 1 : d < 0 ? fa : fa % 2 === 0 ? fa : fa + 1;
  return n === 0 ? h * 0 : sign * n * 5e-324;
}

/**
 * e with v·2^-e in [1, 2) (or within a factor of 2 of it: Math.log2 can be
 * one off next to a power of two, which scaling does not mind), for finite
 * nonzero v, subnormals included. Scaling by
 * 2^-e (`mulPow2`) is exact, so a factor of any magnitude can enter Dekker's
 * product near 1 with its power of two kept aside.
 */
export function exponentNear(v: number): number {
  return Math.floor(Math.log2(Math.abs(v)));
}

/** Dekker's product of a mantissa near 1 and y is exact to 2^-104 for y in this range, low parts included. */
const PLAIN_LO = 2 ** -400;
const PLAIN_HI = 2 ** 400;

/** 0 for v within 2^±400 (and 0, ±Infinity, NaN), else `exponentNear(v)`: the power of two to take out first. */
export function extremeExponent(v: number): number {
  const t = Math.abs(v);
  return (t >= PLAIN_LO && t <= PLAIN_HI) || t === 0 || !(t < Infinity) ? 0 : exponentNear(t);
}

/**
 * a·(bh + bl)·2^k rounded once, for any a, any bh with |bl| ≤ ulp(bh)/2 and
 * any k: huge factors (Dekker's split overflows from 2^997) and tiny ones
 * (the product's low part would be subnormal) are written as m·2^e first,
 * m near 1, so the double-double product is exact to 2^-104 and `scaleRound`
 * rounds it once, into the subnormals or to ±Infinity as IEEE does. The slow
 * path of the kernels' final roundings: a logarithm per call. "Once" is from
 * that double-double: a result within about 2^-104 of a midpoint may round
 * to even, e.g. an exact tie of a·bh that only a bl below 2^-106 of it
 * breaks (3·(1.0000000000000002 − 6.2e-61) gave 3 + 2^-50 for 3 + 2^-51; measured:
 * 558 of 73 000 drawn ties and near-ties, none in the subnormals, where
 * such a bl still breaks the tie). The kernels' tests allow such near-ties.
 */
export function mulScaleRound(a: number, bh: number, bl: number, k: number): number {
  if (a === 0 || bh === 0 || a - a !== 0 || bh - bh !== 0) return mulPow2(a * bh, k); // IEEE zeros, infinities, NaN
  // Within one of each binary exponent, which is all the scaling needs.
  const ea = exponentNear(a);
  const eb = exponentNear(bh);
  const am = mulPow2(a, -ea);
  const blm = mulPow2(bl, -eb);
  const p = mulDD1(mulPow2(bh, -eb), blm, am);
  let lo = dd.lo;
  // A low part bl too small for its share of the product to survive still breaks a tie, by its sign.
  if (lo === 0 && bl !== 0 && blm * am === 0) lo = Math.sign(a) * Math.sign(bl) * 5e-324;
  return scaleRound(p, lo, k + ea + eb);
}

/**
 * (h + l)·y·2^k rounded once, for a mantissa h + l near 1 (from a split exp)
 * and any y (an upstream gradient): y beyond 2^±400 goes through
 * `mulScaleRound`, so a huge dy neither overflows Dekker's split (which gave
 * NaN) nor a tiny one loses the product's low part. Near-ties within 2^-104
 * as for `mulScaleRound`.
 */
export function scaleRoundMul(h: number, l: number, k: number, y: number): number {
  const t = Math.abs(y);
  if (t >= PLAIN_LO && t <= PLAIN_HI) return scaleRound(mulDD1(h, l, y), dd.lo, k);
  return mulScaleRound(y, h, l, k);
}

/**
 * exp(ah + al) as hi + dd.lo, relative error below 2^-74 for results above
 * 2^-969 (ah > -671); below that the low part is itself subnormal, so hi + lo
 * is only good to about 2^-1074 absolute (use the split form and `scaleRound`
 * there). Subnormal results are rounded once from that 2^-74 value (dd.lo = 0
 * there): the nearest subnormal unless e^(ah + al) lies within 2^-74 of a
 * midpoint between two (expDD: 2^-100). ±Infinity and NaN
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
  const k = dd.k;
  if (k >= -1021 && k <= 1023) {
    const s = POW2[k + 1074];
    dd.lo *= s;
    return h * s;
  }
  return finish(h, dd.lo, k);
}

/** As `expX`, relative error below 2^-100 (for results above 2^-969, as for `expX`). */
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
  // h > 0.99, so h·2^k is normal for k ≥ -1021.
  if (k >= -1021 && k <= 1023) {
    const s = POW2[k + 1074];
    dd.lo = l * s;
    return h * s;
  }
  if (k === 1024) {
    // From ah = 709.78237 n rounds to 2^20 and k to 1024 while h < 1 keeps the result finite: 2^1024 is not a
    // double, so 2h and 2l go with 2^1023 (scaleRound would drop the low part). h ≥ 1 overflows.
    const v = 2 * h * POW2[1023 + 1074];
    dd.lo = v === Infinity ? 0 : 2 * l * POW2[1023 + 1074];
    return v;
  }
  const v = scaleRound(h, l, k);
  dd.lo = 0;
  return v;
}
