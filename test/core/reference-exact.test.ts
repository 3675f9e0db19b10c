/**
 * The kernels whose results are sums of products of the inputs and the
 * parameters (maxout with weights, rrelu in eval mode, and the exact sums
 * behind them) against the exact result, at inputs drawn anew on every run:
 * every double is a finite decimal, so a 3200-digit decimal.js sum of products
 * of doubles is exact (they span 2^-2148 to 2^2047, about 2800 digits). A
 * result must be the double nearest the exact value, ties to even: it is
 * compared with the midpoints to its neighbours, not with a rounding of ours.
 * float32 results must be the float64 result rounded to float32 once more
 * (ACTIVATIONS.md: computed in float64, rounded to float32 once).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward, type Dtype } from '../../src/core/batch.js';
import { ExactSum, signOfSum } from '../../src/core/numeric/exact-sum.js';
import { dtypes, exactIn, inputsOf, logUniform, magnitudes, RUNS, upstream } from '../helpers/reference.js';

const X = Decimal.clone({ precision: 3200, rounding: Decimal.ROUND_HALF_EVEN, minE: -9e15, maxE: 9e15 });
type Exact = Decimal;

const bits = new Float64Array(1);
const word = new BigUint64Array(bits.buffer);

/** The exact value of a finite double. */
const exactOf = (v: number): Exact => exactIn(X, v);

/** The next double up from a finite a ≥ 0, and down from a > 0. */
function step(a: number, by: bigint): number {
  bits[0] = a;
  word[0] += by;
  return bits[0];
}

const MAX = Number.MAX_VALUE;
/** Halfway from the largest double to 2^1024: from here on (ties included, the largest double being odd) IEEE rounds to Infinity. */
const TO_INFINITY = exactOf(MAX).plus(new X(2).pow(970));

/**
 * Whether y is the double nearest v/den, ties to even (either zero for an
 * exact 0). den = 3 keeps rrelu's 11/48 exact: its products can be exact
 * ties (x = 3·2^k), which no decimal of 1/3 would show.
 */
function isNearest(y: number, v: Exact, den = 1): boolean {
  if (Number.isNaN(y)) return false;
  if (v.isZero()) return y === 0;
  if (y !== 0 && y < 0 !== v.isNeg()) return false;
  const a = Math.abs(y);
  const A = v.abs();
  if (a === Infinity) return A.gte(TO_INFINITY.times(den));
  bits[0] = a;
  const even = (word[0] & 1n) === 0n;
  const here = exactOf(a);
  const above = (a === MAX ? TO_INFINITY : here.plus(exactOf(step(a, 1n))).div(2)).times(den);
  if (A.gt(above) || (A.eq(above) && !even)) return false;
  if (a === 0) return true;
  const below = here.plus(exactOf(step(a, -1n))).div(2).times(den);
  return A.gt(below) || (A.eq(below) && even);
}

/** The double nearest v/den: V8's correctly rounded parse of its decimal, or a neighbour at a tie the decimal of v/3 misses. */
function nearest(v: Exact, den = 1): number {
  const y = Number(v.div(den).toString());
  for (const candidate of [y, ...(Number.isFinite(y) && y !== 0 ? [Math.sign(y) * step(Math.abs(y), 1n), Math.sign(y) * step(Math.abs(y), -1n)] : [])]) {
    if (isNearest(candidate, v, den)) return candidate;
  }
  throw new Error(`no double found nearest ${v.div(den).toSignificantDigits(30).toString()}`);
}

/** A kernel's result against the exact value v/den: the nearest double, then rounded to float32 for float32. */
function expectRoundedOnce(y: number, v: Exact, dtype: Dtype, what: string, den = 1): void {
  const want = dtype === 'float32' ? Math.fround(nearest(v, den)) : nearest(v, den);
  if (y === want || (Number.isNaN(y) && Number.isNaN(want))) return;
  expect.fail(`${what}: ${y} against ${want} (exact ${v.div(den).toSignificantDigits(25).toString()})`);
}

/** The largest magnitude drawn for a dtype's inputs (finite in it; Math.log2 of the largest double rounds to 1024). */
const largest = (dtype: Dtype): number => (dtype === 'float32' ? 2 ** 127.99 : 2 ** 1023.999);

