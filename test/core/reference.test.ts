/**
 * The smooth kernels against an independent reference at inputs drawn anew on
 * every run, across their whole range, tails included. The golden fixtures pin
 * fixed points; these draws reach the rest (a rounding bug of exp.ts's
 * scaleRound, at one input in many thousands of the far tail, was found by a
 * draw). The reference is decimal.js at 50 significant digits, each formula
 * written so that it does not cancel (series where a difference of nearly
 * equal terms would lose digits; erfc for gelu from erf's series at 120
 * digits up to 6, its continued fraction beyond), rounded to float64 and, for float32, from
 * there to float32: the kernels' own path (compute in float64, round once,
 * then to float32). Every kernel here rounds once from double-double
 * arithmetic, so its result must be the reference's bit for bit, except in
 * the subnormal range, where the fixtures' ULP bound applies.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward, type Dtype } from '../../src/core/batch.js';
import { ULP_BOUND, ulpError } from '../helpers/golden.js';

const D = Decimal.clone({ precision: 50, rounding: Decimal.ROUND_HALF_EVEN, minE: -9e15, maxE: 9e15 });
type Dec = Decimal;

/** The exact value of a double (toPrecision prints the binary value's own digits). */
const exact = (x: number): Dec => new D(x.toPrecision(60));
const ONE = new D(1);
const TWO = new D(2);

/** e^x − 1 without cancellation near 0. */
function expm1(x: Dec): Dec {
  if (x.abs().gte(1e-6)) return x.exp().minus(1);
  // x + x²/2 + … + x⁸/8!: the next term is below 1e-54 relative.
  let term = x;
  let sum = x;
  for (let n = 2; n <= 8; n++) {
    term = term.times(x).div(n);
    sum = sum.plus(term);
  }
  return sum;
}

/** ln(1 + t) for t ≥ 0, without losing a tiny t. */
function log1p(t: Dec): Dec {
  if (t.gte(1e-12)) return ONE.plus(t).ln();
  // t − t²/2 + t³/3 − t⁴/4: the next term is below 1e-48 relative.
  return t.minus(t.pow(2).div(2)).plus(t.pow(3).div(3)).minus(t.pow(4).div(4));
}

const sigma = (x: Dec): Dec => ONE.div(ONE.plus(x.neg().exp()));
/** ln(1 + e^x), the stable split. */
const softplus = (x: Dec): Dec => (x.isNeg() ? log1p(x.exp()) : x.plus(log1p(x.neg().exp())));
/** tanh s = expm1(2s)/(expm1(2s) + 2), odd: no cancellation for small s. */
function tanh(s: Dec): Dec {
  const m = expm1(s.abs().times(2));
  const t = m.div(m.plus(2));
  return s.isNeg() ? t.neg() : t;
}
/** sech² x = 4/(e^x + e^−x)². */
const sech2 = (x: Dec): Dec => new D(4).div(x.exp().plus(x.neg().exp()).pow(2));

const SELU_ALPHA = new D('1.6732632423543772848170429916717');
const SELU_SCALE = new D('1.0507009873554804934193349852946');
const PI = D.acos(-1);
const SQRT_2_OVER_PI = TWO.div(PI).sqrt();
const SQRT_2PI = TWO.times(PI).sqrt();
const GELU_CUBIC = new D('0.044715');
const GELU_SIGMOID = new D('1.702');

/** 120 digits for erfc's series, whose terms grow to e^36 before they cancel. */
const D120 = Decimal.clone({ precision: 120, minE: -9e15, maxE: 9e15 });
const PI_120 = D120.acos(-1);

/** erfc z for z ≥ 0: erf's Maclaurin series up to z = 6, the continued fraction beyond. */
function erfcNonNegative(z: Dec): Dec {
  const w = new D120(z);
  if (w.lte(6)) {
    const w2 = w.pow(2);
    let term = w; // (−1)^n w^(2n+1)/n!
    let sum = w;
    for (let n = 1; ; n++) {
      term = term.times(w2).neg().div(n);
      const next = term.div(2 * n + 1);
      sum = sum.plus(next);
      if (next.abs().lt(1e-125)) break;
    }
    return new D(new D120(1).minus(sum.times(2).div(PI_120.sqrt())));
  }
  // e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), from the tail: 200 terms settle 50 digits for z > 6.
  let f = w;
  for (let n = 200; n >= 1; n--) f = w.plus(new D120(n).div(2).div(f));
  return new D(w.pow(2).neg().exp().div(PI_120.sqrt()).div(f));
}

