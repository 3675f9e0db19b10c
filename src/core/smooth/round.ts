import { dd, twoProd } from '../numeric/dd.js';
import { mulScaleRound } from '../numeric/exp.js';

/** From here up the product's low part (about 2^-53 of it) is a normal number, so Dekker's product keeps every bit of it. */
export const SMALLEST_SAFE = 2 ** -969;

/**
 * a·(bh + bl) rounded once, for any a and b. Fast path: Dekker's product
 * with its low parts, exact to 2^-104 for results from 2^-969 up. Below
 * that the low parts are subnormal and lose bits (off by one ULP at 2^-1021,
 * e.g. elu's backward at x = −1 with dy = 1.2e−307), and where Dekker's split
 * overflows (a factor from 2^997 up: a huge dy gave NaN), the factors'
 * exponents are taken out first and the product rounded once
 * (`mulScaleRound`, which also lets a tiny bl break a tie: dy = 5e-324 times
 * gelu′(1e-300) = 0.5 + 8e-301 is 5e-324, not the tie's 0). The common path costs one
 * comparison more than a plain double-double product; the rare paths are
 * kept this small because a larger body, inlined into every kernel loop,
 * cost elu's forward 10-15%. A zero factor gives the IEEE zero (−0·x is −0),
 * which the compensation term would turn into +0.
 * "Once" is from the double-double product: a result within about 2^-104 of
 * a midpoint may round to even (an exact tie of a·bh that only a bl below
 * 2^-106 of it breaks; mulScaleRound breaks those in the subnormals only).
 * A kernel's slope meets that by a 2^-53 chance; the tests allow near-ties.
 */
export function mulRoundSub(a: number, bh: number, bl: number): number {
  const p = twoProd(a, bh);
  const r = p + (dd.lo + a * bl);
  if (Math.abs(r) >= SMALLEST_SAFE) return r;
  if (a === 0 || bh === 0) return a * bh; // zeros keep their IEEE sign
  return mulScaleRound(a, bh, bl, 0); // tiny, or the split or the product overflowed (a huge dy), or NaN
}

/** Below this x/2 may fall halfway between two subnormals (x an odd multiple of 2^-1074). */
export const HALF_INEXACT = 2 ** -1021;

/**
 * x·(1/2 + t) rounded once for |x| < 2^-1021 and a t so small that x·t only
 * breaks ties (x·σ(z), gelu(x) = x·Φ(x) and the like near 0, where σ(z) − 1/2
 * underflows in double-double): x/2, or at a tie the neighbour on the side of
 * x·t, whose sign is `side` (gelu(5e-324) is 5e-324, not the tie's 0). ±0
 * stays ±0.
 */
export function halfPlus(x: number, side: number): number {
  const h = x / 2;
  if (h * 2 === x) return h;
  const r = (x + side * 5e-324) / 2;
  return r === 0 ? x * 0 : r;
}

/** Elements with 0 < |x| < 2^-1021, with their x and dy, saved before a kernel's loop writes its output (which may be x or dy). */
export interface TinyInputs {
  at: number[];
  x: number[];
  dy: number[];
}

/**
 * The elements of x with 0 < |x| < 2^-1021 (and |factor·x| < 2^-60, for
 * swish's β·x), or null when there are none: one pass at memory speed, so
 * the kernels keep the rule below out of their loops (a check inside
 * swishValue, which is inlined into silu's loop, cost it 10-15%).
 */
export function tinyInputs(x: Float64Array, dy: Float64Array | null, factor = 1): TinyInputs | null {
  // The scan on its own, as tight as it goes: it runs for every batch (with the collecting in it, it cost silu 5%).
  let first = 0;
  for (; first < x.length; first++) {
    const a = Math.abs(x[first]);
    if (a < HALF_INEXACT && a !== 0) break;
  }
  if (first === x.length) return null;
  const saved: TinyInputs = { at: [], x: [], dy: [] };
  for (let i = first; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (a < HALF_INEXACT && a !== 0 && Math.abs(factor * x[i]) < 2 ** -60) {
      saved.at.push(i);
      saved.x.push(x[i]);
      saved.dy.push(dy === null ? 0 : dy[i]);
    }
  }
  return saved;
}

/**
 * f(x) = x·(1/2 + c·x + …) for the saved elements (`cSign` the sign of c):
 * x/2, its ties broken by the sign of c (silu(5e-324) is 5e-324, not the
 * tie's 0; σ(x) − 1/2 = x/4 underflows in the kernels).
 */
export function fixTinyValues(saved: TinyInputs | null, out: Float64Array, cSign: number): void {
  if (saved === null) return;
  for (let k = 0; k < saved.at.length; k++) out[saved.at[k]] = halfPlus(saved.x[k], cSign);
}

/**
 * Its derivative dy·(1/2 + 2c·x) for the saved elements: dy/2, its ties
 * broken by the sign of dy·c·x (the kernels' derivative loses 2c·x to
 * underflow: dy = 5e-324 times silu′(5e-324) is 5e-324, not the tie's 0).
 */
export function fixTinySlopes(saved: TinyInputs | null, dx: Float64Array, cSign: number): void {
  if (saved === null) return;
  for (let k = 0; k < saved.at.length; k++) {
    const g = saved.dy[k];
    dx[saved.at[k]] = halfPlus(g, Math.sign(g) * Math.sign(saved.x[k]) * cSign);
  }
}
