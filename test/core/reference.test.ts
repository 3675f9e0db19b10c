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
 * then to float32). The kernels here round once from double-double
 * arithmetic, so their results must be the reference's bit for bit, except in
 * the subnormal range, where the fixtures' ULP bound applies, and for gelu's
 * exact form, whose Φ is good to about 2^-58 only (one ULP allowed; see its
 * entry). Parameters (α, β, threshold) and glu's gates are drawn too.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward, type Dtype } from '../../src/core/batch.js';
import { ULP_BOUND, ulpError, ulpOf } from '../helpers/golden.js';
import {
  D,
  type Dec,
  dtypes,
  exact,
  expectWithin,
  expm1,
  inputsOf,
  log1p,
  logUniform,
  magnitudes,
  NEAR_TIE,
  ONE,
  rounded,
  RUNS,
  TWO,
  upstream,
} from '../helpers/reference.js';

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

/** Numeric parameters as exact decimals (a parameter is the float64 number the client wrote). */
type Params = Record<string, Dec>;

interface Reference {
  name: string;
  /** Parameters as a client sends them: fixed, or drawn anew on every run. */
  params?: Record<string, unknown> | fc.Arbitrary<Record<string, unknown>>;
  forward(x: Dec, p: Params): Dec;
  /** dy/dx, taking the catalog's side at a kink. */
  derivative(x: Dec, p: Params): Dec;
  /** A learnable parameter's gradient per element over dy: the kernel returns Σ dy·term over the batch. */
  paramGradient?: { name: string; term(x: Dec, p: Params): Dec };
  /** Inputs to draw: the kernel's interesting range, tails included. */
  domain: fc.Arbitrary<number>;
  /** ULP allowed for normal results where the kernel does not round once from double-double (0 otherwise). */
  ulps?: number;
  /** How near a tie (relative) a one-ULP miss may be, where the kernel documents a bound wider than NEAR_TIE. */
  nearTie?: Dec;
  /** A parameter the forward is a multiple of where unit(x) is not 0: forward = p[param]·unit(x) there. */
  scaledBy?: { param: string; unit(x: Dec): Dec };
}

/** A parameter such as α or β: mostly 2^-12 to 2^12 and plain draws near 1, where clients set it; now and then any magnitude. */
function scale(signed: boolean): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: logUniform(-12, 12, signed), weight: 3 },
    { arbitrary: fc.double({ min: signed ? -4 : 2 ** -12, max: 4, noNaN: true }), weight: 3 },
    { arbitrary: logUniform(-1074, 1023, signed), weight: 1 },
  );
}

