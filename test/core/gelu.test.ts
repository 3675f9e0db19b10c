/**
 * gelu in its three forms: special values, tails, the root of gelu′ and the
 * derivative against finite differences. Reference values are 60-digit mpmath
 * results rounded to float64, with the spec's exact constants.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gelu } from '../../src/core/activations/gelu.js';
import { addDD, dd, fastTwoSum, mulDD, mulDD1, twoProd, twoSum } from '../../src/core/numeric/dd.js';
import { HALF_INEXACT, halfPlus, mulRoundSub } from '../../src/core/smooth/round.js';
import { expX } from '../../src/core/numeric/exp.js';
import { cdfPieceInto, INV_SQRT_2PI_H, INV_SQRT_2PI_L, PIECES_END } from '../../src/core/numeric/normal.js';
import { GELU_ROOTS, ROOT_BAND, rootSeries } from '../../src/core/numeric/roots.js';
import { ulpError } from '../helpers/golden.js';
import { uniformIn } from '../helpers/reference.js';

type Form = 'none' | 'tanh' | 'sigmoid';
const FORMS: Form[] = ['none', 'tanh', 'sigmoid'];

function fwd(form: Form, ...xs: number[]): Float64Array {
  const x = Float64Array.from(xs);
  const out = new Float64Array(x.length);
  gelu.forward({ x, rows: 1, cols: x.length, params: { approximate: form }, out });
  return out;
}

function bwd(form: Form, xs: number[], dys: number[]): Float64Array {
  const x = Float64Array.from(xs);
  const dx = new Float64Array(x.length);
  gelu.backward({ x, dy: Float64Array.from(dys), rows: 1, cols: x.length, params: { approximate: form }, dx });
  return dx;
}

/**
 * gelu.ts's cdfNearInto from the helpers: Φ(v) = m + (1 - 2m)·Φ(-|v|), m = [v > 0], for |v| <= 4.25, as hi + dd.lo
 * (Φ(-|v|) from cdfPieceInto, which test/core/numeric.test.ts holds to the helpers).
 */
const PIECE = new Float64Array(2);
function cdfNearComposed(v: number): number {
  cdfPieceInto(-Math.abs(v), PIECE);
  const ph = PIECE[0];
  const pl = PIECE[1];
  const m = +(v > 0);
  const sg = 1 - 2 * m;
  const ch = twoSum(m, sg * ph);
  return fastTwoSum(ch, dd.lo + sg * pl);
}

describe('gelu none: the forward written out in its loop', () => {
  // For |x| <= 4.25 the kernel inlines the sign fold of Φ and mulRoundSub for speed; it must stay those
  // operations, bit for bit: x·Φ(x) with Φ(x) = m + (1 - 2m)·Φ(-|x|), m = [x > 0], and halfPlus for subnormal x.
  const composed = (v: number) => {
    const c = cdfNearComposed(v);
    return Math.abs(v) < HALF_INEXACT ? halfPlus(v, 1) : mulRoundSub(v, c, dd.lo);
  };
  const expectComposed = (xs: number[]) => {
    const got = fwd('none', ...xs);
    for (let i = 0; i < xs.length; i++) if (!Object.is(got[i], composed(xs[i]))) expect([xs[i], got[i]]).toEqual([xs[i], composed(xs[i])]);
  };

  it('equals the pieces, the sign fold and mulRoundSub composed, for |x| <= 4.25', () => {
    const near = fc.double({ min: -PIECES_END, max: PIECES_END, noNaN: true });
    const tiny = fc.double({ min: -1e-300, max: 1e-300, noNaN: true });
    fc.assert(fc.property(fc.array(fc.oneof(near, tiny), { minLength: 1, maxLength: 50 }), expectComposed), { numRuns: 1000 });
  });

  it('equals them on a dense sweep, piece edges and ±4.25 included', () => {
    const xs: number[] = [];
    for (let k = -34 * 64; k <= 34 * 64; k++) xs.push(k / 512, k / 512 + 2 ** -40, k / 512 - 2 ** -40);
    expectComposed(xs.filter((v) => Math.abs(v) <= PIECES_END));
  });
});

