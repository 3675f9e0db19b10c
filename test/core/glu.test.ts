/**
 * glu: each gate at its hard spots against mpmath (1200 digits, correctly
 * rounded): the GELU tail in the subnormals, the roots of gelu′ and swish′,
 * sigmoid far out; relu's kink; the odd-width check.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { millsNode, millsRatio } from '../../src/core/rows/gauss.js';
import { dd } from '../../src/core/numeric/dd.js';
import { ulpError } from '../helpers/golden.js';

const glu = getActivation('glu')!;
type Gate = 'sigmoid' | 'swish' | 'gelu' | 'relu';

/** One (a, b) pair per row: returns y, da, db for each. */
function pairs(gate: Gate, a: number[], b: number[], dy: number[], beta = 1) {
  const params = glu.params.parse({ activation: gate, beta });
  const x = Float64Array.from(a.flatMap((ai, i) => [ai, b[i]]));
  const rows = a.length;
  const { out } = runForward(glu, { x: x.slice(), rows, cols: 2, params, dtype: 'float64' });
  const { dx } = runBackward(glu, { x, dy: Float64Array.from(dy), rows, cols: 2, params, dtype: 'float64' });
  return { y: Array.from(out), da: Array.from(dx).filter((_, i) => i % 2 === 0), db: Array.from(dx).filter((_, i) => i % 2 === 1) };
}

function expectClose(got: number[], want: number[], ulps = 0): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(ulpError(g, want[i], 'float64'), `element ${i}: got ${g}, want ${want[i]}`).toBeLessThanOrEqual(ulps));
}

describe('glu shapes', () => {
  it('halves the width: y = a ⊙ act(b) with a the first half', () => {
    const params = glu.params.parse({ activation: 'relu' });
    const { out, cols } = runForward(glu, { x: Float64Array.from([1, 2, 3, 4, -1, 0.5]), rows: 1, cols: 6, params, dtype: 'float64' });
    expect(cols).toBe(3);
    expect(Array.from(out)).toEqual([4, 0, 1.5]);
  });

  it('rejects an odd width, naming /inputs', () => {
    expect(glu.checkShape?.(glu.params.parse({}) as never, 2, 5)).toEqual({
      path: '/inputs',
      message: 'glu splits each row into two halves, so the row width must be even; it is 5',
    });
    expect(glu.checkShape?.(glu.params.parse({}) as never, 2, 4)).toBeUndefined();
  });

  it('defaults to the sigmoid gate with beta 1, and its params are strict', () => {
    expect(glu.params.parse({})).toEqual({ activation: 'sigmoid', beta: 1 });
    expect(glu.params.safeParse({ activation: 'tanh' }).success).toBe(false);
  });
});

describe('glu gates against mpmath', () => {
  it('sigmoid (GLU): y, da, db', () => {
    const r = pairs('sigmoid', [2], [-1.5], [0.5]);
    expectClose(r.y, [0.3648510476127127]);
    expectClose(r.da, [0.09121276190317817]);
    expectClose(r.db, [0.14914645207033286]);
  });

  it('sigmoid far out: σ(−800)·1e300 and σ′(−800)·1e300 are not lost', () => {
    const r = pairs('sigmoid', [1e300], [-800], [1]);
    expectClose(r.y, [3.667874584177687e-48]);
    expectClose(r.db, [3.667874584177687e-48]);
  });

  it('swish with beta 0.5 (SwiGLU): y, db', () => {
    const r = pairs('swish', [2], [-1.5], [0.5], 0.5);
    expectClose(r.y, [-0.9624639024738211]);
    expectClose(r.db, [0.1574000555032465]);
  });

  it('swish′ next to its root z ≈ −1.2785 keeps its relative precision', () => {
    expectClose(pairs('swish', [1], [-1.2784645427610737], [1]).db, [2.3843834755243115e-17]);
    expectClose(pairs('swish', [1], [-2.5569290855221474], [1], 0.5).db, [2.3843834755243115e-17]);
  });

  it('swish′ with βb within 2^-71 of the root (an exact product no double gets that near; mpmath)', () => {
    // 1 + z + E cancelled below what E's 2^-95 settles: db was 1.7e-12 off. Now written about the root.
    const b = -0.5903791382795616;
    const beta = 2.165497491132019;
    expectClose(pairs('swish', [1], [b], [1], beta).db, [-7.062270389378131e-23]);
    expectClose(pairs('swish', [3], [b], [7], beta).db, [-1.4830767817694074e-21]);
  });

  it('gelu (GeGLU, exact erf form): y and db', () => {
    const r = pairs('gelu', [-3], [1.25], [2]);
    expectClose(r.y, [-3.3538133487492927]);
    expectClose(r.db, [-6.735969498416533]);
  });

  it('gelu in the far tail is right in the subnormal range, not 0', () => {
    expectClose(pairs('gelu', [1], [-38], [1]).y, [-1.096462777e-314]);
    expectClose(pairs('gelu', [3], [-37.5], [1]).y, [-5.1810221357796993e-306]);
  });

  it('gelu′ next to its root b ≈ −0.7518 keeps its relative precision', () => {
    expectClose(pairs('gelu', [1], [-0.7517915246935645], [1]).db, [-6.453751729367753e-18]);
    expectClose(pairs('gelu', [1.5], [-0.7517915246935645], [-0.75]).db, [7.260470695538722e-18]);
  });

  it('gelu(40)·dy rounds an exact tie the right way (Φ(40) = 1 − 3.6e-350)', () => {
    // dy·40 lies exactly halfway between two doubles; the true value is just inside.
    expectClose(pairs('gelu', [1], [40], [-0.16182510782798215]).da, [-6.473004313119286]);
  });

  it('swish with σ(βb) = 1 rounds a·b once next to the subnormals (a·b = 2^-1016·(1 − 5.4e-17), σ = 1 − e^-1e5)', () => {
    // b·1 entered the product unscaled: its low part was rounded to the subnormal grid, looked like a tie, and the
    // sticky sign of 1 − σ took the step below.
    const { y, da } = pairs('swish', [-1.1511075939948418e-11], [-1.2371104811345638e-295], [-1.1511075939948418e-11], -8.083354525683235e299);
    expectClose(y, [2 ** -1016]);
    expectClose(da, [2 ** -1016]);
  });

  it('swish′ at βb = −2048 with a and dy near the largest double (mpmath)', () => {
    // exp's range reduction rounded n·L1 from |βb| = 1419 up: db came out 2.3e-13 off.
    const { db } = pairs('swish', [1.7976931348623157e308], [7429.309225151383], [1.7976931348623157e308], -0.275664902763195);
    expectClose(db, [-2.429599032582588e-270]);
  });

  it('relu (ReGLU): relu′(0) = 0', () => {
    const r = pairs('relu', [3, 3, 3], [0, 2, -1], [1, 1, 1]);
    expect(r.y).toEqual([0, 6, 0]);
    expect(r.db).toEqual([0, 3, 0]);
    expect(r.da).toEqual([0, 2, 0]);
  });
});