/** hardsigmoid's α: the exact fraction 1/6 where the double 1/6 was sent (or defaulted), as the kernel takes it. */
const slopeOf = (p: Params): Dec => (p.alpha.eq(exact(1 / 6)) ? ONE.div(6) : p.alpha);

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
  // x − tanh x cancels up to 2^6 of tanh's 2^-61 for |x| ≥ 1/4 (tanhshrink.ts).
  { name: 'tanhshrink', forward: tanhshrink, derivative: (x) => tanh(x).pow(2), domain: magnitudes(400), nearTie: new D(2).pow(-55) },
  {
    name: 'softsign',
    forward: (x) => x.div(ONE.plus(x.abs())),
    derivative: (x) => ONE.div(ONE.plus(x.abs()).pow(2)),
    domain: magnitudes(2 ** 60),
  },
  {
    name: 'gelu',
    // Not rounded from double-double: Φ's Taylor pieces carry about 2^-67 absolute error (2^-59 relative to
    // Φ(-3.5)) and the erfc tail beyond 4.25 is fdlibm's rational fit (about 2^-58), so about 0.6% of x < -4.25
    // and 0.01% of -4.25 < x < 0 are one ULP off, within the catalog's bound; gelu.ts says so.
    ulps: 1,
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
  {
    name: 'elu',
    params: fc.record({ alpha: scale(true) }),
    forward: (x, p) => (x.gt(0) ? x : p.alpha.times(expm1(x))),
    derivative: (x, p) => (x.gt(0) ? ONE : p.alpha.times(x.exp())),
    scaledBy: { param: 'alpha', unit: (x) => (x.gt(0) ? new D(0) : expm1(x)) },
    domain: magnitudes(1e5),
  },
  {
    name: 'celu',
    params: fc.record({ alpha: scale(false) }),
    forward: (x, p) => (x.gt(0) ? x : p.alpha.times(expm1(x.div(p.alpha)))),
    derivative: (x, p) => (x.gt(0) ? ONE : x.div(p.alpha).exp()),
    domain: magnitudes(1e5),
  },
  {
    name: 'swish',
    params: fc.record({ beta: fc.oneof(scale(true), fc.constant(0)) }),
    forward: (x, p) => x.times(sigma(p.beta.times(x))),
    derivative: (x, p) => {
      const z = p.beta.times(x);
      return sigma(z).plus(z.times(sigma(z)).times(sigma(z.neg())));
    },
    paramGradient: { name: 'beta', term: (x, p) => x.pow(2).times(sigma(p.beta.times(x))).times(sigma(p.beta.times(x).neg())) },
    domain: magnitudes(1e5),
  },
  {
    name: 'hardsigmoid',
    // α = 1/6 (the default, or its double) is the exact fraction, as the kernel reads it; otherwise the double sent.
    params: fc.oneof(
      fc.constant({}),
      fc.record({ alpha: fc.oneof(scale(true), fc.constant(0.2)), beta: fc.oneof(fc.double({ min: -4, max: 4, noNaN: true }), fc.constant(0.5)) }),
    ),
    forward: (x, p) => {
      const v = slopeOf(p).times(x).plus(p.beta);
      return v.lte(0) ? new D(0) : v.gte(1) ? ONE : v;
    },
    derivative: (x, p) => {
      const v = slopeOf(p).times(x).plus(p.beta);
      return v.gt(0) && v.lt(1) ? slopeOf(p) : new D(0);
    },
    domain: fc.oneof(magnitudes(8), fc.integer({ min: -8, max: 8 })),
  },
  {
    name: 'prelu',
    params: fc.record({ alpha: scale(true) }),
    forward: (x, p) => (x.gt(0) ? x : p.alpha.times(x)),
    derivative: (x, p) => (x.gt(0) ? ONE : p.alpha),
    scaledBy: { param: 'alpha', unit: (x) => (x.gt(0) ? new D(0) : x) },
    // dα = Σ dy·x over x ≤ 0 (compensated dot products in the kernel).
    paramGradient: { name: 'alpha', term: (x) => (x.gt(0) ? new D(0) : x) },
    domain: magnitudes(1e5),
  },
  {
    name: 'hardswish',
    forward: (x) => (x.lte(-3) ? new D(0) : x.gte(3) ? x : x.times(x.plus(3)).div(6)),
    derivative: (x) => (x.lte(-3) ? new D(0) : x.gte(3) ? ONE : x.div(3).plus(0.5)),
    domain: fc.oneof(magnitudes(8), fc.integer({ min: -8, max: 8 })),
  },
  {
    name: 'softplus',
    // threshold: omitted (exact everywhere) or PyTorch's cut at βx > threshold, compared exactly.
    params: fc.record({ beta: scale(false), threshold: fc.double({ min: -50, max: 50, noNaN: true }) }, { requiredKeys: ['beta'] }),
    forward: (x, p) => (p.threshold && p.beta.times(x).gt(p.threshold) ? x : softplus(p.beta.times(x)).div(p.beta)),
    derivative: (x, p) => (p.threshold && p.beta.times(x).gt(p.threshold) ? ONE : sigma(p.beta.times(x))),
    domain: magnitudes(1e5),
  },
];


/** The numeric parameters after the schema's defaults, as exact decimals. */
function decimalParams(params: Record<string, unknown>): Params {
  const p: Params = {};
  for (const [key, value] of Object.entries(params)) if (typeof value === 'number') p[key] = exact(value);
  return p;
}

const paramDraws = (ref: Reference): fc.Arbitrary<Record<string, unknown>> =>
  ref.params instanceof fc.Arbitrary ? ref.params : fc.constant(ref.params ?? {});

const titleOf = (ref: Reference): string =>
  ref.params === undefined ? ref.name : `${ref.name} ${ref.params instanceof fc.Arbitrary ? '(drawn parameters)' : JSON.stringify(ref.params)}`;