describe('gelu none: the backward written out in its loop', () => {
  // For |x| <= 4.25 outside the root band the kernel inlines the sign fold of Φ, twoProd, expX, mulDD, mulDD1, addDD and
  // mulRoundSub; it must stay those operations, bit for bit: dy·(Φ(x) + xφ(x)).
  const composed = (v: number, d: number) => {
    // A subnormal x: dy·(1/2 + 2x/√(2π)), whose second term underflows, breaks the ties of dy/2 by the sign of dy·x.
    if (v !== 0 && Math.abs(v) < HALF_INEXACT) return halfPlus(d, Math.sign(d) * Math.sign(v));
    const ch = cdfNearComposed(v);
    const cl = dd.lo;
    const q = twoProd(v, v);
    const e = expX(-0.5 * q, -0.5 * dd.lo);
    let xh = mulDD(e, dd.lo, INV_SQRT_2PI_H, INV_SQRT_2PI_L);
    xh = mulDD1(xh, dd.lo, v);
    const gh = addDD(ch, cl, xh, dd.lo);
    return mulRoundSub(d, gh, dd.lo);
  };
  const root = GELU_ROOTS.none[0];
  const written = (v: number) => Math.abs(v) <= PIECES_END && Math.abs(v - root) > ROOT_BAND;
  const expectComposed = (pairs: [number, number][]) => {
    const xs = pairs.map(([v]) => v);
    const dys = pairs.map(([, d]) => d);
    const got = bwd('none', xs, dys);
    for (let i = 0; i < xs.length; i++) {
      if (!written(xs[i])) continue;
      const want = composed(xs[i], dys[i]);
      if (!Object.is(got[i], want)) expect([xs[i], dys[i], got[i]]).toEqual([xs[i], dys[i], want]);
    }
  };

  it('equals the pieces, the sign fold, expX, mulDD, mulDD1, addDD and mulRoundSub composed, for |x| <= 4.25', () => {
    const near = fc.double({ min: -PIECES_END, max: PIECES_END, noNaN: true });
    const tiny = fc.double({ min: -1e-300, max: 1e-300, noNaN: true });
    const dy = fc.oneof(fc.constant(1), fc.double({ noNaN: true }), fc.double({ min: -4, max: 4, noNaN: true }));
    fc.assert(fc.property(fc.array(fc.tuple(fc.oneof(near, tiny), dy), { minLength: 1, maxLength: 50 }), expectComposed), { numRuns: 1000 });
  });

  it('equals them on a dense sweep, piece edges, ±4.25 and both sides of the root band included', () => {
    const pairs: [number, number][] = [];
    for (let k = -34 * 64; k <= 34 * 64; k++) for (const v of [k / 512, k / 512 + 2 ** -40, k / 512 - 2 ** -40]) pairs.push([v, 1], [v, -0.75]);
    for (const v of [root - ROOT_BAND, root + ROOT_BAND]) pairs.push([v * (1 - 2 ** -52), 1], [v * (1 + 2 ** -52), 1]);
    expect(pairs.filter(([v]) => written(v)).length).toBeGreaterThan(20000);
    expectComposed(pairs);
  });
});

describe.each(FORMS)('gelu %s: special values', (form) => {
  const f = (v: number) => fwd(form, v)[0];
  const g = (v: number) => bwd(form, [v], [1])[0];

  it('NaN propagates, forward and backward', () => {
    expect(f(NaN)).toBeNaN();
    expect(g(NaN)).toBeNaN();
    expect(bwd(form, [0.3], [NaN])[0]).toBeNaN();
  });

  it('gelu(+Infinity) = +Infinity with slope 1, gelu(-Infinity) = 0 with slope 0', () => {
    expect(f(Infinity)).toBe(Infinity);
    expect(g(Infinity)).toBe(1);
    expect(f(-Infinity) === 0).toBe(true); // -0: the limit from below
    expect(g(-Infinity) === 0).toBe(true);
  });

  it('gelu(±0) = ±0 with slope 1/2', () => {
    expect(f(0)).toBe(0);
    // IEEE signs, as PyTorch's x·½(1 + erf(x/√2)) and x·σ(1.702x): −0·½ is −0.
    expect(f(-0)).toBe(-0);
    expect(g(0)).toBe(0.5);
    expect(g(-0)).toBe(0.5);
  });

  it('large positive inputs pass through, large negative ones vanish', () => {
    expect(f(1e6)).toBe(1e6);
    expect(g(1e6)).toBe(1);
    expect(f(-1e6) === 0).toBe(true);
    expect(g(-1e6) === 0).toBe(true);
  });
});

// x, gelu(x), gelu′(x), each correctly rounded
const VALUES: Record<Form, [number, number, number][]> = {
  none: [
    [-30, -1.472014178144456e-196, -4.416031690708495e-195],
    [-38, -1.096462777e-314, -4.1665545693e-313],
    [-38.5, -5.4e-323, -2.085e-321],
    [-39, 0, 0],
    [-1, -0.15865525393145705, -0.0833154705876863],
    [-0.75, -0.16997051428265114, 0.0007742782607648957],
    [1, 0.8413447460685429, 1.0833154705876864],
    [5, 4.999998566742141, 1.000007146946002],
    [10, 10, 1],
  ],
  tanh: [
    [-21.5, -2.8e-322, -2.845e-320],
    [-20, -3.3754509563109673e-261, -2.9424328724945027e-259],
    [-10, -1.204092348209806e-37, -2.7576380638540315e-36],
    [-1, -0.1588080093917233, -0.08296408384578255],
    [1, 0.8411919906082767, 1.0829640838457826],
    [3, 2.996362607918227, 1.0115841666309697],
  ],
  sigmoid: [
    [-430, -6.17602334e-316, -1.04972289e-315],
    [-400, -8.597589621091931e-294, -1.4611603561045737e-293],
    [-40, -1.0846551018154305e-28, -1.8189666057444768e-28],
    [-10, -4.05796129485531e-7, -6.500853714089018e-7],
    [-1, -0.1542042340671787, -0.06777960655633405],
    [1, 0.8457957659328212, 1.067779606556334],
    [3, 2.981928690292214, 1.0245483239056523],
  ],
};

