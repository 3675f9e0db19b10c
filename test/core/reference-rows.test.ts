/**
 * The softmax family's row kernels (softmax, softmin, log_softmax,
 * softmax_cross_entropy) against the 50-digit decimal.js reference, at rows
 * drawn anew on every run: logits of every spread (ties, 1e-300 apart, 1e5
 * apart), upstream gradients of every magnitude up to the largest double. Each
 * formula is written so
 * that the reference does not cancel where the kernels do not (a constant dy
 * gives exactly 0, 1 − p_max is u/S). The kernels form every result as a
 * double-double and round once, sending a row to their exact pass where it
 * cancels by more than 2^16, so a result is good to 2^-58 of itself (the
 * header of src/core/rows/softmax-family.ts): held bit for bit, a one-ULP
 * miss allowed only within 2^-56 of a tie.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward, type Dtype } from '../../src/core/batch.js';
import { D, type Dec, dtypes, exact, exactIn, expectWithin, expm1, inputsOf, log1p, logUniform, ONE, RUNS, TWO, upstream } from '../helpers/reference.js';

const ROW_TIE = new D(2).pow(-56);
/**
 * Sums and differences of dy and their products with e_j exactly: dy from 2^-1074 to 2^1024 needs digits from
 * the 308th place left of the point to the 1074th right of it, e_j = 1 + expm1(d_j) up to 374 more.
 */
const W = Decimal.clone({ precision: 2000, minE: -9e15, maxE: 9e15 });
/** dy exactly (50 digits break cancellations: dy = [2^-1074, -3·2^-1074, -2^-1074] left 4e-374 for 0). */
const exactDy = (v: number): Decimal => exactIn(W, v);
const wide = (v: Dec): Decimal => new W(v);

/** Logits: plain draws near the typical range, every magnitude up to 1e5, and exact repeats (ties). */
const logit = fc.oneof(
  { arbitrary: fc.double({ min: -30, max: 30, noNaN: true }), weight: 3 },
  { arbitrary: logUniform(-1074, Math.log2(1e5)), weight: 2 },
  { arbitrary: fc.constantFrom(0, 1, -1), weight: 1 },
);
const rowOf = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 8 });

/** A row's softmax as the reference needs it: d_i = x_i − max, T = Σ_{j≠max} e^{d_j}, p_i = e^{d_i}/(1 + T). */
interface Softmax {
  /** The logits as sent. */
  x: number[];
  d: Dec[];
  jmax: number;
  T: Dec;
  p: Dec[];
}

function softmaxOf(x: ArrayLike<number>): Softmax {
  const xs = Array.from(x, exact);
  let jmax = 0;
  xs.forEach((v, j) => {
    if (v.gt(xs[jmax])) jmax = j;
  });
  const d = xs.map((v) => v.minus(xs[jmax]));
  const T = d.reduce((s, dj, j) => (j === jmax ? s : s.plus(dj.exp())), new D(0));
  const S = ONE.plus(T);
  return { x: Array.from(x), d, jmax, T, p: d.map((dj, j) => (j === jmax ? ONE.div(S) : dj.exp().div(S))) };
}

/** 500 digits: what separates logits 5e-324 apart next to a logit of 1e5, with 50 digits to spare. */
const W500 = Decimal.clone({ precision: 500, minE: -9e15, maxE: 9e15 });

const TINY_TERM = new W500('1e-520');

/** e^g for |g| ≤ 1e-18 by its series, to 500 digits (decimal.js' own exp at that precision takes 10 ms). */
function expTiny(g: Decimal): Decimal {
  let term = new W500(1);
  let sum = new W500(1);
  for (let n = 1; !term.isZero() && term.abs().gt(TINY_TERM); n++) {
    term = term.times(g).div(n);
    sum = sum.plus(term);
  }
  return sum;
}

/**
 * e_j = e^{d_j} in W, so that what separates close logits survives: logits closer than 1e-20 to one another
 * (sorted, so a cluster may chain) share their first member's exp, as 1 + expm1(d) near the maximum (logits
 * 5e-324 apart next to it) or e^d at 50 digits, times e^{x_j − x_first} to 500 digits (x = [0, −5e-324, 1, 0]
 * with dy = [−2^62, 2^62, 0, 5.7e-306]: d_0 and d_1 were both −1 at 50 digits, and the reference lost the
 * 2^62·5e-324 that decides dx_2's sign). Between clusters the exps differ by at least 1e-20 relative, which the
 * 50-digit exps settle to 1e-25.
 */
