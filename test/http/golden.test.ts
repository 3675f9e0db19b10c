/**
 * The golden cases through HTTP, both on the main thread and through the
 * worker pool: same bounds as the kernel test, numbers as JSON (non-finite
 * values as strings).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { activations } from '../../src/core/activations/index.js';
import {
  goldenBound,
  bodyFieldsOf,
  compareUlp,
  flatten,
  flattenDeep,
  gradOutputsOf,
  hasGolden,
  loadGolden,
  type GoldenNumber,
} from '../helpers/golden.js';
import { build, postJson } from '../helpers/app.js';

const paths = { inline: { INLINE_MAX_ELEMENTS: 1 << 30 }, pool: { INLINE_MAX_ELEMENTS: 0 } } as const;

for (const [path, overrides] of Object.entries(paths)) {
  describe(`golden cases over HTTP (${path})`, () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = await build(overrides);
    });
    afterAll(async () => {
      await app.close();
    });

    for (const def of activations.filter((a) => hasGolden(a.name))) {
      for (const [index, c] of loadGolden(def.name).entries()) {
        const label = `${def.name} #${index} ${JSON.stringify(c.params)} ${c.dtype}`;
        const [forwardBound, backwardBound] = [goldenBound(def.name, index, 'forward'), goldenBound(def.name, index, 'backward')];
        it(`${label}: forward and backward`, async () => {
          const body = { inputs: c.x, params: c.params, dtype: c.dtype, ...bodyFieldsOf(c) };
          const forward = await postJson(app, `/v1/activations/${def.name}/forward`, body);
          expect(forward.status).toBe(200);
          expect(forward.body.shape).toEqual([c.y.length, c.y[0].length]);
          const out = flatten(forward.body.outputs as GoldenNumber[][]);
          expect(compareUlp(out, flatten(c.y), c.dtype).max).toBeLessThanOrEqual(forwardBound);

          const backward = await postJson(app, `/v1/activations/${def.name}/backward`, { ...body, grad_outputs: gradOutputsOf(c) });
          expect(backward.status).toBe(200);
          const dx = flatten(backward.body.grad_inputs as GoldenNumber[][]);
          expect(compareUlp(dx, flatten(c.dx), c.dtype).max).toBeLessThanOrEqual(backwardBound);
          for (const [name, want] of Object.entries(c.grad_params ?? {})) {
            const got = flattenDeep(backward.body.grad_params[name]);
            expect(compareUlp(got, flattenDeep(want), c.dtype).max, `grad_params.${name}`).toBeLessThanOrEqual(backwardBound);
          }
        });
      }
    }
  });
}
