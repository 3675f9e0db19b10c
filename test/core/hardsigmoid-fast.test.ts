/**
 * The hardsigmoid forward sorts its inputs in two passes and inlines the
 * double-double steps, with shortcuts argued in its comments (hardsigmoid.ts).
 * It must give, bit for bit, what the per-element definition gives: outside
 * the window (the rough α·x + β clearly outside [0, 1]) the rough value, inside
 * it N/q = (n·x + q·β)/q rounded once (formed exactly here, with ExactSum,
 * which reference-exact.test.ts holds to decimal arithmetic), both clamped by
 * Math.max/Math.min. The backward settles most elements from the rough value
 * in a first pass too, and must give dy·n/q where 0 < N/q < 1 exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hardsigmoid } from '../../src/core/activations/hardsigmoid.js';
import { ExactSum } from '../../src/core/numeric/exact-sum.js';

type Params = { alpha: number; beta: number };

/** N = n·x + q·β exactly, or null outside the window, with the rough α·x + β. */
function perElement(x: number, { alpha, beta }: Params) {
  const sixth = alpha === 1 / 6;
  const n = sixth ? 1 : alpha;
  const q = sixth ? 6 : 1;
  const ax = alpha * x;
  const rough = ax + beta;
  const slack = (Math.abs(ax) + Math.abs(beta)) * 2 ** -50;
  const inWindow = rough - slack <= 1 && rough + slack >= 0;
  return { n, q, rough, numerator: inWindow ? new ExactSum().addProduct(n, x).addProduct(q, beta) : null };
}

function oracle(x: number, params: Params): number {
  const { q, rough, numerator } = perElement(x, params);
  return Math.max(0, Math.min(1, numerator ? numerator.round(q) : rough));
}

const ZERO = new ExactSum();

/** The backward's per-element definition: dy·n/q where 0 < N/q < 1 exactly. */
function backwardOracle(x: number, g: number, params: Params): number {
  const { n, q, numerator } = perElement(x, params);
  const inside = numerator !== null && numerator.compare(ZERO) > 0 && numerator.compare(new ExactSum().add(q)) < 0;
  return inside ? (g * n) / q : x === x ? 0 : NaN;
}

function backward(xs: ArrayLike<number>, gs: ArrayLike<number>, params: Params): Float64Array {
  const dx = new Float64Array(xs.length);
  hardsigmoid.backward({ x: Float64Array.from(xs), dy: Float64Array.from(gs), dx, rows: 1, cols: xs.length, params });
  return dx;
}

function expectBackwardOracle(xs: ArrayLike<number>, gs: ArrayLike<number>, params: Params, dx: Float64Array): void {
  for (let i = 0; i < xs.length; i++) {
    const want = backwardOracle(xs[i], gs[i], params);
    expect(Object.is(dx[i], want), `backward α=${params.alpha} β=${params.beta} x=${xs[i]} dy=${gs[i]}: ${dx[i]}, want ${want}`).toBe(true);
  }
}

function forward(xs: ArrayLike<number>, params: Params, inPlace = false): Float64Array {
  const x = Float64Array.from(xs);
  const out = inPlace ? x : new Float64Array(x.length);
  hardsigmoid.forward({ x, out, rows: 1, cols: x.length, params });
  return out;
}

function expectOracle(xs: ArrayLike<number>, params: Params, out: Float64Array): void {
  for (let i = 0; i < xs.length; i++) {
    const want = oracle(xs[i], params);
    expect(Object.is(out[i], want), `α=${params.alpha} β=${params.beta} x=${xs[i]}: ${out[i]}, want ${want}`).toBe(true);
  }
}