describe('glu special values', () => {
  it('takes the limits at ±Infinity and propagates NaN', () => {
    for (const gate of ['sigmoid', 'swish', 'gelu'] as const) {
      const r = pairs(gate, [2, 2, NaN, 2], [Infinity, -Infinity, 1, NaN], [1, 1, 1, 1]);
      expect(r.y[0], gate).toBe(gate === 'sigmoid' ? 2 : Infinity);
      expect(Math.abs(r.y[1]), gate).toBe(0);
      expect(Number.isNaN(r.y[2]) && Number.isNaN(r.y[3]), gate).toBe(true);
      expect(Number.isNaN(r.db[3]), gate).toBe(true);
    }
  });

  it('gelu and swish are odd-symmetric in a: y(−a, b) = −y(a, b) bit for bit', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: -50, max: 50, noNaN: true }), (a, b) => {
        for (const gate of ['sigmoid', 'swish', 'gelu'] as const) {
          const p = pairs(gate, [a], [b], [1]).y[0];
          const m = pairs(gate, [-a], [b], [1]).y[0];
          expect(m === -p || (m === 0 && p === 0), `${gate} a=${a} b=${b}`).toBe(true);
        }
      }),
    );
  });

  it('gelu: x·Φ(x) − (−x)·Φ(−x) = x (the two halves of the identity Φ(x) + Φ(−x) = 1), to a few ULP', () => {
    fc.assert(
      fc.property(fc.double({ min: -8, max: 8, noNaN: true }), (b) => {
        const [p, m] = pairs('gelu', [1, 1], [b, -b], [1, 1]).y;
        expect(Math.abs(p - m - b)).toBeLessThanOrEqual(4 * 2 ** -53 * Math.max(Math.abs(p), Math.abs(m)) + 4 * 2 ** -1074);
      }),
    );
  });
});

describe('gauss helpers', () => {
  it('tabulate R(0) = √(π/2) to double-double', () => {
    const [h, l] = millsNode(0);
    expect(h).toBe(1.2533141373155003);
    expect(Math.abs(l - -9.164289990229583e-17)).toBeLessThan(1e-31);
  });

  it('R(b) = Φ(b)/φ(b) matches mpmath in the tail and near the root of gelu′', () => {
    // mpmath: ncdf(b)/npdf(b).
    const r = (b: number) => {
      const h = millsRatio(b, false);
      return h + dd.lo;
    };
    expect(ulpError(r(-0.75), 0.7525711790634081, 'float64')).toBeLessThanOrEqual(0.5);
    expect(ulpError(r(-20.03), 0.04980159224996611, 'float64')).toBeLessThanOrEqual(0.5);
    expect(ulpError(r(-100), 0.009999000299850106, 'float64')).toBeLessThanOrEqual(0.5);
  });
});