function expsOf(sm: Softmax): Decimal[] {
  const xs = sm.x.map((v) => exactIn(W500, v));
  const order = xs.map((_, j) => j).sort((a, b) => xs[a].cmp(xs[b]));
  const e: Decimal[] = new Array(xs.length);
  let first = -1;
  let base = new W(0);
  let prev = -1;
  for (const j of order) {
    if (first < 0 || xs[j].minus(xs[prev]).gt(1e-20)) {
      first = j;
      const d = sm.d[j];
      base = d.gt(-1) ? new W(1).plus(wide(expm1(d))) : wide(d.exp());
    }
    prev = j;
    e[j] = j === first ? base : base.times(new W(expTiny(xs[j].minus(xs[first]))));
  }
  return e;
}

/** Σ_j p_j (dy_i − dy_j) = dy_i − ⟨p, dy⟩, summed in W: exactly 0 for a constant dy, equal logits' terms cancel exactly. */
function centred(sm: Softmax, dy: Dec[], i: number): Dec {
  const e = expsOf(sm);
  const sum = e.reduce((s, ej, j) => s.plus(ej.times(wide(dy[i]).minus(wide(dy[j])))), new W(0));
  return new D(sum).div(ONE.plus(sm.T));
}

/** softmax's backward, p_i·Σ_j p_j (dy_i − dy_j). */
const softmaxGrad = (sm: Softmax, dys: Dec[]): Dec[] => sm.p.map((p, i) => p.times(centred(sm, dys, i)));

/** A drawn row of (logit, dy) pairs as the kernels' inputs, and dy as decimals. */
function rowAndGradient(draws: [number, number][], dtype: Dtype) {
  const x = inputsOf(draws.map(([v]) => v), dtype);
  const dy = inputsOf(draws.map(([, g]) => g), dtype);
  return { x, dy, dys: Array.from(dy, exactDy) };
}

/**
 * log_softmax's backward dy_i − p_i·Σdy, as Σ_j (e_j·dy_i − e_i·dy_j)/S, S = Σ e_j, summed in W: x = [0, 5e-324],
 * dy = [M, M] gives M·5e-324/2, not 0, and a zero Σdy gives exactly dy.
 */
function logSoftmaxGrad(sm: Softmax, dys: Dec[]): Dec[] {
  const e = expsOf(sm);
  return dys.map((gi, i) => {
    const sum = dys.reduce((s, gj, j) => s.plus(e[j].times(wide(gi))).minus(e[i].times(wide(gj))), new W(0));
    return new D(sum).div(ONE.plus(sm.T));
  });
}

/** Drawn softmax_cross_entropy targets: a class index (taken modulo the width) and a probability row (cut to it). */
const targetDraws = fc.tuple(fc.nat(), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 }));
const targetsOf = ([index, weights]: [number, number[]], cols: number): (number | number[])[] => [index % cols, weights.slice(0, cols)];

/** A target as decimals: a class index one-hot. */
const targetRow = (target: number | number[], cols: number): Dec[] =>
  typeof target === 'number' ? Array.from({ length: cols }, (_, j) => (j === target ? ONE : new D(0))) : target.map(exact);

/** p − t, with p_max − t = (1 − t) − T/(1 + T): no cancellation that the kernels do not do. */
const pMinusT = (sm: Softmax, t: Dec[]): Dec[] =>
  sm.p.map((p, i) => (i === sm.jmax ? ONE.minus(t[i]).minus(sm.T.div(ONE.plus(sm.T))) : p.minus(t[i])));

function expectRow(got: ArrayLike<number>, want: Dec[], x: ArrayLike<number>, dtype: Dtype, what: string): void {
  expectWithin(got, want, x, dtype, `${what}, x ${Array.from(x).join(', ')}`, 0, ROW_TIE);
}