/** Φ(x) = erfc(−x/√2)/2, with erfc(−z) = 2 − erfc(z) for x > 0. */
function normalCdf(x: Dec): Dec {
  const z = x.neg().div(TWO.sqrt());
  return (z.isNeg() ? TWO.minus(erfcNonNegative(z.neg())) : erfcNonNegative(z)).div(2);
}
const normalPdf = (x: Dec): Dec => x.pow(2).div(2).neg().exp().div(SQRT_2PI);

interface Reference {
  name: string;
  params?: Record<string, unknown>;
  forward(x: Dec): Dec;
  /** dy/dx, taking the catalog's side at a kink. */
  derivative(x: Dec): Dec;
  /** Inputs to draw: the kernel's interesting range, tails included. */
  domain: fc.Arbitrary<number>;
}

/** Doubles of every magnitude from 2^-1074 to `max`, either sign (most from 2^-60 up), and plain draws in [−max, max]. */
function magnitudes(max: number): fc.Arbitrary<number> {
  const logUniform = (lowest: number) =>
    fc
      .tuple(fc.double({ min: lowest, max: Math.log2(max), noNaN: true }), fc.boolean())
      .map(([e, negative]) => (negative ? -1 : 1) * 2 ** e);
  // The tiny ones reach results near and below the smallest normal double, where double-double low parts underflow.
  return fc.oneof({ arbitrary: logUniform(-60), weight: 3 }, { arbitrary: logUniform(-1074), weight: 1 }, fc.double({ min: -max, max, noNaN: true }));
}

/** x − tanh x: the series x³/3 − 2x⁵/15 + 17x⁷/315 − 62x⁹/2835 below 1e-4, where the difference would cancel. */
function tanhshrink(x: Dec): Dec {
  if (x.abs().gte(1e-4)) return x.minus(tanh(x));
  const x2 = x.pow(2);
  return x.pow(3).times(new D(1).div(3).minus(x2.times(2).div(15)).plus(x2.pow(2).times(17).div(315)).minus(x2.pow(3).times(62).div(2835)));
}

const references: Reference[] = [
  { name: 'sigmoid', forward: sigma, derivative: (x) => sigma(x).times(sigma(x.neg())), domain: magnitudes(750) },
  { name: 'tanh', forward: tanh, derivative: sech2, domain: magnitudes(400) },
  { name: 'softplus', forward: softplus, derivative: sigma, domain: magnitudes(750) },
  { name: 'logsigmoid', forward: (x) => softplus(x.neg()).neg(), derivative: (x) => sigma(x.neg()), domain: magnitudes(750) },
  {
    name: 'silu',
    forward: (x) => x.times(sigma(x)),
    derivative: (x) => sigma(x).times(ONE.plus(x.times(sigma(x.neg())))),
    domain: magnitudes(750),
  },
  {
    name: 'elu',
    forward: (x) => (x.gt(0) ? x : expm1(x)),
    derivative: (x) => (x.gt(0) ? ONE : x.exp()),
    domain: magnitudes(750),
  },
  {
    name: 'selu',
    forward: (x) => SELU_SCALE.times(x.gt(0) ? x : SELU_ALPHA.times(expm1(x))),
    // The catalog's side at the kink: x = 0 takes the left one.
    derivative: (x) => (x.gt(0) ? SELU_SCALE : SELU_SCALE.times(SELU_ALPHA).times(x.exp())),
    domain: magnitudes(750),
  },
  {
    name: 'mish',
    forward: (x) => x.times(tanh(softplus(x))),
    derivative: (x) => {
      const sp = softplus(x);
      return tanh(sp).plus(x.times(sech2(sp)).times(sigma(x)));
    },
    domain: magnitudes(750),
  },
  { name: 'tanhshrink', forward: tanhshrink, derivative: (x) => tanh(x).pow(2), domain: magnitudes(400) },
  {
    name: 'softsign',
    forward: (x) => x.div(ONE.plus(x.abs())),
    derivative: (x) => ONE.div(ONE.plus(x.abs()).pow(2)),
    domain: magnitudes(2 ** 60),
  },
  {
    name: 'gelu',
    forward: (x) => x.times(normalCdf(x)),
    derivative: (x) => normalCdf(x).plus(x.times(normalPdf(x))),
    domain: magnitudes(40),
  },
  {
    name: 'gelu',
    params: { approximate: 'tanh' },
    // ½x(1 + tanh u) = x·σ(2u), u = √(2/π)(x + 0.044715x³): no cancellation for negative x.
    forward: (x) => x.times(sigma(SQRT_2_OVER_PI.times(x.plus(GELU_CUBIC.times(x.pow(3)))).times(2))),
    derivative: (x) => {
      const u2 = SQRT_2_OVER_PI.times(x.plus(GELU_CUBIC.times(x.pow(3)))).times(2);
      const du2 = SQRT_2_OVER_PI.times(ONE.plus(GELU_CUBIC.times(3).times(x.pow(2)))).times(2);
      return sigma(u2).plus(x.times(sigma(u2)).times(sigma(u2.neg())).times(du2));
    },
    domain: magnitudes(40),
  },
  {
    name: 'gelu',
    params: { approximate: 'sigmoid' },
    forward: (x) => x.times(sigma(GELU_SIGMOID.times(x))),
    derivative: (x) => {
      const k = GELU_SIGMOID.times(x);
      return sigma(k).plus(k.times(sigma(k)).times(sigma(k.neg())));
    },
    domain: magnitudes(450),
  },
];

