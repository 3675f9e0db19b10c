/**
 * runForward and runBackward write into memory the caller gives (/v2 reuses
 * tensor memory between requests: src/tensor-pool.ts), so every kernel
 * must write every element of its output and read nothing it did not write:
 * results into memory full of leftovers equal the results into fresh arrays,
 * bit for bit, float64 and packed float32 alike. Over the registry; nothing
 * here names an activation.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activations, getActivation } from '../../src/core/activations/index.js';
import { outputCols, runBackward, runForward, type Floats } from '../../src/core/batch.js';
import type { ActivationDefinition } from '../../src/core/activation.js';

const paramsOf = (def: ActivationDefinition) => def.params.parse(def.example.params ?? {});

/** Leftovers of an earlier request: NaN, infinities and ordinary numbers, none of them a result's. */
const LEFTOVERS = [Number.NaN, Infinity, -Infinity, 1e300, -7.5, 0.125];

function filledWithLeftovers<A extends Floats>(like: A, length: number): A {
  const out = (like instanceof Float32Array ? new Float32Array(length) : new Float64Array(length)) as A;
  for (let i = 0; i < length; i++) out[i] = LEFTOVERS[i % LEFTOVERS.length];
  return out;
}

const bitsOf = (values: Floats) => Array.from(values, (v) => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v)));

for (const def of activations) {
  describe(`${def.name} into reused memory`, () => {
    const params = paramsOf(def);
    const cols = def.example.inputs[0].length;
    const batches = fc
      .integer({ min: 1, max: 4 })
      .chain((rows) =>
        fc.tuple(
          fc.constant(rows),
          fc.array(fc.double({ min: -40, max: 40, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols }),
          fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: rows * outputCols(def, cols, params), maxLength: rows * outputCols(def, cols, params) }),
        ),
      );

    for (const packed of [false, true]) {
      const make = (values: number[]): Floats => (packed ? Float32Array.from(values) : Float64Array.from(values));
      const dtype = packed ? 'float32' : 'float64';

      it(`forward${packed ? ', packed float32' : ''}: the same bits as into a new array`, () => {
        fc.assert(
          fc.property(batches, ([rows, x]) => {
            const fresh = runForward(def, { x: make(x), rows, cols, params, dtype }).out;
            const x2 = make(x);
            const reused = runForward(def, { x: x2, rows, cols, params, dtype, out: filledWithLeftovers(x2, fresh.length) }).out;
            expect(bitsOf(reused)).toEqual(bitsOf(fresh));
          }),
          { numRuns: 25 },
        );
      });

      it(`backward${packed ? ', packed float32' : ''}: the same bits as into a new array`, () => {
        fc.assert(
          fc.property(batches, ([rows, x, dy]) => {
            const fresh = runBackward(def, { x: make(x), dy: make(dy), rows, cols, params, dtype });
            const x2 = make(x);
            const reused = runBackward(def, { x: x2, dy: make(dy), rows, cols, params, dtype, dx: filledWithLeftovers(x2, x.length) });
            expect(bitsOf(reused.dx)).toEqual(bitsOf(fresh.dx));
            expect(reused.gradParams).toEqual(fresh.gradParams);
          }),
          { numRuns: 25 },
        );
      });
    }
  });
}

describe('a destination that does not fit', () => {
  // A float64 out for packed inputs was written unnarrowed (and, backward, unrounded), a float32 out for float64
  // inputs ignored, a short one truncated the result: a caller's mistake, refused rather than answered wrong.
  const sigmoid = getActivation('sigmoid')!;
  const cases: [string, Floats, Floats][] = [
    ['a Float64Array for packed float32 inputs', new Float32Array(4), new Float64Array(4)],
    ['a Float32Array for float64 inputs', new Float64Array(4), new Float32Array(4)],
    ['too short', new Float64Array(4), new Float64Array(3)],
  ];
  for (const [what, x, dest] of cases) {
    const dtype = x instanceof Float32Array ? 'float32' : 'float64';
    it(`is refused: ${what}`, () => {
      expect(() => runForward(sigmoid, { x, rows: 2, cols: 2, params: {}, dtype, out: dest as never })).toThrow(TypeError);
      expect(() => runBackward(sigmoid, { x, dy: x.slice(), rows: 2, cols: 2, params: {}, dtype, dx: dest as never })).toThrow(TypeError);
    });
  }
  it('a longer one is written at its start', () => {
    const out = new Float64Array(6).fill(NaN);
    const { out: result } = runForward(sigmoid, { x: Float64Array.from([0, 0, 0, 0]), rows: 2, cols: 2, params: {}, dtype: 'float64', out });
    expect(Array.from(result)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(result.buffer).toBe(out.buffer);
    expect(Number.isNaN(out[4])).toBe(true);
  });
});
