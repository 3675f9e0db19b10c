/**
 * The row functions over HTTP: softmax_cross_entropy's extra body fields
 * (targets; grad_loss or grad_outputs or neither for backward), maxout's
 * parameter gradients, and the shape checks as full problem bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build, postJson } from '../helpers/app.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await build();
});
afterAll(async () => {
  await app.close();
});

const validation = (path: string, message: string, detail = `${path}: ${message}`) => ({
  type: 'https://activation-service.dev/problems/validation',
  title: 'Invalid request',
  status: 400,
  code: 'ACT_ERR_VALIDATION',
  detail,
  errors: [{ path, message }],
});

describe('softmax_cross_entropy', () => {
  const url = '/v1/activations/softmax_cross_entropy';
  // Expected values: mpmath at 1200 digits, correctly rounded.
  const inputs = [[0.5, -1.25, 3, 2.75], [0, -720, 0, -720]];

  it('forward takes targets as a top-level field and returns one loss per row', async () => {
    const res = await postJson(app, `${url}/forward`, { inputs, targets: [1, 0] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ activation: 'softmax_cross_entropy', dtype: 'float64', shape: [2, 1], outputs: [[4.878688664544174], [0.6931471805599453]] });
  });

  it('forward takes probability rows as targets', async () => {
    const res = await postJson(app, `${url}/forward`, { inputs: [[0.5, -1.25, 3, 2.75]], targets: [[0.25, 0, 0.5, 0.25]] });
    expect(res.body.outputs).toEqual([[1.3161886645441738]]);
  });

  it('backward with grad_loss, with grad_outputs [rows][1], and with neither (dloss = 1)', async () => {
    const body = { inputs: [[0.5, -1.25, 3, 2.75]], targets: [1] };
    const want = [[0.02188758177767589, -0.4961965086018992, 0.2666453328209399, 0.20766359400328338]];
    const viaGradLoss = await postJson(app, `${url}/backward`, { ...body, grad_loss: [0.5] });
    expect(viaGradLoss.status).toBe(200);
    expect(viaGradLoss.body).toEqual({ activation: 'softmax_cross_entropy', dtype: 'float64', shape: [1, 4], grad_inputs: want });
    const viaGradOutputs = await postJson(app, `${url}/backward`, { ...body, grad_outputs: [[0.5]] });
    expect(viaGradOutputs.body.grad_inputs).toEqual(want);
    const neither = await postJson(app, `${url}/backward`, body);
    expect(neither.status).toBe(200);
    expect(neither.body.grad_inputs).toEqual([want[0].map((v) => 2 * v)]);
  });

  it('grad_loss takes JSON strings for non-finite values', async () => {
    const res = await postJson(app, `${url}/backward`, { inputs: [[1, 2], [3, 4]], targets: [0, 1], grad_loss: [0, 'NaN'] });
    expect(res.body.grad_inputs).toEqual([[0, 0], ['NaN', 'NaN']]);
  });

  it('a confident right answer keeps its subnormal loss and gradient', async () => {
    const res = await postJson(app, `${url}/backward`, { inputs: [[0, -720]], targets: [0] });
    expect(res.body.grad_inputs).toEqual([[-2.0322308024e-313, 2.0322308024e-313]]);
  });

  it('targets of the wrong length are a 400 naming /targets', async () => {
    const res = await postJson(app, `${url}/forward`, { inputs, targets: [1] });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(validation('/targets', 'expected one target per row (2), got 1'));
  });

  it('a class index out of range, a bad probability row and missing targets are 400s', async () => {
    const outOfRange = await postJson(app, `${url}/forward`, { inputs, targets: [1, 4] });
    expect(outOfRange.body).toEqual(validation('/targets/1', 'class index 4 is out of range for rows of 4 logits (0 … 3)'));
    const notADistribution = await postJson(app, `${url}/forward`, { inputs: [[1, 2]], targets: [[0.5, 0.6]] });
    expect(notADistribution.body).toEqual(validation('/targets/0', 'a probability row must sum to 1 (within 0.000001), this one sums to 1.1'));
    const missing = await postJson(app, `${url}/forward`, { inputs });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([
      { path: '/targets', message: 'expected one class index per row (an integer ≥ 0) or one probability row per row (an array of numbers)' },
    ]);
  });

  it('grad_loss of the wrong length is a 400 naming /grad_loss; grad_loss is not a forward field', async () => {
    const res = await postJson(app, `${url}/backward`, { inputs, targets: [1, 0], grad_loss: [1] });
    expect(res.body).toEqual(validation('/grad_loss', 'expected one number per row (2), got 1'));
    const forward = await postJson(app, `${url}/forward`, { inputs, targets: [1, 0], grad_loss: [1, 1] });
    expect(forward.status).toBe(400);
  });
});

describe('glu', () => {
  it('halves the width', async () => {
    const res = await postJson(app, '/v1/activations/glu/forward', { inputs: [[2, 3, 0, 'Infinity']], params: { activation: 'sigmoid' } });
    expect(res.body).toEqual({ activation: 'glu', dtype: 'float64', shape: [1, 2], outputs: [[1, 3]] });
  });

  it('an odd width is a 400 problem naming /inputs', async () => {
    const res = await postJson(app, '/v1/activations/glu/forward', { inputs: [[1, 2, 3]], params: { activation: 'swish', beta: 0.5 } });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toEqual(validation('/inputs', 'glu splits each row into two halves, so the row width must be even; it is 3'));
  });

  it('an unknown gate is a 400 naming the parameter', async () => {
    const res = await postJson(app, '/v1/activations/glu/forward', { inputs: [[1, 2]], params: { activation: 'tanh' } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('/params/activation');
  });
});

describe('maxout', () => {
  const params = { pieces: 2, weight: [[[1], [0], [0]], [[0], [1], [0]]], bias: [[0], [0.5]] };

  it('with weights, backward returns dx and grad_params summed over the batch', async () => {
    const res = await postJson(app, '/v1/activations/maxout/backward', {
      inputs: [[1, 2, 3], [5, 1, 0]],
      params,
      grad_outputs: [[2], [10]],
    });
    expect(res.status).toBe(200);
    // Row 0: piece 1 wins (2.5 > 1); row 1: piece 0 wins (5 > 1.5).
    expect(res.body).toEqual({
      activation: 'maxout',
      dtype: 'float64',
      shape: [2, 3],
      grad_inputs: [[0, 2, 0], [10, 0, 0]],
      grad_params: { weight: [[[50], [10], [0]], [[2], [4], [6]]], bias: [[10], [2]] },
    });
    const forward = await postJson(app, '/v1/activations/maxout/forward', { inputs: [[1, 2, 3], [5, 1, 0]], params });
    expect(forward.body.outputs).toEqual([[2.5], [5]]);
  });

  it('without weights, a width not divisible by pieces is a 400 naming /inputs', async () => {
    const res = await postJson(app, '/v1/activations/maxout/forward', { inputs: [[1, 2, 3]], params: { pieces: 2 } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(validation('/inputs', 'without weights the row width must be divisible by pieces = 2; it is 3'));
  });

  it('weights of the wrong shape are a 400 naming the parameter', async () => {
    const res = await postJson(app, '/v1/activations/maxout/forward', { inputs: [[1, 2]], params });
    expect(res.body).toEqual(validation('/params/weight/0', 'expected 2 rows (one per input column), got 3'));
  });

  it('pieces is required', async () => {
    const res = await postJson(app, '/v1/activations/maxout/forward', { inputs: [[1, 2]] });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('/params/pieces');
  });
});

describe('hardmax, log_softmax and softmin', () => {
  it('answer per row, with non-finite numbers as strings', async () => {
    const hard = await postJson(app, '/v1/activations/hardmax/forward', { inputs: [[3, 3, 1], ['NaN', 0, 0]] });
    expect(hard.body.outputs).toEqual([[1, 0, 0], ['NaN', 'NaN', 'NaN']]);
    const logs = await postJson(app, '/v1/activations/log_softmax/forward', { inputs: [[1000, 0, -1000, '-Infinity']] });
    expect(logs.body.outputs).toEqual([[0, -1000, -2000, '-Infinity']]);
    const soft = await postJson(app, '/v1/activations/softmin/forward', { inputs: [[0, 720]] });
    expect(soft.body.outputs).toEqual([[1, 2.0322308024e-313]]);
  });
});