describe.each(FORMS)('gelu %s: values in the tails and the middle', (form) => {
  it.each(VALUES[form])('gelu(%d) within 1 ULP, forward and backward', (x, y, dy) => {
    expect(ulpError(fwd(form, x)[0], y, 'float64')).toBeLessThanOrEqual(1);
    expect(ulpError(bwd(form, [x], [1])[0], dy, 'float64')).toBeLessThanOrEqual(1);
  });
});

describe('gelu none in the far negative tail', () => {
  it('gelu(-30) ≈ -1.47e-196, not 0 (erfc of a rounded -x/√2 would be 30 ULP off here)', () => {
    expect(fwd('none', -30)[0]).toBe(-1.472014178144456e-196);
  });

  it('subnormal results are rounded once: gelu(-38.5) = -11·2^-1074', () => {
    expect(fwd('none', -38.5)[0]).toBe(-11 * Number.MIN_VALUE);
  });
});

describe('gelu′ near its root x0 ≈ -0.75', () => {
  // gelu′ at the doubles next to each root, from mpmath
  const nearRoot: [Form, number, number][] = [
    ['none', -0.7517915246935645, -6.453751729367753e-18],
    ['none', -0.7517915246935644, 4.145170479608077e-17],
    ['tanh', -0.7524614220710164, -6.34314648265498e-17],
    ['tanh', -0.7524614220710163, -1.5647455740893692e-17],
    ['sigmoid', -0.751154255441289, -1.7410584010100853e-17],
    ['sigmoid', -0.7511542554412889, 2.3747106926953915e-17],
  ];
  it.each(nearRoot)('%s: gelu′(%d) keeps its relative accuracy', (form, x, want) => {
    expect(ulpError(bwd(form, [x], [1])[0], want, 'float64')).toBeLessThanOrEqual(1);
  });

  it.each(FORMS)('%s: gelu′ changes sign once between -1 and -0.5', (form) => {
    const xs = Array.from({ length: 2001 }, (_, i) => -1 + i * 2.5e-4);
    const g = bwd(form, xs, xs.map(() => 1));
    let changes = 0;
    for (let i = 1; i < g.length; i++) if (Math.sign(g[i]) !== Math.sign(g[i - 1])) changes++;
    expect(changes).toBe(1);
  });

  it.each(FORMS)('%s: the root series and the general path agree beyond the band edges', (form) => {
    // The series converges well past |t| = 1/16, so just outside the band it must
    // reproduce what the kernel computes there by the other route.
    const t = GELU_ROOTS[form];
    for (const side of [-1, 1]) {
      for (const d of [1e-12, 1e-6, 1e-3, 1e-2]) {
        const x = t[0] + side * (ROOT_BAND + d);
        const kernel = bwd(form, [x], [1])[0];
        expect(ulpError(kernel, rootSeries(t, x), 'float64')).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe.each(FORMS)('gelu %s: backward against forward', (form) => {
  it('matches a fourth-order central difference', () => {
    fc.assert(
      fc.property(fc.oneof(uniformIn(-12, 12), fc.double({ min: -12, max: 12, noNaN: true })), uniformIn(-2, 2), (x, dy) => {
        const h = 2 ** -10;
        const [p2, p1, m1, m2] = fwd(form, x + 2 * h, x + h, x - h, x - 2 * h);
        const fd = (8 * (p1 - m1) - (p2 - m2)) / (12 * h);
        const dx = bwd(form, [x], [dy])[0];
        // truncation O(h^4·gelu^(5)) and rounding O(12ε/h) are both below 2e-9
        expect(Math.abs(dx - dy * fd)).toBeLessThanOrEqual(2e-9 * Math.abs(dy) + 1e-300);
      }),
    );
  });

  it('the forms agree with each other to 0.02 (they approximate the same curve)', () => {
    fc.assert(
      fc.property(uniformIn(-8, 8), (x) => {
        const exact = fwd('none', x)[0];
        expect(Math.abs(fwd(form, x)[0] - exact)).toBeLessThan(0.021);
      }),
    );
  });
});