/**
 * A learnable parameter's gradient is a sum over the batch: each term in
 * double-double, summed in double-double, rounded once. Held to the rounded
 * sum, or to within half an ULP plus NEAR_TIE of the terms' magnitudes (each
 * term carries the smooth kernels' error, about 2^-60: swish's dβ at
 * β = -3.26, x = -216.6 came out one ULP off, near a tie).
 * Terms below about 2^-966 are rounded one by one (their low parts would be
 * subnormal), so sums below 2^-900 get the fixtures' ULP bound.
 */
function expectSum(computed: number, terms: Dec[], dtype: Dtype, what: string): void {
  const sum = terms.reduce((a, t) => a.plus(t), new D(0));
  const expected = rounded(sum, dtype);
  if (ulpError(computed, expected, dtype) === 0) return;
  const magnitude = terms.reduce((a, t) => a.plus(t.abs()), new D(0));
  const ulps = Math.abs(expected) >= 2 ** -900 ? 0.5 + 2 ** -20 : ULP_BOUND[dtype];
  const allowed = new D(ulpOf(expected, dtype)).times(ulps).plus(magnitude.times(NEAR_TIE));
  if (exact(computed).minus(sum).abs().gt(allowed)) expect.fail(`${what}: ${computed} against ${expected} (sum of ${terms.length} terms)`);
}

