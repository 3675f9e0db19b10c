/**
 * Table-driven over the registry: every activation, whatever it is, keeps
 * the promises of the shared shape. A new activation is covered by adding
 * its file; nothing here names one.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activations, getActivation } from '../../src/core/activations/index.js';
import { outputCols, runBackward, runForward } from '../../src/core/batch.js';
import type { ActivationDefinition } from '../../src/core/activation.js';
import { uniformIn } from '../helpers/reference.js';

const paramsOf = (def: ActivationDefinition) => def.params.parse(def.example.params ?? {});

function forwardValues(def: ActivationDefinition, x: number[], rows: number, cols: number, params: unknown): Float64Array {
  return runForward(def, { x: Float64Array.from(x), rows, cols, params, dtype: 'float64' }).out;
}

describe('the registry', () => {
  it('holds every module of src/core/activations and nothing else', () => {
    const files = readdirSync(new URL('../../src/core/activations/', import.meta.url))
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(activations.map((a) => a.name.replace(/_/g, '-')).sort()).toEqual(files);
  });

  it('has unique snake_case names', () => {
    const names = activations.map((a) => a.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    expect(getActivation(names[0])).toBe(activations[0]);
    expect(getActivation('no_such_activation')).toBeUndefined();
  });
});

for (const def of activations) {
  describe(def.name, () => {
    it('declares its metadata', () => {
      expect(def.title.length).toBeGreaterThan(0);
      expect(def.formula.length).toBeGreaterThan(0);
      expect(def.derivative.length).toBeGreaterThan(0);
      expect(def.metadata.pros.length).toBeGreaterThan(0);
      expect(def.metadata.cons.length).toBeGreaterThan(0);
      expect(def.metadata.references.length).toBeGreaterThan(0);
      for (const p of def.learnable) expect(Object.keys(def.params.shape)).toContain(p);
    });

    it('params are strict and carry their defaults', () => {
      expect(def.params.safeParse({ ...def.example.params, definitely_not_a_param: 1 }).success).toBe(false);
      expect(def.params.safeParse(def.example.params ?? {}).success).toBe(true);
    });

    it('runs its example forward and backward with the right shapes', () => {
      const rows = def.example.inputs.length;
      const cols = def.example.inputs[0].length;
      const params = paramsOf(def);
      const width = outputCols(def, cols, params);
      const { out, cols: outCols } = runForward(def, { x: Float64Array.from(def.example.inputs.flat()), rows, cols, params, dtype: 'float64' });
      expect(outCols).toBe(width);
      expect(out.length).toBe(rows * width);
      for (const v of out) expect(Number.isNaN(v)).toBe(false);
      const { dx } = runBackward(def, {
        x: Float64Array.from(def.example.inputs.flat()),
        dy: new Float64Array(rows * width).fill(1),
        rows,
        cols,
        params,
        dtype: 'float64',
      });
      expect(dx.length).toBe(rows * cols);
      for (const v of dx) expect(Number.isNaN(v)).toBe(false);
    });

    // A stated bound must hold and be the tightest: gelu's lower bound was 3.2e-12 above the minimum its kernel
    // reaches (an audit). Sampled densely, then the extremes refined by golden-section search on the kernel.
    // Not for threshold, whose parameters have no defaults (so no default range).
    const defaults = def.params.safeParse({});
    if (def.kind === 'elementwise' && defaults.success) {
      it('metadata.range holds for default parameters, and its finite ends are reached', () => {
        const parsed = defaults;
        const f = (x: number) => runForward(def, { x: Float64Array.of(x), rows: 1, cols: 1, params: parsed.data, dtype: 'float64' }).out[0];
        const xs = [-Infinity, Infinity, -1e308, 1e308, -1e6, 1e6, -1000, 1000];
        for (let x = -60; x <= 60; x += 1 / 64) xs.push(x);
        const refine = (x0: number, sign: 1 | -1) => {
          // Golden-section search for the extreme of sign·f within one grid step of x0.
          let [a, b] = [x0 - 1 / 64, x0 + 1 / 64];
          const g = (Math.sqrt(5) - 1) / 2;
          for (let i = 0; i < 80; i++) {
            const c = b - g * (b - a);
            const d = a + g * (b - a);
            if (sign * f(c) < sign * f(d)) b = d;
            else a = c;
          }
          return f((a + b) / 2);
        };
        const values = xs.map(f);
        const iMin = values.indexOf(Math.min(...values));
        const iMax = values.indexOf(Math.max(...values));
        const low = Math.min(values[iMin], Number.isFinite(xs[iMin]) && Math.abs(xs[iMin]) < 60 ? refine(xs[iMin], 1) : Infinity);
        const high = Math.max(values[iMax], Number.isFinite(xs[iMax]) && Math.abs(xs[iMax]) < 60 ? refine(xs[iMax], -1) : -Infinity);
        const [lower, upper] = def.metadata.range.map(Number);
        expect(low, 'the lowest value the kernel gives').toBeGreaterThanOrEqual(lower);
        expect(high, 'the highest value the kernel gives').toBeLessThanOrEqual(upper);
        // Reached to a few ULPs: near a smooth extreme many x give values within an ULP, and the search stops at one.
        const near = (v: number, bound: number) => Math.abs(v - bound) <= 8 * Number.EPSILON * Math.max(Math.abs(bound), Number.MIN_VALUE);
        if (Number.isFinite(lower)) expect(near(low, lower), `the stated lower bound ${lower} is reached (lowest found ${low})`).toBe(true);
        if (Number.isFinite(upper)) expect(near(high, upper), `the stated upper bound ${upper} is reached (highest found ${high})`).toBe(true);
      });
    }

    it('float32 results are float32 values', () => {
      fc.assert(
        fc.property(fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 4, maxLength: 4 }), (x) => {
          const params = paramsOf(def);
          const { out } = runForward(def, { x: Float64Array.from(x), rows: 1, cols: 4, params, dtype: 'float32' });
          for (const v of out) expect(Object.is(Math.fround(v), v)).toBe(true);
        }),
        { numRuns: 50 },
      );
    });

    it('packed float32 batches (Float32Array, as binary /v2 sends them) give the float32 results of unpacked ones', () => {
      const f32 = fc.double({ min: -20, max: 20, noNaN: true }).map(Math.fround);
      fc.assert(
        fc.property(fc.array(f32, { minLength: 8, maxLength: 8 }), fc.array(f32, { minLength: 8, maxLength: 8 }), (x, g) => {
          const params = paramsOf(def);
          const task = { rows: 2, cols: 4, params, dtype: 'float32' as const };
          const width = outputCols(def, 4, params);
          const dy = g.slice(0, 2 * width);
          const packed = runForward(def, { ...task, x: Float32Array.from(x) });
          expect(packed.out).toBeInstanceOf(Float32Array);
          expect(Array.from(packed.out)).toEqual(Array.from(runForward(def, { ...task, x: Float64Array.from(x) }).out));
          const back = runBackward(def, { ...task, x: Float32Array.from(x), dy: Float32Array.from(dy) });
          const want = runBackward(def, { ...task, x: Float64Array.from(x), dy: Float64Array.from(dy) });
          expect(back.dx).toBeInstanceOf(Float32Array);
          expect(Array.from(back.dx)).toEqual(Array.from(want.dx));
          expect(back.gradParams).toEqual(want.gradParams);
        }),
        { numRuns: 30 },
      );
    });

    it('propagates NaN', () => {
      const params = paramsOf(def);
      const cols = 4;
      const out = forwardValues(def, [NaN, 1, -1, 0.5], 1, cols, params);
      // An element-wise function keeps NaN in its place and nowhere else; a row function may spread it over the row.
      expect(Number.isNaN(out[0])).toBe(true);
      if (def.kind === 'elementwise') {
        expect(Array.from(out.subarray(1)).some(Number.isNaN)).toBe(false);
        const { dx } = runBackward(def, { x: Float64Array.of(NaN, 1, -1, 0.5), dy: new Float64Array(cols).fill(1), rows: 1, cols, params, dtype: 'float64' });
        expect(Array.from(dx.subarray(1)).some(Number.isNaN)).toBe(false);
      }
    });

    it('backward matches a central finite difference of forward (away from kinks)', () => {
      const cols = 5;
      // Mostly uniform over [-6, 6]: fc.double alone drew 0 to 9 of 500 elements per activation in 1e-3 < |x| < 3
      // (an audit), and relu's kink then skipped most of the rest.
      const coordinate = fc.oneof({ weight: 4, arbitrary: uniformIn(-6, 6) }, { weight: 1, arbitrary: fc.double({ min: -6, max: 6, noNaN: true }) });
      fc.assert(
        fc.property(
          fc.array(coordinate, { minLength: cols, maxLength: cols }),
          fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: cols, maxLength: cols }),
          (x, dySeed) => {
            const params = paramsOf(def);
            const width = outputCols(def, cols, params);
            const dy = Float64Array.from({ length: width }, (_, i) => dySeed[i % cols]);
            const { dx } = runBackward(def, { x: Float64Array.from(x), dy: Float64Array.from(dy), rows: 1, cols, params, dtype: 'float64' });
            for (let i = 0; i < cols; i++) {
              const h = 1e-6 * Math.max(1, Math.abs(x[i]));
              const plus = [...x];
              const minus = [...x];
              plus[i] += h;
              minus[i] -= h;
              const fp = forwardValues(def, plus, 1, cols, params);
              const f0 = forwardValues(def, x, 1, cols, params);
              const fm = forwardValues(def, minus, 1, cols, params);
              let fd = 0;
              let ahead = 0;
              let behind = 0;
              for (let j = 0; j < width; j++) {
                fd += (dy[j] * (fp[j] - fm[j])) / (plus[i] - minus[i]);
                ahead += (dy[j] * (fp[j] - f0[j])) / (plus[i] - x[i]);
                behind += (dy[j] * (f0[j] - fm[j])) / (x[i] - minus[i]);
              }
              // A kink sits within h when the one-sided differences disagree; only non-smooth functions have one.
              if (!def.metadata.smooth && Math.abs(ahead - behind) > 1e-4 * Math.max(Math.abs(ahead), Math.abs(behind))) continue;
              expect(Math.abs(fd - dx[i]), `x=${x} i=${i} fd=${fd} dx=${dx[i]}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(dx[i])));
            }
          },
        ),
        { numRuns: 100 },
      );
    });
  });
}
