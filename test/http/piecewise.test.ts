/**
 * The piecewise-linear family over HTTP: prelu's learnable α and its shape
 * check, threshold's required params, and rrelu's request-time seed, which
 * must come back in the response and reproduce the slopes in backward.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build, postJson } from '../helpers/app.js';

const problemType = 'https://activation-service.dev/problems/validation';

const paths = { inline: { INLINE_MAX_ELEMENTS: 1 << 30 }, pool: { INLINE_MAX_ELEMENTS: 0 } } as const;

for (const [path, overrides] of Object.entries(paths)) {
  describe(`piecewise activations over HTTP (${path})`, () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = await build(overrides);
    });
    afterAll(async () => {
      await app.close();
    });

    it('prelu with one α per column: forward, and backward with grad_params.alpha per column', async () => {
      const inputs = [
        [-1, 2],
        [-3, -0.5],
        [0, -4],
      ];
      const params = { alpha: [0.25, 0.5] };
      const forward = await postJson(app, '/v1/activations/prelu/forward', { inputs, params });
      expect(forward).toMatchObject({
        status: 200,
        body: {
          activation: 'prelu',
          dtype: 'float64',
          shape: [3, 2],
          outputs: [
            [-0.25, 2],
            [-0.75, -0.25],
            [0, -2],
          ],
        },
      });
      const grad_outputs = [
        [0.5, 10],
        [2, 1],
        [7, 0.25],
      ];
      const backward = await postJson(app, '/v1/activations/prelu/backward', { inputs, grad_outputs, params });
      expect(backward.status).toBe(200);
      expect(backward.body).toEqual({
        activation: 'prelu',
        dtype: 'float64',
        shape: [3, 2],
        grad_inputs: [
          [0.125, 10],
          [0.5, 0.5],
          [1.75, 0.125],
        ],
        // Column 0: 0.5·(−1) + 2·(−3) + 7·0; column 1: 1·(−0.5) + 0.25·(−4).
        grad_params: { alpha: [-6.5, -1.5] },
      });
    });

    it('prelu with an α of the wrong length is a 400 naming /params/alpha', async () => {
      for (const route of ['forward', 'backward']) {
        const res = await postJson(app, `/v1/activations/prelu/${route}`, {
          inputs: [[-1, 2, 3]],
          ...(route === 'backward' ? { grad_outputs: [[1, 1, 1]] } : {}),
          params: { alpha: [0.1, 0.2] },
        });
        expect(res.status, route).toBe(400);
        expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
        expect(res.body).toEqual({
          type: problemType,
          title: 'Invalid request',
          status: 400,
          code: 'ACT_ERR_VALIDATION',
          detail: '/params/alpha: one slope per column needs 3 numbers, got 2',
          errors: [{ path: '/params/alpha', message: 'one slope per column needs 3 numbers, got 2' }],
        });
      }
    });

    it('threshold without its required params is a 400 naming both', async () => {
      const res = await postJson(app, '/v1/activations/threshold/forward', { inputs: [[1, 2]] });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ type: problemType, status: 400, code: 'ACT_ERR_VALIDATION' });
      expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/params/threshold', '/params/value']);
      const partial = await postJson(app, '/v1/activations/threshold/forward', { inputs: [[1, 2]], params: { threshold: 1 } });
      expect(partial.status).toBe(400);
      expect(partial.body.errors.map((e: { path: string }) => e.path)).toEqual(['/params/value']);
      const ok = await postJson(app, '/v1/activations/threshold/forward', { inputs: [[1, 2]], params: { threshold: 1, value: -1 } });
      expect(ok.body.outputs).toEqual([[-1, 2]]);
    });

    it('rrelu in training without a seed answers with the seed it chose; backward with it reproduces the slopes', async () => {
      const inputs = [
        [-1, -2, -0.5, 3],
        [-4, 0.25, -1.5, -8],
      ];
      const forward = await postJson(app, '/v1/activations/rrelu/forward', { inputs, params: { training: true } });
      expect(forward.status).toBe(200);
      const seed = forward.body.seed as number;
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(0);
      expect(seed).toBeLessThan(2 ** 32);
      const outputs = forward.body.outputs as number[][];

      const grad_outputs = inputs.map((row) => row.map(() => 1));
      const backward = await postJson(app, '/v1/activations/rrelu/backward', { inputs, grad_outputs, params: { training: true, seed } });
      expect(backward.status).toBe(200);
      expect(backward.body.seed).toBe(seed);
      // With dy = 1, dx is the slope: y = x·dx exactly, element by element.
      const dx = backward.body.grad_inputs as number[][];
      inputs.forEach((row, r) =>
        row.forEach((x, c) => {
          expect(x * dx[r][c], `[${r}][${c}]`).toBe(outputs[r][c]);
          if (x < 0) {
            expect(dx[r][c]).toBeGreaterThanOrEqual(1 / 8);
            expect(dx[r][c]).toBeLessThanOrEqual(1 / 3);
          } else expect(dx[r][c]).toBe(1);
        }),
      );

      // The same seed sent to forward gives the same outputs; eval mode reports no seed.
      const again = await postJson(app, '/v1/activations/rrelu/forward', { inputs, params: { training: true, seed } });
      expect(again.body.outputs).toEqual(outputs);
      const evalMode = await postJson(app, '/v1/activations/rrelu/forward', { inputs });
      expect(evalMode.status).toBe(200);
      expect(evalMode.body).not.toHaveProperty('seed');
    });

    it('rrelu params out of range name the parameter', async () => {
      const res = await postJson(app, '/v1/activations/rrelu/forward', { inputs: [[1]], params: { lower: 0.5, upper: 0.25 } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ path: '/params/lower', message: 'lower must not exceed upper' }]);
    });
  });
}