describe.each(references.map((ref) => [titleOf(ref), ref] as const))('%s against a 50-digit reference', (_, ref) => {
  const def = getActivation(ref.name)!;

  it.each(dtypes)('forward, %s', (dtype) => {
    fc.assert(
      fc.property(paramDraws(ref), fc.array(ref.domain, { minLength: 1, maxLength: 16 }), (raw, draws) => {
        const params = def.params.parse(raw) as Record<string, unknown>;
        const p = decimalParams(params);
        const x = inputsOf(draws, dtype);
        const expected = Array.from(x, (v) => ref.forward(exact(v), p));
        const { out } = runForward(def, { x: x.slice(), rows: 1, cols: x.length, params, dtype });
        expectWithin(out, expected, x, dtype, `forward with ${JSON.stringify(params)}`, ref.ulps, ref.nearTie);
      }),
      { numRuns: RUNS },
    );
  });

  it.each(dtypes)('backward, %s', (dtype) => {
    fc.assert(
      fc.property(
        paramDraws(ref),
        fc.array(fc.tuple(ref.domain, upstream(dtype)), { minLength: 1, maxLength: 16 }),
        (raw, draws) => {
          const params = def.params.parse(raw) as Record<string, unknown>;
          const p = decimalParams(params);
          const x = inputsOf(draws.map(([v]) => v), dtype);
          const dy = inputsOf(draws.map(([, d]) => d), dtype);
          const expected = Array.from(x, (v, i) => ref.derivative(exact(v), p).times(exact(dy[i])));
          const { dx, gradParams } = runBackward(def, { x: x.slice(), dy: dy.slice(), rows: 1, cols: x.length, params, dtype });
          const what = `backward with ${JSON.stringify(params)} (dy ${Array.from(dy).join(', ')})`;
          expectWithin(dx, expected, x, dtype, what, ref.ulps, ref.nearTie);
          if (ref.paramGradient) {
            const { name, term } = ref.paramGradient;
            const terms = Array.from(x, (v, i) => term(exact(v), p).times(exact(dy[i])));
            expectSum(gradParams?.[name] as number, terms, dtype, `d${name} ${what}, x ${Array.from(x).join(', ')}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  // dy chosen so that dy·f′(x) lands just above the smallest normal double,
  // where the low part of a double-double product is subnormal and must be
  // scaled before it is rounded (uniform dy reaches this band rarely).
  it('backward with tiny products, float64', () => {
    fc.assert(
      fc.property(
        paramDraws(ref),
        fc.array(fc.tuple(ref.domain, fc.integer({ min: -1022, max: -960 }), fc.boolean()), { minLength: 1, maxLength: 16 }),
        (raw, draws) => {
          const params = def.params.parse(raw) as Record<string, unknown>;
          const p = decimalParams(params);
          const x = Float64Array.from(draws, ([v]) => v);
          const slopes = Array.from(x, (v) => ref.derivative(exact(v), p));
          const dy = Float64Array.from(draws, ([, e, negative], i) => {
            const target = TWO.pow(e).times(negative ? -1 : 1);
            const d = Number((slopes[i].isZero() ? target : target.div(slopes[i])).toPrecision(40));
            return Number.isFinite(d) ? d : Math.sign(d) * Number.MAX_VALUE;
          });
          const expected = slopes.map((s, i) => s.times(exact(dy[i])));
          const { dx } = runBackward(def, { x: x.slice(), dy: dy.slice(), rows: 1, cols: x.length, params, dtype: 'float64' });
          expectWithin(dx, expected, x, 'float64', `backward with ${JSON.stringify(params)} (dy ${Array.from(dy).join(', ')})`, ref.ulps, ref.nearTie);
        },
      ),
      { numRuns: RUNS },
    );
  });

  // The scale parameter chosen so that one element's result lands just above the smallest normal double
  // (the draws of the parameter itself reach that band rarely); the other elements go with it.
  const { scaledBy } = ref;
  if (scaledBy) {
    it(`forward with tiny products through ${scaledBy.param}, float64`, () => {
      fc.assert(
        fc.property(
          paramDraws(ref),
          fc.array(ref.domain, { minLength: 1, maxLength: 16 }),
          fc.integer({ min: -1022, max: -1016 }),
          fc.boolean(),
          (raw, draws, e, negative) => {
            const x = Float64Array.from(draws);
            const units = Array.from(x, (v) => scaledBy.unit(exact(v)));
            const lands = units.findIndex((u) => !u.isZero());
            fc.pre(lands >= 0);
            const scaleFor = Number(TWO.pow(e).times(negative ? -1 : 1).div(units[lands]).toPrecision(40));
            fc.pre(Number.isFinite(scaleFor));
            const params = def.params.parse({ ...raw, [scaledBy.param]: scaleFor }) as Record<string, unknown>;
            const p = decimalParams(params);
            const expected = Array.from(x, (v) => ref.forward(exact(v), p));
            const { out } = runForward(def, { x: x.slice(), rows: 1, cols: x.length, params, dtype: 'float64' });
            expectWithin(out, expected, x, 'float64', `forward with ${JSON.stringify(params)}`, ref.ulps, ref.nearTie);
          },
        ),
        { numRuns: RUNS },
      );
    });
  }
});

interface Gate {
  params: Record<string, unknown> | fc.Arbitrary<Record<string, unknown>>;
  act(b: Dec, p: Params): Dec;
  slope(b: Dec, p: Params): Dec;
  domain: fc.Arbitrary<number>;
}

const gates: Gate[] = [
  { params: { activation: 'sigmoid' }, act: sigma, slope: (b) => sigma(b).times(sigma(b.neg())), domain: magnitudes(750) },
  {
    params: fc.record({ activation: fc.constant('swish'), beta: fc.oneof(scale(true), fc.constant(0)) }),
    act: (b, p) => b.times(sigma(p.beta.times(b))),
    slope: (b, p) => {
      const z = p.beta.times(b);
      return sigma(z).plus(z.times(sigma(z)).times(sigma(z.neg())));
    },
    domain: magnitudes(1e5),
  },
  {
    params: { activation: 'gelu' },
    act: (b) => b.times(normalCdf(b)),
    slope: (b) => normalCdf(b).plus(b.times(normalPdf(b))),
    domain: magnitudes(40),
  },
];

// y = a·act(b), da = dy·act(b), db = dy·a·act′(b), each rounded once from the exact value.
describe.each(gates.map((gate) => [gate.params instanceof fc.Arbitrary ? 'swish (drawn β)' : String(gate.params.activation), gate] as const))(
  'glu with the %s gate against a 50-digit reference',
  (_, gate) => {
    const def = getActivation('glu')!;
    const gateDraws = gate.params instanceof fc.Arbitrary ? gate.params : fc.constant(gate.params);
    /** The first half a: every magnitude up to the dtype's largest. */
    const gated = (dtype: Dtype) => fc.oneof(fc.double({ min: -4, max: 4, noNaN: true }), logUniform(-1074, dtype === 'float32' ? 127.9 : 1023.9));

    it.each(dtypes)('forward and backward, %s', (dtype) => {
      fc.assert(
        fc.property(gateDraws, fc.array(fc.tuple(gated(dtype), gate.domain, upstream(dtype)), { minLength: 1, maxLength: 8 }), (raw, draws) => {
          const params = def.params.parse(raw) as Record<string, unknown>;
          const p = decimalParams(params);
          const half = draws.length;
          const a = inputsOf(draws.map(([v]) => v), dtype);
          const b = inputsOf(draws.map(([, v]) => v), dtype);
          const dy = inputsOf(draws.map(([, , d]) => d), dtype);
          const x = Float64Array.from([...a, ...b]);
          const acts = Array.from(b, (v) => gate.act(exact(v), p));
          const slopes = Array.from(b, (v) => gate.slope(exact(v), p));
          const y = acts.map((t, i) => exact(a[i]).times(t));
          const da = acts.map((t, i) => exact(dy[i]).times(t));
          const db = slopes.map((s, i) => exact(dy[i]).times(exact(a[i])).times(s));
          const { out } = runForward(def, { x: x.slice(), rows: 1, cols: 2 * half, params, dtype });
          const { dx } = runBackward(def, { x: x.slice(), dy: dy.slice(), rows: 1, cols: 2 * half, params, dtype });
          const what = `with ${JSON.stringify(params)}, a ${Array.from(a).join(', ')}, dy ${Array.from(dy).join(', ')}`;
          expectWithin(out, y, b, dtype, `forward ${what}`);
          expectWithin(dx.subarray(0, half), da, b, dtype, `da ${what}`);
          expectWithin(dx.subarray(half), db, b, dtype, `db ${what}`);
        }),
        { numRuns: RUNS },
      );
    });

    // a and dy chosen so that a·act(b) and dy·act(b) land just above the smallest normal double (as for the
    // backward with tiny products above; uniform draws reach that band rarely).
    it('forward and backward with tiny products, float64', () => {
      const target = fc.tuple(fc.integer({ min: -1022, max: -1016 }), fc.boolean());
      const toward = (t: Dec, [e, negative]: [number, boolean]) => {
        const v = Number(TWO.pow(e).times(negative ? -1 : 1).div(t).toPrecision(40));
        return Number.isFinite(v) ? v : Math.sign(v) * Number.MAX_VALUE;
      };
      fc.assert(
        fc.property(gateDraws, fc.array(fc.tuple(gate.domain, target, target), { minLength: 1, maxLength: 8 }), (raw, draws) => {
          const params = def.params.parse(raw) as Record<string, unknown>;
          const p = decimalParams(params);
          const half = draws.length;
          const b = Float64Array.from(draws, ([v]) => v);
          const acts = Array.from(b, (v) => gate.act(exact(v), p));
          const a = Float64Array.from(draws, ([, ta], i) => (acts[i].isZero() ? 1 : toward(acts[i], ta)));
          const dy = Float64Array.from(draws, ([, , td], i) => (acts[i].isZero() ? 1 : toward(acts[i], td)));
          const x = Float64Array.from([...a, ...b]);
          const slopes = Array.from(b, (v) => gate.slope(exact(v), p));
          const y = acts.map((t, i) => exact(a[i]).times(t));
          const da = acts.map((t, i) => exact(dy[i]).times(t));
          const db = slopes.map((s, i) => exact(dy[i]).times(exact(a[i])).times(s));
          const { out } = runForward(def, { x: x.slice(), rows: 1, cols: 2 * half, params, dtype: 'float64' });
          const { dx } = runBackward(def, { x: x.slice(), dy: dy.slice(), rows: 1, cols: 2 * half, params, dtype: 'float64' });
          const what = `with ${JSON.stringify(params)}, a ${Array.from(a).join(', ')}, dy ${Array.from(dy).join(', ')}`;
          expectWithin(out, y, b, 'float64', `forward ${what}`);
          expectWithin(dx.subarray(0, half), da, b, 'float64', `da ${what}`);
          expectWithin(dx.subarray(half), db, b, 'float64', `db ${what}`);
        }),
        { numRuns: RUNS },
      );
    });
  },
);