/** Doubles of every magnitude up to the dtype's largest, plain ones, and exact small values. */
const valueOf = (dtype: Dtype) =>
  fc.oneof(
    { arbitrary: fc.double({ min: -4, max: 4, noNaN: true }), weight: 3 },
    { arbitrary: magnitudes(largest(dtype)), weight: 2 },
    { arbitrary: fc.constantFrom(0, -0, 1, -1, 0.5, 5e-324, dtype === 'float32' ? 3.4028234663852886e38 : MAX), weight: 1 },
  );
const value = valueOf('float64');

describe('ExactSum: sums of doubles and products, rounded once', () => {
  const term = fc.oneof(fc.tuple(value, value), fc.tuple(value, fc.constant(1)));

  it('is the double nearest the exact sum (terms of every magnitude, and sums that cancel to a tie)', () => {
    fc.assert(
      fc.property(fc.array(term, { minLength: 1, maxLength: 6 }), fc.boolean(), (terms, cancel) => {
        if (cancel) {
          // The float sum's own rounding error is left: a residual 2^-50 or so of the terms, often a tie.
          const plain = terms.reduce((s, [a, b]) => s + a * b, 0);
          if (Number.isFinite(plain)) terms.push([-plain, 1]);
        }
        const sum = new ExactSum();
        let reference = new X(0);
        for (const [a, b] of terms) {
          if (b === 1) sum.add(a);
          else sum.addProduct(a, b);
          reference = reference.plus(exactOf(a).times(exactOf(b)));
        }
        expectRoundedOnce(sum.round(), reference, 'float64', `sum of ${JSON.stringify(terms)}`);
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('signOfSum: the sign of the exact sum of a few doubles (sums that cancel to 0 and to a few ULP included)', () => {
    const finite = fc.oneof(fc.double({ min: -4, max: 4, noNaN: true }), logUniform(-1074, 1000));
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 12 }), fc.constantFrom('none', 'cancel', 'nudge'), (terms, how) => {
        // cancel: append the terms negated (exactly 0); nudge: the same, plus one term's ULP-sized remainder.
        if (how !== 'none') terms.push(...terms.map((t) => -t));
        if (how === 'nudge') terms.push(terms[0] * 2 ** -60);
        const reference = terms.reduce((sum, t) => sum.plus(exactOf(t)), new X(0));
        expect(signOfSum(terms, terms.length)).toBe(reference.isZero() ? 0 : reference.isNeg() ? -1 : 1);
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('with a term that is not finite: the IEEE sum of the terms in their order', () => {
    const special = fc.constantFrom(Infinity, -Infinity, NaN);
    fc.assert(
      fc.property(fc.array(fc.tuple(value, value), { maxLength: 4 }), fc.tuple(special, value), fc.array(fc.tuple(value, value), { maxLength: 4 }), (before, odd, after) => {
        const terms = [...before, odd, ...after];
        const sum = new ExactSum();
        for (const [a, b] of terms) sum.addProduct(a, b);
        expect(sum.finite).toBe(false);
        expect(sum.round()).toBe(terms.reduce((s, [a, b]) => s + a * b, 0));
      }),
      { numRuns: RUNS },
    );
  });

  it('rounds ties to even, into the subnormals and to Infinity', () => {
    const sums: [number, number, number][] = [
      [1, 2 ** -53, 1], // 1 + half an ULP: a tie, 1 is even
      [1 + 2 ** -52, 2 ** -53, 1 + 2 ** -51], // a tie, up to the even neighbour
      [1, -(2 ** -54), 1], // 1 - a quarter ULP above 1 = half an ULP below: a tie, 1 is even
      [2 ** 53, 1, 2 ** 53],
      [2 ** 53, 3, 2 ** 53 + 4],
    ];
    for (const [a, b, want] of sums) expect(new ExactSum().add(a).add(b).round(), `${a} + ${b}`).toBe(want);
    const products: [number, number, number][] = [
      [2 ** -1074, 0.5, 0], // half the smallest subnormal: a tie, to 0
      [3 * 2 ** -1074, 0.5, 2 * 2 ** -1074], // 1.5 units: a tie, to 2
      [2 ** -600, 2 ** -500, 0],
      [MAX, 1, MAX],
    ];
    for (const [a, b, want] of products) expect(new ExactSum().addProduct(a, b).round(), `${a}·${b}`).toBe(want);
    expect(new ExactSum().add(MAX).addProduct(2 ** 970, 1).round()).toBe(Infinity);
    expect(new ExactSum().add(MAX).addProduct(2 ** 970, 1).add(-(2 ** -1074)).round()).toBe(MAX);
    expect(new ExactSum().add(-MAX).add(-MAX).add(MAX).round()).toBe(-MAX);
  });
});

const maxout = getActivation('maxout')!;

interface MaxoutCase {
  x: number[][];
  dy: number[][];
  weight: number[][][];
  bias?: number[][];
}

/**
 * Batches and pieces of every magnitude, some built to be hard: `cancel` sets
 * each bias to minus the float dot product of the first row, so z is that
 * sum's rounding error (a near-tie more often than not); `tie` makes piece 1 a
 * copy of piece 0 (`copy`), or one with a bias one ULP apart (`bump`), or one
 * that differs only in a column the first row has 0 in (`zeroed`).
 */
const maxoutCase = (dtype: Dtype): fc.Arbitrary<MaxoutCase> =>
  fc
    .record({
      rows: fc.integer({ min: 1, max: 3 }),
      cols: fc.integer({ min: 1, max: 4 }),
      pieces: fc.integer({ min: 1, max: 3 }),
      units: fc.integer({ min: 1, max: 3 }),
      withBias: fc.boolean(),
      cancel: fc.boolean(),
      tie: fc.constantFrom('none', 'copy', 'bump', 'zeroed'),
    })
    .chain((d) =>
      fc
        .record({
          x: fc.array(fc.array(valueOf(dtype), { minLength: d.cols, maxLength: d.cols }), { minLength: d.rows, maxLength: d.rows }),
          dy: fc.array(fc.array(upstream(dtype), { minLength: d.units, maxLength: d.units }), { minLength: d.rows, maxLength: d.rows }),
          weight: fc.array(fc.array(fc.array(value, { minLength: d.units, maxLength: d.units }), { minLength: d.cols, maxLength: d.cols }), {
            minLength: d.pieces,
            maxLength: d.pieces,
          }),
          bias: fc.array(fc.array(value, { minLength: d.units, maxLength: d.units }), { minLength: d.pieces, maxLength: d.pieces }),
        })
        .map(({ x, dy, weight, bias }) => {
          x = x.map((row) => Array.from(inputsOf(row, dtype)));
          dy = dy.map((row) => Array.from(inputsOf(row, dtype)));
          if (d.tie !== 'none' && d.pieces >= 2) {
            weight[1] = weight[0].map((row) => [...row]);
            bias[1] = [...bias[0]];
            // One ULP away from piece 0's bias (down from the largest double).
            if (d.tie === 'bump') bias[1] = bias[1].map((b) => (b === 0 ? 5e-324 : Math.sign(b) * step(Math.abs(b), Math.abs(b) === MAX ? -1n : 1n)));
            if (d.tie === 'zeroed') {
              x[0][0] = 0;
              weight[1][0] = weight[1][0].map((w) => w + 1);
            }
          }
          if (d.cancel) {
            for (let i = 0; i < d.pieces; i++) {
              for (let j = 0; j < d.units; j++) {
                const plain = x[0].reduce((s, xc, c) => s + xc * weight[i][c][j], 0);
                if (Number.isFinite(plain)) bias[i][j] = -plain;
              }
            }
          }
          return { x, dy, weight, bias: d.withBias || d.cancel ? bias : undefined };
        }),
    );

/** z_ij of row r exactly, and the winners (lowest index of the exact maximum). */
function maxoutReference({ x, weight, bias }: MaxoutCase) {
  const units = weight[0][0].length;
  const z = x.map((row) =>
    Array.from({ length: units }, (_, j) =>
      weight.map((piece, i) => row.reduce((s, xc, c) => s.plus(exactOf(xc).times(exactOf(piece[c][j]))), bias ? exactOf(bias[i][j]) : new X(0))),
    ),
  );
  const win = z.map((unitsOfRow) => unitsOfRow.map((pieces) => pieces.reduce((best, zi, i) => (zi.gt(pieces[best]) ? i : best), 0)));
  return { z, win };
}

describe.each(dtypes)('maxout with weights against the exact result, %s', (dtype) => {
  it('forward: the exact maximum piece, rounded once', () => {
    fc.assert(
      fc.property(maxoutCase(dtype), (c) => {
        const params = maxout.params.parse({ pieces: c.weight.length, weight: c.weight, bias: c.bias });
        const { out } = runForward(maxout, { x: Float64Array.from(c.x.flat()), rows: c.x.length, cols: c.x[0].length, params, dtype });
        const { z, win } = maxoutReference(c);
        const units = c.weight[0][0].length;
        z.forEach((row, r) => row.forEach((pieces, j) => expectRoundedOnce(out[r * units + j], pieces[win[r][j]], dtype, `out[${r}][${j}] of ${JSON.stringify(c)}`)));
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('backward: dx, dW and db through the exact winners, each rounded once', () => {
    fc.assert(
      fc.property(maxoutCase(dtype), (c) => {
        const params = maxout.params.parse({ pieces: c.weight.length, weight: c.weight, bias: c.bias });
        const rows = c.x.length;
        const cols = c.x[0].length;
        const { dx, gradParams } = runBackward(maxout, { x: Float64Array.from(c.x.flat()), dy: Float64Array.from(c.dy.flat()), rows, cols, params, dtype });
        const grads = gradParams as { weight: number[][][]; bias?: number[][] };
        const { win } = maxoutReference(c);
        const what = JSON.stringify(c);
        const units = c.weight[0][0].length;
        for (let r = 0; r < rows; r++) {
          for (let col = 0; col < cols; col++) {
            const v = c.dy[r].reduce((s, g, j) => s.plus(exactOf(g).times(exactOf(c.weight[win[r][j]][col][j]))), new X(0));
            expectRoundedOnce(dx[r * cols + col], v, dtype, `dx[${r}][${col}] of ${what}`);
          }
        }
        for (let i = 0; i < c.weight.length; i++) {
          for (let j = 0; j < units; j++) {
            const mine = c.x.map((_, r) => r).filter((r) => win[r][j] === i);
            for (let col = 0; col < cols; col++) {
              const v = mine.reduce((s, r) => s.plus(exactOf(c.dy[r][j]).times(exactOf(c.x[r][col]))), new X(0));
              expectRoundedOnce(grads.weight[i][col][j], v, dtype, `dW[${i}][${col}][${j}] of ${what}`);
            }
            if (c.bias) expectRoundedOnce(grads.bias![i][j], mine.reduce((s, r) => s.plus(exactOf(c.dy[r][j])), new X(0)), dtype, `db[${i}][${j}] of ${what}`);
          }
        }
        expect(grads.bias === undefined).toBe(c.bias === undefined);
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

const rrelu = getActivation('rrelu')!;

/** 3× a bound as the kernel reads it: the float64 nearest 1/3 is 1/3 (ACTIVATIONS.md), any other value itself. */
const thrice = (v: number): Exact => (v === 1 / 3 ? new X(1) : exactOf(v).times(3));

/** Bounds 0 ≤ lower ≤ upper: the defaults, the default fractions written out, and drawn ones of every magnitude (subnormal ones too). */
const bounds = fc.oneof(
  fc.constant({}),
  fc.constant({ lower: 0.125, upper: 0.3333333333333333 }),
  fc.constantFrom(0, 0.25, 0.5, 1 / 3).map((other) => ({ lower: Math.min(other, 1 / 3), upper: Math.max(other, 1 / 3) })),
  fc
    .tuple(
      fc.oneof(logUniform(-1074, 3, false), fc.double({ min: 0, max: 2, noNaN: true }), fc.constantFrom(0, 5e-324, 1 / 3, 3 * 5e-324)),
      fc.oneof(logUniform(-1074, 3, false), fc.double({ min: 0, max: 2, noNaN: true }), fc.constantFrom(1, 1 / 3, 1 - 2 ** -53)),
    )
    .map(([a, b]) => ({ lower: Math.min(a, b), upper: Math.max(a, b) })),
);

/** −3m·2^e, products with 1/3 that are often exact ties, here next to and below the smallest normal. */
const thirdsTies = fc.tuple(fc.integer({ min: 2 ** 20, max: 2 ** 51 }), fc.integer({ min: -1085, max: -1000 })).map(([m, e]) => -3 * m * 2 ** e);

describe.each(dtypes)('rrelu (eval) against the exact result, %s', (dtype) => {
  it('forward x·(lower + upper)/2 and backward dy·(lower + upper)/2 for x ≤ 0, rounded once', () => {
    const x = fc.oneof(magnitudes(largest(dtype)), thirdsTies);
    fc.assert(
      fc.property(bounds, fc.array(fc.tuple(x, fc.oneof(upstream(dtype), thirdsTies)), { minLength: 1, maxLength: 8 }), (p, draws) => {
        const params = rrelu.params.parse(p) as { lower: number; upper: number };
        const slope3 = thrice(params.lower).plus(thrice(params.upper)).div(2); // 3× the slope, exactly
        const x = inputsOf(draws.map(([v]) => v), dtype);
        const dy = inputsOf(draws.map(([, g]) => g), dtype);
        const n = x.length;
        const { out } = runForward(rrelu, { x: Float64Array.from(x), rows: 1, cols: n, params, dtype });
        const { dx } = runBackward(rrelu, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols: n, params, dtype });
        for (let i = 0; i < n; i++) {
          const what = `at x = ${x[i]}, dy = ${dy[i]}, ${JSON.stringify(p)}`;
          expectRoundedOnce(out[i], x[i] > 0 ? exactOf(x[i]).times(3) : exactOf(x[i]).times(slope3), dtype, `forward ${what}`, 3);
          expectRoundedOnce(dx[i], x[i] > 0 ? exactOf(dy[i]).times(3) : exactOf(dy[i]).times(slope3), dtype, `backward ${what}`, 3);
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });
});

/**
 * f(x) = x·(1/2 + c·x + …) near 0 (x·σ(z), x·Φ(x), x(x + 3)/6): for a
 * subnormal x the correction c·x² is far below the grid and only breaks the
 * ties of x/2 (x an odd multiple of 2^-1074), yet it must break them (gelu of
 * 5e-324 is 5e-324; x/2 rounded to even gives 0). The backward at tiny x is
 * dy·(1/2 + 2c·x + …), whose correction breaks the ties of dy/2.
 */
/** 1/√(2π), to more digits than the test needs (c only breaks ties). */
const INV_SQRT_2PI = new X('0.39894228040143267793994605993438186847585863116493');
const nearHalf: { name: string; params: object; c: Exact }[] = [
  { name: 'gelu', params: {}, c: INV_SQRT_2PI }, // x·Φ(x): Φ(x) = 1/2 + x/√(2π) + …
  { name: 'gelu', params: { approximate: 'tanh' }, c: INV_SQRT_2PI }, // (x/2)(1 + tanh(√(2/π)x + …))
  { name: 'gelu', params: { approximate: 'sigmoid' }, c: new X('1.702').div(4) },
  { name: 'silu', params: {}, c: new X(1).div(4) },
  { name: 'hardswish', params: {}, c: new X(1).div(6) },
];

describe('near 0: x·(1/2 + c·x) breaks the ties of x/2 on the side of c', () => {
  const subnormal = fc.oneof(
    fc.integer({ min: -(2 ** 30), max: 2 ** 30 }).map((k) => (2 * k + 1) * 5e-324), // odd multiples: every one a tie of x/2
    logUniform(-1074, -900),
  );
  const swishBeta = fc.oneof(fc.double({ min: -4, max: -(2 ** -20), noNaN: true }), fc.double({ min: 2 ** -20, max: 4, noNaN: true }));

  it.each(nearHalf.map((f) => [`${f.name} ${JSON.stringify(f.params)}`, f] as const))('%s forward at subnormal x, backward at tiny x', (_, f) => {
    const def = getActivation(f.name)!;
    const params = def.params.parse(f.params);
    const c = f.c;
    fc.assert(
      fc.property(fc.array(subnormal, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(logUniform(-1000, -500), subnormal), { minLength: 1, maxLength: 8 }), (xs, backs) => {
        const { out } = runForward(def, { x: Float64Array.from(xs), rows: 1, cols: xs.length, params, dtype: 'float64' });
        xs.forEach((x, i) => expectRoundedOnce(out[i], exactOf(x).div(2).plus(c.times(exactOf(x).pow(2))), 'float64', `${f.name} forward at ${x}`));
        const bx = backs.map(([x]) => x);
        const dy = backs.map(([, g]) => g);
        const { dx } = runBackward(def, { x: Float64Array.from(bx), dy: Float64Array.from(dy), rows: 1, cols: bx.length, params, dtype: 'float64' });
        bx.forEach((x, i) => expectRoundedOnce(dx[i], exactOf(dy[i]).times(new X(0.5).plus(c.times(2).times(exactOf(x)))), 'float64', `${f.name} backward at x = ${x}, dy = ${dy[i]}`));
      }),
      { numRuns: RUNS },
    );
  });

  it.each(nearHalf.map((f) => [`${f.name} ${JSON.stringify(f.params)}`, f] as const))('%s backward at subnormal x, dy of any size', (_, f) => {
    // There 2c·x underflows in the kernels' derivative, yet it breaks the ties of dy/2.
    const def = getActivation(f.name)!;
    const params = def.params.parse(f.params);
    fc.assert(
      fc.property(fc.array(fc.tuple(subnormal, fc.oneof(subnormal, upstream('float64'))), { minLength: 1, maxLength: 8 }), (pairs) => {
        const bx = pairs.map(([x]) => x);
        const dy = pairs.map(([, g]) => g);
        const { dx } = runBackward(def, { x: Float64Array.from(bx), dy: Float64Array.from(dy), rows: 1, cols: bx.length, params, dtype: 'float64' });
        bx.forEach((x, i) => expectRoundedOnce(dx[i], exactOf(dy[i]).times(new X(0.5).plus(f.c.times(2).times(exactOf(x)))), 'float64', `${f.name} backward at x = ${x}, dy = ${dy[i]}`));
      }),
      { numRuns: RUNS },
    );
  });

  it("glu's sigmoid gate: a·σ(b) and dy·σ(b) for a, dy and b subnormal (σ(b) − 1/2 = b/4 underflows)", () => {
    const glu = getActivation('glu')!;
    const params = glu.params.parse({});
    fc.assert(
      fc.property(fc.array(fc.tuple(subnormal, subnormal), { minLength: 1, maxLength: 8 }), (pairs) => {
        const x = Float64Array.from(pairs.flat());
        const dy = Float64Array.from(pairs, ([a]) => -a);
        const rows = pairs.length;
        const { out } = runForward(glu, { x: x.slice(), rows, cols: 2, params, dtype: 'float64' });
        const { dx } = runBackward(glu, { x: x.slice(), dy, rows, cols: 2, params, dtype: 'float64' });
        pairs.forEach(([a, b], r) => {
          const sigma = new X(0.5).plus(exactOf(b).div(4)); // the next term, b³/48, is far below
          expectRoundedOnce(out[r], exactOf(a).times(sigma), 'float64', `glu a = ${a}, b = ${b}`);
          expectRoundedOnce(dx[2 * r], exactOf(-a).times(sigma), 'float64', `glu da at dy = ${-a}, b = ${b}`);
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('swish with β of either sign (the side is sign β)', () => {
    const swish = getActivation('swish')!;
    fc.assert(
      fc.property(swishBeta, fc.array(subnormal, { minLength: 1, maxLength: 8 }), (beta, xs) => {
        const { out } = runForward(swish, { x: Float64Array.from(xs), rows: 1, cols: xs.length, params: swish.params.parse({ beta }), dtype: 'float64' });
        const c = exactOf(beta).div(4);
        xs.forEach((x, i) => expectRoundedOnce(out[i], exactOf(x).div(2).plus(c.times(exactOf(x).pow(2))), 'float64', `swish β = ${beta} at ${x}`));
        // Backward: dy·(1/2 + (β/2)·x), dy as small as x (in place: dx over dy).
        const dy = Float64Array.from(xs, (x) => -x);
        const want = xs.map((x) => exactOf(-x).times(new X(0.5).plus(c.times(2).times(exactOf(x)))));
        runBackward(swish, { x: Float64Array.from(xs), dy, dx: dy, rows: 1, cols: xs.length, params: swish.params.parse({ beta }), dtype: 'float64' });
        xs.forEach((x, i) => expectRoundedOnce(dy[i], want[i], 'float64', `swish β = ${beta} backward at ${x}, dy = ${-x}`));
      }),
      { numRuns: RUNS },
    );
  });
});

const prelu = getActivation('prelu')!;

describe.each(dtypes)('prelu dα against the exact sum, %s', (dtype) => {
  it('Σ dy·x over x ≤ 0 per α (one, per column, per element), rounded once, in batches built to cancel', () => {
    const shape = fc.record({ rows: fc.integer({ min: 1, max: 4 }), cols: fc.integer({ min: 1, max: 4 }), kind: fc.constantFrom('one', 'column', 'element'), cancel: fc.boolean() });
    fc.assert(
      fc.property(
        shape.chain((d) =>
          fc.record({
            d: fc.constant(d),
            x: fc.array(fc.array(valueOf(dtype), { minLength: d.cols, maxLength: d.cols }), { minLength: d.rows, maxLength: d.rows }),
            dy: fc.array(fc.array(upstream(dtype), { minLength: d.cols, maxLength: d.cols }), { minLength: d.rows, maxLength: d.rows }),
            nudge: fc.array(upstream(dtype), { minLength: d.cols, maxLength: d.cols }),
          }),
        ),
        ({ d, x, dy, nudge }) => {
          x = x.map((row) => Array.from(inputsOf(row, dtype)));
          dy = dy.map((row) => Array.from(inputsOf(row, dtype)));
          if (d.cancel) {
            // The rows again with dy negated (each column's sum cancels exactly), then the first row once more with
            // a small dy: what is left is that row's terms, next to sums of every size.
            x = [...x, ...x.map((row) => [...row]), [...x[0]]];
            dy = [...dy, ...dy.map((row) => row.map((g) => -g)), Array.from(inputsOf(nudge.map((g) => g * 2 ** -40), dtype))];
          }
          const rows = x.length;
          const cols = d.cols;
          const alpha = d.kind === 'one' ? 0.25 : d.kind === 'column' ? Array(cols).fill(0.25) : x.map((row) => row.map(() => 0.25));
          const { gradParams } = runBackward(prelu, {
            x: Float64Array.from(x.flat()),
            dy: Float64Array.from(dy.flat()),
            rows,
            cols,
            params: prelu.params.parse({ alpha }),
            dtype,
          });
          const grad = (gradParams as { alpha: number | number[] | number[][] }).alpha;
          const slot = (r: number, c: number) => (d.kind === 'one' ? 0 : d.kind === 'column' ? c : r * cols + c);
          const sums = new Map<number, Exact>();
          x.forEach((row, r) => row.forEach((v, c) => {
            const k = slot(r, c);
            sums.set(k, (sums.get(k) ?? new X(0)).plus(v > 0 ? new X(0) : exactOf(v).times(exactOf(dy[r][c]))));
          }));
          const got = (k: number): number => (typeof grad === 'number' ? grad : Array.isArray(grad[0]) ? (grad as number[][])[Math.floor(k / cols)][k % cols] : (grad as number[])[k]);
          for (const [k, v] of sums) expectRoundedOnce(got(k), v, dtype, `dα[${k}] of ${JSON.stringify({ x, dy, kind: d.kind })}`);
        },
      ),
      { numRuns: RUNS * 5 },
    );
  });
});

const hardsigmoid = getActivation('hardsigmoid')!;

/**
 * hardsigmoid's α·x + β next to the subnormals, where Dekker's product (for
 * α ≠ 1/6) loses bits of its low part and the division of x + 6β by 6 (for
 * α = 1/6) rounds its correction to the subnormal grid: α·x from 2^-1130 to
 * 2^-900 against offsets β at and around 0 and 1; and x within a few
 * subnormal steps of −6β; and the ties that a product of few bits sits on,
 * or a sum x + 6β that is not a double. float64 only: float32 inputs cannot come that close.
 */
const offsets = fc.oneof(
  fc.constantFrom(0, 1, 0.5, 5e-324, -5e-324, 3 * 5e-324, 2 ** -1022, -(2 ** -1022), 1 - 2 ** -53, 1 + 2 ** -52),
  logUniform(-1074, -900),
);
const slopeCase = fc
  .tuple(fc.oneof(logUniform(-1074, 0), fc.constant(0.2)), fc.integer({ min: -1130, max: -900 }), fc.double({ min: 1, max: 2, noNaN: true }), fc.boolean(), offsets)
  .map(([alpha, product, m, negative, beta]) => {
    const x = (negative ? -m : m) * 2 ** Math.min(1000, product - Math.floor(Math.log2(Math.abs(alpha))));
    return { params: { alpha, beta }, x };
  });
/** Slopes of few bits (k·2^e, k odd below 2^10): products that sit on ties more often than not, which a tiny β breaks. */
const shortSlopeCase = fc
  .tuple(fc.integer({ min: 0, max: 511 }), fc.integer({ min: -1070, max: 0 }), fc.double({ min: -4, max: 4, noNaN: true }), offsets)
  .map(([k, e, m, beta]) => {
    const alpha = (2 * k + 1) * 2 ** e;
    return { params: { alpha, beta }, x: m * 2 ** Math.min(1000, -e - 10) };
  });
/** α = 1/6 with x + 6β tiny (β of every small magnitude), and with β of any size (6β not always a double) and x within a few steps of −6β. */
const sixthCase = fc.oneof(
  fc
    .tuple(logUniform(-1074, -880), fc.integer({ min: -64, max: 64 }), fc.integer({ min: -1074, max: -1000 }))
    .map(([beta, j, e]) => ({ params: { beta }, x: -6 * beta + j * 2 ** e })),
  fc
    .tuple(fc.oneof(fc.double({ min: -4, max: 4, noNaN: true }), fc.constant(0.5)), fc.integer({ min: -64, max: 64 }), fc.integer({ min: -60, max: -40 }))
    .map(([beta, j, e]) => ({ params: { beta }, x: -6 * beta + j * 2 ** e * Math.max(1, Math.abs(beta)) })),
);

describe('hardsigmoid against the exact α·x + β next to the subnormals', () => {
  it('forward: α·x + β rounded once, clamped to [0, 1]; backward: dy·α exactly where 0 < α·x + β < 1, else 0', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(slopeCase, shortSlopeCase, sixthCase), upstream('float64')), { minLength: 1, maxLength: 8 }), (draws) => {
        for (const [{ params: p, x }, dy] of draws) {
          const params = hardsigmoid.params.parse(p) as { alpha: number; beta: number };
          const sixth = params.alpha === 1 / 6; // the exact fraction (ACTIVATIONS.md): N = x + 6β over 6
          const den = sixth ? 6 : 1;
          const n = sixth ? exactOf(x).plus(exactOf(params.beta).times(6)) : exactOf(params.alpha).times(exactOf(x)).plus(exactOf(params.beta));
          const { out } = runForward(hardsigmoid, { x: Float64Array.of(x), rows: 1, cols: 1, params, dtype: 'float64' });
          const { dx } = runBackward(hardsigmoid, { x: Float64Array.of(x), dy: Float64Array.of(dy), rows: 1, cols: 1, params, dtype: 'float64' });
          const what = `at x = ${x}, dy = ${dy}, ${JSON.stringify(p)}`;
          const inside = n.gt(0) && n.lt(den);
          if (inside) expectRoundedOnce(out[0], n, 'float64', `forward ${what}`, den);
          else expect(out[0], `forward ${what}`).toBe(n.lte(0) ? 0 : 1);
          if (inside) expectRoundedOnce(dx[0], sixth ? exactOf(dy) : exactOf(dy).times(exactOf(params.alpha)), 'float64', `backward ${what}`, den);
          else expect(dx[0], `backward ${what}`).toBe(0);
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });
});
