/**
 * Every golden case of every registered activation that has a fixture,
 * through the kernels: forward, backward and parameter gradients, float64
 * and float32.
 */
import { describe, expect, it } from 'vitest';
import { activations } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import {
  goldenBound,
  bodyFieldsOf,
  compareUlp,
  flatten,
  flattenDeep,
  gradOutputsOf,
  hasGolden,
  loadGolden,
} from '../helpers/golden.js';

for (const def of activations.filter((a) => hasGolden(a.name))) {
  describe(`${def.name} golden cases`, () => {
    for (const [index, c] of loadGolden(def.name).entries()) {
      const label = `#${index} ${JSON.stringify(c.params)} ${c.dtype}`;
      const rows = c.x.length;
      const cols = c.x[0].length;
      const params = { ...def.params.parse(c.params), ...bodyFieldsOf(c) };
      const bound = goldenBound(def.name, index, 'forward');
      const backwardBound = goldenBound(def.name, index, 'backward');

      it(`forward ${label} within ${bound} ULP`, () => {
        const { out } = runForward(def, { x: flatten(c.x), rows, cols, params, dtype: c.dtype });
        const golden = flatten(c.y);
        const report = compareUlp(out, golden, c.dtype);
        expect(report.max, `worst at element ${report.worst}: got ${out[report.worst]}, want ${golden[report.worst]}`).toBeLessThanOrEqual(bound);
      });

      it(`backward ${label} within ${backwardBound} ULP`, () => {
        const { dx, gradParams } = runBackward(def, {
          x: flatten(c.x),
          dy: flatten(gradOutputsOf(c)),
          rows,
          cols,
          params,
          dtype: c.dtype,
        });
        const golden = flatten(c.dx);
        const report = compareUlp(dx, golden, c.dtype);
        const x = flatten(c.x)[report.worst];
        expect(report.max, `worst at x=${x}: got ${dx[report.worst]}, want ${golden[report.worst]}`).toBeLessThanOrEqual(backwardBound);
        for (const [name, want] of Object.entries(c.grad_params ?? {})) {
          const got = flattenDeep(gradParams?.[name]);
          const expected = flattenDeep(want);
          expect(got.length, `grad_params.${name}`).toBe(expected.length);
          expect(compareUlp(got, expected, c.dtype).max, `grad_params.${name}`).toBeLessThanOrEqual(backwardBound);
        }
      });
    }
  });
}