/** The reference rounded to the dtype via float64 (see the header for float32). */
function rounded(value: Dec, dtype: Dtype): number {
  const double = Number(value.toPrecision(40));
  return dtype === 'float32' ? Math.fround(double) : double;
}

function inputsOf(xs: number[], dtype: Dtype): Float64Array {
  return Float64Array.from(xs, (v) => (dtype === 'float32' ? Math.fround(v) : v));
}

/**
 * Down to the smallest normal double every kernel here is held to its one
 * rounding: the result must be the reference's, bit for bit (a near-tie that
 * the double-double could not settle is about 2^-47 likely a draw). Below it
 * the reference cannot settle exact ties at 50 digits (dy·¼ lands exactly
 * halfway on the subnormal grid often), so the fixtures' ULP bound applies.
 */
const SUBNORMAL_BELOW = 2 ** -1022;

function expectWithin(computed: ArrayLike<number>, expected: number[], xs: Float64Array, dtype: Dtype, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const error = ulpError(computed[i], expected[i], dtype);
    if (error > (Math.abs(expected[i]) >= SUBNORMAL_BELOW ? 0 : ULP_BOUND[dtype])) {
      expect.fail(`${what} at x = ${xs[i]}: ${computed[i]} against ${expected[i]}, ${error} ULP`);
    }
  }
}

const dtypes: Dtype[] = ['float64', 'float32'];

describe.each(references)('$name $params against a 50-digit reference', (ref) => {
  const def = getActivation(ref.name)!;
  const params = def.params.parse(ref.params ?? {});

  it.each(dtypes)('forward, %s', (dtype) => {
    fc.assert(
      fc.property(fc.array(ref.domain, { minLength: 1, maxLength: 16 }), (draws) => {
        const x = inputsOf(draws, dtype);
        const expected = Array.from(x, (v) => rounded(ref.forward(exact(v)), dtype));
        const { out } = runForward(def, { x: x.slice(), rows: 1, cols: x.length, params, dtype });
        expectWithin(out, expected, x, dtype, 'forward');
      }),
      { numRuns: Number(process.env.REFERENCE_RUNS ?? 40) },
    );
  });

  it.each(dtypes)('backward, %s', (dtype) => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(ref.domain, fc.double({ min: -4, max: 4, noNaN: true })), { minLength: 1, maxLength: 16 }),
        (draws) => {
          const x = inputsOf(draws.map(([v]) => v), dtype);
          const dy = inputsOf(draws.map(([, d]) => d), dtype);
          const expected = Array.from(x, (v, i) => rounded(ref.derivative(exact(v)).times(exact(dy[i])), dtype));
          const { dx } = runBackward(def, { x: x.slice(), dy: dy.slice(), rows: 1, cols: x.length, params, dtype });
          expectWithin(dx, expected, x, dtype, `backward (dy ${Array.from(dy).join(', ')})`);
        },
      ),
      { numRuns: Number(process.env.REFERENCE_RUNS ?? 40) },
    );
  });
});