/** One row through the registry's kernel: forward without dy, backward with it. */
const runner = (dtype: Dtype) => (name: string, x: Float64Array, dy?: Float64Array, params: Record<string, unknown> = {}) => {
  const def = getActivation(name)!;
  const task = { x: x.slice(), rows: 1, cols: x.length, params, dtype };
  return dy ? runBackward(def, { ...task, dy: dy.slice() }).dx : runForward(def, task).out;
};

describe.each(dtypes)('the softmax family against a 50-digit reference, %s', (dtype) => {
  const run = runner(dtype);

  it('softmax and softmin, forward', () => {
    fc.assert(
      fc.property(rowOf(logit), (draws) => {
        const x = inputsOf(draws, dtype);
        expectRow(run('softmax', x), softmaxOf(x).p, x, dtype, 'softmax');
        expectRow(run('softmin', x), softmaxOf(x.map((v) => -v)).p, x, dtype, 'softmin');
      }),
      { numRuns: RUNS },
    );
  });

  it('softmax and softmin, backward: ±p_i·Σ_j p_j (dy_i − dy_j)', () => {
    fc.assert(
      fc.property(rowOf(fc.tuple(logit, upstream(dtype))), (draws) => {
        const { x, dy, dys } = rowAndGradient(draws, dtype);
        const what = `dy ${Array.from(dy).join(', ')}`;
        expectRow(run('softmax', x, dy), softmaxGrad(softmaxOf(x), dys), x, dtype, `softmax backward, ${what}`);
        const softmin = softmaxGrad(softmaxOf(x.map((v) => -v)), dys).map((v) => v.neg());
        expectRow(run('softmin', x, dy), softmin, x, dtype, `softmin backward, ${what}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('log_softmax, forward d_i − log1p(T) and backward dy_i − p_i·Σdy', () => {
    fc.assert(
      fc.property(rowOf(fc.tuple(logit, upstream(dtype))), (draws) => {
        const { x, dy, dys } = rowAndGradient(draws, dtype);
        const sm = softmaxOf(x);
        const lse = log1p(sm.T);
        expectRow(run('log_softmax', x), sm.d.map((d) => d.minus(lse)), x, dtype, 'log_softmax');
        expectRow(run('log_softmax', x, dy), logSoftmaxGrad(sm, dys), x, dtype, `log_softmax backward, dy ${Array.from(dy).join(', ')}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('softmax_cross_entropy with a class index and with a probability row, forward and backward', () => {
    fc.assert(
      fc.property(
        rowOf(logit),
        targetDraws,
        upstream(dtype),
        (draws, targets, dloss) => {
          const x = inputsOf(draws, dtype);
          const cols = x.length;
          const sm = softmaxOf(x);
          const lse = log1p(sm.T);
          const g = dtype === 'float32' ? Math.fround(dloss) : dloss;
          for (const target of targetsOf(targets, cols)) {
            const t = targetRow(target, cols);
            const params = { targets: [target] };
            const what = `softmax_cross_entropy with target ${JSON.stringify(target)}`;
            // −Σ t_i·(d_i − log1p(T)): every term ≥ 0.
            const loss = t.reduce((s, ti, i) => s.plus(ti.times(lse.minus(sm.d[i]))), new D(0));
            expectRow(run('softmax_cross_entropy', x, undefined, params), [loss], x, dtype, what);
            // (p_i − t_i)·dloss.
            const want = pMinusT(sm, t).map((w) => w.times(exact(g)));
            expectRow(run('softmax_cross_entropy', x, Float64Array.of(g), params), want, x, dtype, `${what}, dloss ${g}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

/**
 * Upstream gradients scaled so that one drawn result lands just above the
 * smallest normal double, where a double-double product's low part is
 * subnormal and must be scaled before it is rounded: uniform draws reach
 * that band about once in 6000 (softmax_cross_entropy's (p − t)·dloss was
 * one ULP off at 2.6e-308). Float64: float32's normal range ends far above it.
 */
describe('the softmax family with results next to the smallest normal double, float64', () => {
  const dtype = 'float64';
  const run = runner(dtype);
  /**
   * The binade [2^e, 2^(e+1)) the row's smallest nonzero result is brought to (the smallest: there the factors are
   * furthest from 1): mostly the lowest few, where a low part lost below 2^-1074 is a good part of the result's ULP.
   */
  const landing = fc.oneof(
    { arbitrary: fc.integer({ min: -1022, max: -1018 }), weight: 3 },
    { arbitrary: fc.integer({ min: -1017, max: -960 }), weight: 1 },
  );
  /** The nonzero value of least magnitude, or undefined. */
  const smallest = (vs: Dec[]): Dec | undefined =>
    vs.reduce<Dec | undefined>((m, v) => (v.isZero() || (m !== undefined && v.abs().gte(m.abs())) ? m : v), undefined);

  /** dy·2^k, exact while it stays normal; undefined where a factor of 2^k under- or overflows to nothing useful. */
  function scaledBy(dy: Float64Array, k: number): Float64Array | undefined {
    const half = Math.trunc(k / 2);
    const out = Float64Array.from(dy, (v) => v * 2 ** half * 2 ** (k - half));
    return out.every(Number.isFinite) ? out : undefined;
  }
  /** The power of two that brings |v| into [2^e, 2^(e+1)). */
  const shiftTo = (v: Dec, e: number): number => e - v.abs().log(2).floor().toNumber();

  /** Rescales dy so that backward's smallest nonzero result lands at 2^e, then holds the whole row to the reference. */
  function expectLanding(name: string, x: Float64Array, dy: Float64Array, grad: (dys: Dec[]) => Dec[], e: number) {
    const first = smallest(grad(Array.from(dy, exactDy)));
    if (first === undefined) return;
    const dy2 = scaledBy(dy, shiftTo(first, e));
    if (!dy2) return;
    expectRow(run(name, x, dy2), grad(Array.from(dy2, exactDy)), x, dtype, `${name} backward, dy ${Array.from(dy2).join(', ')}`);
  }

  it('softmax, softmin and log_softmax backward', () => {
    fc.assert(
      fc.property(rowOf(fc.tuple(logit, upstream(dtype))), landing, landing, landing, (draws, a, b, c) => {
        const { x, dy } = rowAndGradient(draws, dtype);
        const sm = softmaxOf(x);
        const smin = softmaxOf(x.map((v) => -v));
        expectLanding('softmax', x, dy, (dys) => softmaxGrad(sm, dys), a);
        expectLanding('softmin', x, dy, (dys) => softmaxGrad(smin, dys).map((v) => v.neg()), b);
        expectLanding('log_softmax', x, dy, (dys) => logSoftmaxGrad(sm, dys), c);
      }),
      // A row whose exact dx_max is 0, which a reference of dy to 50 digits put at 4e-374 (scaled: -1.1e-307); and
      // logits 5e-324 apart beside a maximum of 1, which a reference of x − max to 50 digits merged (expsOf).
      {
        numRuns: RUNS,
        examples: [
          [[[0, 5e-324], [0, -1.5e-323], [5e-324, -5e-324]], -1018, -1018, -960],
          [[[0, -3.999999999999999], [-5e-324, 3.999999999999999], [1, 0], [0, 5e-324]], -1018, -1018, -1018],
          [[[0, -2], [-5e-324, 2], [1e-290, 0], [0, 0]], -1018, -1018, -1018],
        ],
      },
    );
  });

  it('softmax_cross_entropy backward, dloss = 2^e/(p_k − t_k) for the smallest nonzero p_k − t_k', () => {
    fc.assert(
      fc.property(
        rowOf(logit),
        targetDraws,
        landing,
        fc.boolean(),
        (draws, targets, e, negative) => {
          const x = inputsOf(draws, dtype);
          const cols = x.length;
          const sm = softmaxOf(x);
          for (const target of targetsOf(targets, cols)) {
            const w = pMinusT(sm, targetRow(target, cols));
            const wk = smallest(w);
            if (wk === undefined) continue;
            const dloss = Number(TWO.pow(e).times(negative ? -1 : 1).div(wk).toPrecision(40));
            if (!Number.isFinite(dloss)) continue;
            const want = w.map((v) => v.times(exact(dloss)));
            const got = run('softmax_cross_entropy', x, Float64Array.of(dloss), { targets: [target] });
            expectRow(got, want, x, dtype, `softmax_cross_entropy with target ${JSON.stringify(target)}, dloss ${dloss}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
