/**
 * The piecewise-linear forwards compute without branches, for speed on random
 * signs: with masks ([x > t] as a number) or selects through a table indexed
 * by such flags; each must give, bit for bit (−0, NaN and infinities
 * included), what the plain select form of its definition gives. The oracles
 * below are those select forms, one line each; the same for the backwards,
 * which read dy, 0 or NaN through a table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';

type Oracle = (x: number, p: Record<string, number>) => number;

const cases: [name: string, params: fc.Arbitrary<Record<string, number>>, oracle: Oracle][] = [
  ['relu', fc.constant({}), (x) => (x <= 0 ? 0 : x)],
  ['relu6', fc.constant({}), (x) => (x <= 0 ? 0 : x >= 6 ? 6 : x)],
  ['step', fc.constant({}), (x) => (x > 0 ? 1 : x <= 0 ? 0 : x)],
  [
    'hardtanh',
    fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, noDefaultInfinity: true })).filter(([a, b]) => a < b).map(([min_val, max_val]) => ({ min_val, max_val })),
    (x, p) => (p.min_val === 0 || p.max_val === 0 ? Math.min(Math.max(x, p.min_val), p.max_val) : x < p.min_val ? p.min_val : x > p.max_val ? p.max_val : x),
  ],
  [
    'threshold',
    fc.record({ threshold: fc.double({ noNaN: true, noDefaultInfinity: true }), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
    (x, p) => (x <= p.threshold ? p.value : x),
  ],
  ['hardshrink', fc.record({ lambd: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }) }), (x, p) => (Math.abs(x) > p.lambd ? x : x * 0 + 0)],
  ['softshrink', fc.record({ lambd: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }) }), (x, p) => x - Math.min(Math.max(x, -p.lambd), p.lambd)],
  ['leaky_relu', fc.record({ negative_slope: fc.double({ noNaN: true, noDefaultInfinity: true }) }), (x, p) => x * (x > 0 ? 1 : p.negative_slope)],
  ['prelu', fc.record({ alpha: fc.double({ noNaN: true, noDefaultInfinity: true }) }), (x, p) => x * (x > 0 ? 1 : p.alpha)],
];

// Any double, with −0, NaN, ±Infinity, subnormals and the extremes drawn often; 13 per row so both the
// unrolled loop and its tail run.
const values = fc.array(fc.double(), { minLength: 13, maxLength: 13 });

describe('piecewise forwards match their select form bit for bit', () => {
  for (const [name, paramsArb, oracle] of cases) {
    it(name, () => {
      const def = getActivation(name)!;
      fc.assert(
        fc.property(values, paramsArb, (xs, raw) => {
          const params = def.params.parse(raw) as Record<string, number>;
          const out = new Float64Array(xs.length);
          def.forward({ x: Float64Array.from(xs), out, rows: 1, cols: xs.length, params: params as never });
          xs.forEach((x, i) => expect(Object.is(out[i], oracle(x, params)), `${name}(${x}) = ${out[i]}, want ${oracle(x, params)}`).toBe(true));
        }),
        { numRuns: 300 },
      );
    });
  }

  // Backwards: dy where the function's slope is taken as nonzero, the exact 0 elsewhere, NaN for a NaN input.
  const gated = (pass: (x: number, p: Record<string, number>) => boolean) => (x: number, dy: number, p: Record<string, number>) => (pass(x, p) ? dy : x === x ? 0 : NaN);
  const backwardCases: [name: string, params: fc.Arbitrary<Record<string, number>>, oracle: (x: number, dy: number, p: Record<string, number>) => number][] = [
    ['relu', fc.constant({}), gated((x) => x > 0)],
    ['relu6', fc.constant({}), gated((x) => x > 0 && x < 6)],
    ['hardtanh', cases.find(([n]) => n === 'hardtanh')![1], gated((x, p) => x > p.min_val && x < p.max_val)],
    ['threshold', cases.find(([n]) => n === 'threshold')![1], gated((x, p) => x > p.threshold)],
    ['hardshrink', cases.find(([n]) => n === 'hardshrink')![1], gated((x, p) => Math.abs(x) > p.lambd)],
    ['softshrink', cases.find(([n]) => n === 'softshrink')![1], gated((x, p) => Math.abs(x) > p.lambd)],
    ['leaky_relu', cases.find(([n]) => n === 'leaky_relu')![1], (x, dy, p) => (x === x ? dy * (x > 0 ? 1 : p.negative_slope) : NaN)],
  ];
  for (const [name, paramsArb, oracle] of backwardCases) {
    it(`${name} backward`, () => {
      const def = getActivation(name)!;
      fc.assert(
        fc.property(values, values, paramsArb, (xs, dys, raw) => {
          const params = def.params.parse(raw) as Record<string, number>;
          const dx = new Float64Array(xs.length);
          def.backward({ x: Float64Array.from(xs), dy: Float64Array.from(dys), dx, rows: 1, cols: xs.length, params: params as never });
          xs.forEach((x, i) => {
            const want = oracle(x, dys[i], params);
            expect(Object.is(dx[i], want), `${name}'(${x}) with dy ${dys[i]} = ${dx[i]}, want ${want}`).toBe(true);
          });
        }),
        { numRuns: 300 },
      );
    });
  }

  it('maxout without weights: the first of the greatest, or the first NaN, of each group', () => {
    const def = getActivation('maxout')!;
    // The select form of the definition: a later piece wins only when strictly greater, or NaN. Ties of ±0 and
    // NaNs drawn often (fc.double alone rarely puts two in one group).
    const oracle = (group: number[]) => group.reduce((best, v) => (best !== best ? best : v > best || v !== v ? v : best));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }), fc.infiniteStream(fc.oneof(fc.constantFrom(-0, 0, NaN, 1, -1, Infinity, -Infinity), fc.double())), (k, units, rows, stream) => {
        const cols = k * units;
        const xs = [...stream.take(rows * cols)];
        const out = new Float64Array(rows * units);
        def.forward({ x: Float64Array.from(xs), out, rows, cols, params: def.params.parse({ pieces: k }) as never });
        for (let u = 0; u < rows * units; u++) {
          const want = oracle(xs.slice(u * k, u * k + k));
          expect(Object.is(out[u], want), `maxout k=${k} group ${xs.slice(u * k, u * k + k)} = ${out[u]}, want ${want}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('prelu with one slope per element, −0 among them or not', () => {
    const def = getActivation('prelu')!;
    const xs = [-2, -0, 0, 5e-324, -Infinity, NaN, 3, -1e308, Infinity, -5e-324];
    for (const alpha of [
      [
        [0.25, -0, 0, -3, 1e-300],
        [2, 0.5, -0, 7, -1],
      ],
      [
        [0.25, 2, 0.5, -3, 1e-300],
        [2, 0.5, 0.125, 7, -1],
      ],
    ]) {
      const out = new Float64Array(xs.length);
      def.forward({ x: Float64Array.from(xs), out, rows: 2, cols: 5, params: def.params.parse({ alpha }) as never });
      xs.forEach((x, i) => expect(Object.is(out[i], x * (x > 0 ? 1 : alpha[Math.floor(i / 5)][i % 5]))).toBe(true));
    }
  });

  it('prelu with one slope per column, −0 among them', () => {
    const def = getActivation('prelu')!;
    const alpha = [0.25, -0, 0, -3, 1e-300];
    const xs = [-2, -0, 0, 5e-324, -Infinity, NaN, 3, -1e308, Infinity, -5e-324];
    const out = new Float64Array(xs.length);
    def.forward({ x: Float64Array.from(xs), out, rows: 2, cols: 5, params: def.params.parse({ alpha }) as never });
    xs.forEach((x, i) => expect(Object.is(out[i], x * (x > 0 ? 1 : alpha[i % 5]))).toBe(true));
    const plain = [0.25, 2, 0.5, -3, 1e-300];
    def.forward({ x: Float64Array.from(xs), out, rows: 2, cols: 5, params: def.params.parse({ alpha: plain }) as never });
    xs.forEach((x, i) => expect(Object.is(out[i], x * (x > 0 ? 1 : plain[i % 5]))).toBe(true));
  });
});