const finite = (min?: number, max?: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

// The defaults, the ONNX form, α = 1/6 with other β (6β inexact, tiny, huge), and any finite pair.
const paramsArb: fc.Arbitrary<Params> = fc.oneof(
  fc.constant({ alpha: 1 / 6, beta: 0.5 }),
  fc.constant({ alpha: 0.2, beta: 0.5 }),
  fc.record({ alpha: fc.constant(1 / 6), beta: fc.oneof(finite(-4, 4), finite(), fc.constantFrom(0, 0.1, -0.3, 2 ** -898, 3 * 2 ** -899, 2 ** -1000, 2 ** 992)) }),
  fc.record({ alpha: fc.oneof(finite(-2, 2), finite(), fc.constantFrom(0, -0, 2 ** -995, 2 ** -1000, 1e300)), beta: fc.oneof(finite(-2, 2), finite()) }),
);

/** Inputs near where α·x + β crosses 0 and 1 (a few ULPs or a relative 2^-k away), anywhere in [-8, 8], and any double. */
const inputsFor = ({ alpha, beta }: Params) => {
  const kinks = [-beta / alpha, (1 - beta) / alpha, 3, -3].filter(Number.isFinite);
  const nearKink = fc.tuple(fc.constantFrom(...kinks), fc.integer({ min: -40, max: 40 }), fc.integer({ min: 20, max: 60 })).map(([c, k, e]) => c * (1 + k * 2 ** -e));
  return fc.array(fc.oneof(nearKink, finite(-8, 8), fc.double()), { minLength: 1, maxLength: 23 });
};

describe('hardsigmoid forward matches the per-element definition bit for bit', () => {
  it('random parameters and inputs near the kinks, in [-8, 8], and anywhere (±0, NaN, ±∞, subnormals, extremes)', () => {
    fc.assert(
      fc.property(
        paramsArb.chain((params) => fc.tuple(fc.constant(params), inputsFor(params))),
        ([params, xs]) => expectOracle(xs, params, forward(xs, params)),
      ),
      { numRuns: 2000 },
    );
  });

  it('special values in every lane of the unrolled loop and in its tail', () => {
    const specials = [NaN, 0, -0, Infinity, -Infinity, 5e-324, -5e-324, 1e308, -1e308, 2 ** 995, -(2 ** 995), -3, 3, -2.9999999999999996];
    for (const params of [{ alpha: 1 / 6, beta: 0.5 }, { alpha: 0.2, beta: 0.5 }, { alpha: 1 / 6, beta: 0.1 }, { alpha: 2 ** -1000, beta: 0.5 }, { alpha: 0, beta: 0.5 }]) {
      for (const special of specials) {
        for (let at = 0; at < 9; at++) {
          const xs = [-4, -1, 0.5, 2, 5, -2.5, 1, 4, -0.1].map((v, i) => (i === at ? special : v));
          expectOracle(xs, params, forward(xs, params));
        }
      }
    }
  });

  it('across blocks, and in place (out aliasing x)', () => {
    let seed = 1;
    const next = () => ((seed = (Math.imul(seed, 48271) >>> 0) % 2147483647), seed / 2147483647);
    // 2500 elements: two full blocks and a tail; a quarter near x = −3 and 3 (the defaults' kinks).
    const xs = Array.from({ length: 2500 }, (_, i) => (i % 4 === 0 ? (next() < 0.5 ? -3 : 3) * (1 + (next() - 0.5) * 2 ** -40) : next() * 16 - 8));
    for (const params of [{ alpha: 1 / 6, beta: 0.5 }, { alpha: 0.2, beta: 0.5 }, { alpha: 1 / 6, beta: 0.1 }]) {
      expectOracle(xs, params, forward(xs, params));
      expectOracle(xs, params, forward(xs, params, true));
    }
  });
});

describe('hardsigmoid backward matches the per-element definition bit for bit', () => {
  it('random parameters, inputs near the kinks, in [-8, 8] and anywhere, and any dy (±0, NaN, ±∞)', () => {
    fc.assert(
      fc.property(
        paramsArb.chain((params) => fc.tuple(fc.constant(params), inputsFor(params)).chain(([p, xs]) => fc.tuple(fc.constant(p), fc.constant(xs), fc.array(fc.double(), { minLength: xs.length, maxLength: xs.length })))),
        ([params, xs, gs]) => expectBackwardOracle(xs, gs, params, backward(xs, gs, params)),
      ),
      { numRuns: 2000 },
    );
  });

  it('across blocks, with a quarter of the inputs within 2^-40 of the kinks', () => {
    let seed = 7;
    const next = () => ((seed = (Math.imul(seed, 48271) >>> 0) % 2147483647), seed / 2147483647);
    const xs = Array.from({ length: 2500 }, (_, i) => (i % 4 === 0 ? (next() < 0.5 ? -3 : 3) * (1 + (next() - 0.5) * 2 ** -40) : next() * 16 - 8));
    const gs = xs.map(() => next() * 2 - 1);
    for (const params of [{ alpha: 1 / 6, beta: 0.5 }, { alpha: 0.2, beta: 0.5 }, { alpha: 1 / 6, beta: 0.1 }, { alpha: 0, beta: 0.5 }, { alpha: 1e300, beta: 0.5 }]) {
      expectBackwardOracle(xs, gs, params, backward(xs, gs, params));
    }
  });
});
