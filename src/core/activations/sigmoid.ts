import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { dd, fastTwoSum, mulDD, divDD } from '../numeric/dd.js';
import { mulRoundSub } from '../smooth/round.js';
import { expX, expSplit, scaleRound, scaleRoundMul, INV_L, L1, L2, L3, POW2, ROUNDER, SPLITTER, TAB, TAB_SPLIT } from '../numeric/exp.js';

/** σ(x) in float64, correctly rounded but for rare near-ties (see the definition below). */
function forwardExact({ x, out }: { x: Float64Array; out: Float64Array }): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v > -600 && v <= 40) {
      // 1/(1 + e^-x) for both signs: e^-x < e^600 (inside Dekker's range) and its
      // relative error passes to σ unchanged; no branch on the sign of x (random
      // data would mispredict it). expSplit (numeric/exp.ts), the TwoSum 1 + e and
      // invDD (numeric/dd.ts) written out in the loop, the same operations in the
      // same order (test/core/sigmoid.test.ts holds it to them, bit for bit): the
      // calls and the shared dd object took half the time (18 → 37 M elements/s).
      const ah = -v;
      const n = ah * INV_L + ROUNDER - ROUNDER;
      const j = n & 1023;
      const k = (n - j) / 1024; // -58 to 866 here: 2^k·e is normal
      const a = ah - n * L1; // |x| ≤ 600, |n| < 2^20: inside expSplit's own reduction (its far step starts at 709)
      const c = 0 - n * L2 - n * L3; // al = 0, as expX(-x, 0) passes it
      const r = a + c;
      const rb = r - a;
      const rl = a - (r - rb) + (c - rb);
      const p = r * r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120))));
      const w = p + rl * (1 + r);
      const j2 = 2 * j;
      const th = TAB[j2];
      const ph = th * r;
      const sr = SPLITTER * r;
      const rh = sr - (sr - r);
      const rr = r - rh;
      const thh = TAB_SPLIT[j2];
      const thl = TAB_SPLIT[j2 + 1];
      const pe = thh * rh - ph + thh * rr + thl * rh + thl * rr;
      const s = th + ph;
      const low = ph - (s - th) + pe + th * w + TAB[j2 + 1] * (1 + r + w);
      const eh = s + low;
      const scale = POW2[k + 1074];
      const e = eh * scale;
      const el = (low - (eh - s)) * scale;
      // d = 1 + e as a double-double
      const d = 1 + e;
      const db = d - 1;
      const dl = 1 - (d - db) + (e - db) + el;
      // 1/d: q, and the correction from Dekker's q·d
      const q = 1 / d;
      const qd = q * d;
      const sq = SPLITTER * q;
      const qh = sq - (sq - q);
      const ql = q - qh;
      const sd = SPLITTER * d;
      const dh = sd - (sd - d);
      const dlo = d - dh;
      const qdErr = qh * dh - qd + qh * dlo + ql * dh + ql * dlo;
      out[i] = q + (1 - qd - qdErr - q * dl) * q;
    } else if (v > 40) {
      out[i] = 1; // e^-x < 2^-57: 1/(1 + e^-x) rounds to 1, +Infinity included
    } else if (v > -1500) {
      // σ = e^x(1 - e^x + …) = e^x far beyond double precision; rounded once from
      // the unscaled mantissa, so subnormal results are right.
      const h = expSplit(v, 0);
      out[i] = scaleRound(h, dd.lo, dd.k);
    } else {
      out[i] = v === v ? 0 : NaN; // also -Infinity
    }
  }
}

/** 1 ± 2^-40: a float32 result is taken from the fast path only when this whole relative band rounds to it. */
const BAND_LOW = 1 - 2 ** -40;
const BAND_HIGH = 1 + 2 ** -40;

/**
 * float32 results without the double-double steps: Math.fround of forwardExact,
 * bit for bit. The plain double 1/(1 + e^-x), e^-x from the same reduction and
 * table as forwardExact with a degree-5 polynomial, is within 2^-47 of
 * forwardExact's value (relative; a few roundings of 2^-53 each, and
 * σ's relative error is at most e^-x's). When y·(1 - 2^-40) and y·(1 + 2^-40)
 * round to the same float32, so does every value between them, forwardExact's
 * included (rounding is monotonic). Otherwise (about one input in 2^16, near a
 * float32 rounding boundary; and outside -600 < x <= 40) the element goes
 * through forwardExact.
 */
