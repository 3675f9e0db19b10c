/**
 * Every golden case of every registered activation that has a fixture,
 * through the kernels: forward and backward, float64 and float32.
 */
import { describe, expect, it } from 'vitest';
import { activations } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { ULP_BOUND, compareUlp, flatten, hasGolden, loadGolden } from '../helpers/golden.js';

for (const def of activations.filter((a) => hasGolden(a.name))) {
  describe(`${def.name} golden cases`, () => {
    for (const c of loadGolden(def.name)) {
      const label = `${JSON.stringify(c.params)} ${c.dtype}`;
      const rows = c.x.length;
      const cols = c.x[0].length;
      const params = def.params.parse(c.params);

      it(`forward ${label} within ${ULP_BOUND[c.dtype]} ULP`, () => {
        const { out } = runForward(def, { x: flatten(c.x), rows, cols, params, dtype: c.dtype });
        const golden = flatten(c.y);
        const report = compareUlp(out, golden, c.dtype);
        const x = flatten(c.x)[report.worst];
        expect(report.max, `worst at x=${x}: got ${out[report.worst]}, want ${golden[report.worst]}`).toBeLessThanOrEqual(
          ULP_BOUND[c.dtype],
        );
      });

      it(`backward ${label} within ${ULP_BOUND[c.dtype]} ULP`, () => {
        const { dx } = runBackward(def, { x: flatten(c.x), dy: flatten(c.dy!), rows, cols, params, dtype: c.dtype });
        const golden = flatten(c.dx);
        const report = compareUlp(dx, golden, c.dtype);
        const x = flatten(c.x)[report.worst];
        expect(report.max, `worst at x=${x}: got ${dx[report.worst]}, want ${golden[report.worst]}`).toBeLessThanOrEqual(
          ULP_BOUND[c.dtype],
        );
      });
    }
  });
}