function forwardFloat32({ x, out }: { x: Float64Array; out: Float64Array }): void {
  let hard: number[] | undefined;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v > -600 && v <= 40) {
      const ah = -v;
      const n = ah * INV_L + ROUNDER - ROUNDER;
      const ni = n | 0; // |n| < 2^20 here; integer ops beat (n - j)/1024 by 10%
      const j = ni & 1023;
      const k = ni >> 10;
      const r = ah - n * L1 - n * L2;
      const e = TAB[2 * j] * (1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))))) * POW2[k + 1074];
      const y = 1 / (1 + e);
      const f = Math.fround(y);
      if (Math.fround(y * BAND_LOW) === f && Math.fround(y * BAND_HIGH) === f) {
        out[i] = f;
        continue;
      }
    }
    (hard ??= []).push(i);
  }
  if (!hard) return;
  const xs = new Float64Array(hard.length);
  for (let m = 0; m < hard.length; m++) xs[m] = x[hard[m]];
  const ys = new Float64Array(hard.length);
  forwardExact({ x: xs, out: ys });
  for (let m = 0; m < hard.length; m++) out[hard[m]] = Math.fround(ys[m]);
}

/**
 * Logistic sigmoid, correctly rounded but for rare near-ties.
 *
 * Stable form: σ(x) = 1/(1 + e^-x) for x > -600, where e^-x cannot overflow;
 * below, σ(x) = e^x to far beyond double precision, rounded once from exp's
 * unscaled mantissa so that subnormal results are right (σ(-745) = 5e-324, not
 * 0). The exp (numeric/exp.ts) is good to 2^-74 as a double-double, and 1 + e
 * and the quotient are double-doubles too, so the one rounding at the end is
 * the only one that shows: Math.exp alone is within 1 ULP, but that ULP plus
 * the division's made 2 to 3 ULP here.
 *
 * Backward: σ′ = σ(x)σ(-x) = e/(1 + e)², not σ(1 - σ), which cancels to 0 for
 * x > 37; beyond |x| = 660 the exp's mantissa and exponent are kept apart until
 * dy has multiplied in, so dy·σ′ is rounded once even when subnormal.
 */
export const sigmoid = defineActivation({
  name: 'sigmoid',
  title: 'Logistic sigmoid',
  summary: 'Squashes every input into (0, 1).',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\sigma(x) = \\frac{1}{1 + e^{-x}}',
  derivative: "\\sigma'(x) = \\sigma(x)\\,\\sigma(-x)",
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: true,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Reads as a probability, which suits gates (LSTM, GRU, GLU) and binary outputs.',
      'Smooth and bounded, so activations never blow up.',
    ],
    cons: [
      'Saturates at both ends: the gradient is at most 1/4 and vanishes for large |x|, which slows deep stacks.',
      'Outputs are not zero-centred (the mean is about 1/2), which biases the next layer.',
      'Needs an exponential per element, several times the cost of a ReLU.',
    ],
    references: [
      { title: 'Rumelhart, Hinton & Williams (1986), Learning representations by back-propagating errors', url: 'https://doi.org/10.1038/323533a0' },
    ],
  },
  example: { inputs: [[-700, -1, 0, 1, 40]] },
  forward: forwardExact,
  forwardFloat32,
  backward({ x, dy, dx }) {
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]);
      if (a < 660) {
        const e = expX(-a, 0);
        const el = dd.lo;
        const d1 = fastTwoSum(1, e);
        const d1l = dd.lo + el;
        const den = mulDD(d1, d1l, d1, d1l);
        const g = divDD(e, el, den, dd.lo);
        dx[i] = mulRoundSub(dy[i], g, dd.lo);
      } else if (a < 1500) {
        // (1 + e)² = 1 to double-double precision; dy·e may be subnormal.
        const h = expSplit(-a, 0);
        dx[i] = scaleRoundMul(h, dd.lo, dd.k, dy[i]);
      } else {
        // even dy = 1.8e308 times σ′ underflows; ±Infinity give 0, NaN gives NaN
        dx[i] = a === a ? dy[i] * 0 : NaN;
      }
    }
    return undefined;
  },
});
