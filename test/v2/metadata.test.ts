/**
 * Server and model metadata, health and readiness under /v2, read from the
 * registry: every activation is a model, and `<name>.backward` its backward.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { activations } from '../../src/core/activations/index.js';
import { isReservedParameter } from '../../src/routes/v2/infer.js';
import { build } from '../helpers/app.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await build();
});
afterAll(async () => {
  await app.close();
});

const get = async (url: string) => {
  const res = await app.inject(url);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  return { status: res.statusCode, body: res.json() };
};

describe('server', () => {
  it('metadata names the binary data extension', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    expect(await get('/v2')).toEqual({ status: 200, body: { name: 'activation-service', version: pkg.version, extensions: ['binary_tensor_data'] } });
  });

  it('is live and ready', async () => {
    expect(await get('/v2/health/live')).toEqual({ status: 200, body: { live: true } });
    expect(await get('/v2/health/ready')).toEqual({ status: 200, body: { ready: true } });
  });
});

describe('models', () => {
  it('every activation is a model and has a backward model, with the tensors of its definition', async () => {
    for (const def of activations) {
      const forward = await get(`/v2/models/${def.name}`);
      expect(forward.status).toBe(200);
      expect(forward.body).toMatchObject({ name: def.name, versions: ['1'], platform: 'activation-service' });
      expect(forward.body.inputs[0]).toEqual({ name: 'input', datatype: 'FP64', shape: [-1, -1] });
      expect(forward.body.inputs.map((i: { name: string }) => i.name)).toEqual(['input', ...Object.keys(def.bodyFields ?? {})]);
      expect(forward.body.outputs.map((o: { name: string }) => o.name)).toEqual(['output']);

      const backward = await get(`/v2/models/${def.name}.backward`);
      expect(backward.status).toBe(200);
      expect(backward.body.inputs.map((i: { name: string }) => i.name)).toEqual([
        'input',
        'grad_output',
        ...Object.keys({ ...def.bodyFields, ...def.backwardBodyFields }),
      ]);
      expect(backward.body.outputs.map((o: { name: string }) => o.name)).toEqual(['grad_input', ...def.learnable.map((p) => `grad_${p}`)]);
      for (const t of [...backward.body.inputs, ...backward.body.outputs]) expect(t.shape.every((d: number) => d === -1 || d > 0)).toBe(true);

      expect(await get(`/v2/models/${def.name}/ready`)).toEqual({ status: 200, body: { name: def.name, ready: true } });
      expect((await get(`/v2/models/${def.name}.backward/versions/1`)).body).toEqual(backward.body);
    }
  });

  it('shapes: -1 where a dimension varies, fixed where the definition fixes it', async () => {
    const sce = (await get('/v2/models/softmax_cross_entropy')).body;
    expect(sce.outputs).toEqual([{ name: 'output', datatype: 'FP64', shape: [-1, 1] }]);
    expect(sce.inputs).toContainEqual({ name: 'targets', datatype: 'INT64', shape: [-1] });
    const sceBackward = (await get('/v2/models/softmax_cross_entropy.backward')).body;
    expect(sceBackward.inputs).toContainEqual({ name: 'grad_output', datatype: 'FP64', shape: [-1, 1] });
    expect(sceBackward.inputs).toContainEqual({ name: 'grad_loss', datatype: 'FP64', shape: [-1] });
    expect((await get('/v2/models/glu')).body.outputs).toEqual([{ name: 'output', datatype: 'FP64', shape: [-1, -1] }]);
    expect((await get('/v2/models/swish.backward')).body.outputs).toEqual([
      { name: 'grad_input', datatype: 'FP64', shape: [-1, -1] },
      { name: 'grad_beta', datatype: 'FP64', shape: [1] },
    ]);
    expect((await get('/v2/models/maxout.backward')).body.outputs).toEqual([
      { name: 'grad_input', datatype: 'FP64', shape: [-1, -1] },
      { name: 'grad_weight', datatype: 'FP64', shape: [-1, -1, -1] },
      { name: 'grad_bias', datatype: 'FP64', shape: [-1, -1] },
    ]);
  });

  it('an unknown model is 404 {"error"} with the closest names, on every route', async () => {
    const metadata = await get('/v2/models/sigmod');
    expect(metadata).toEqual({
      status: 404,
      body: { error: 'There is no model "sigmod". Did you mean "sigmoid"? Every activation of GET /v1/activations is a model, and "<name>.backward" its backward pass.' },
    });
    expect((await get('/v2/models/sigmod.backward')).body.error).toMatch(/Did you mean "sigmoid.backward"\?/);
    expect((await get('/v2/models/sigmod/ready')).status).toBe(404);
    const infer = await app.inject({ method: 'POST', url: '/v2/models/sigmod/infer', payload: '{"inputs": []}' });
    expect(infer.statusCode).toBe(404);
    expect(infer.json()).toEqual(metadata.body);
  });

  it('version 1 is the only version', async () => {
    expect((await get('/v2/models/relu/versions/1')).body).toEqual((await get('/v2/models/relu')).body);
    expect(await get('/v2/models/relu/versions/2')).toEqual({ status: 404, body: { error: 'Model "relu" has no version "2"; its only version is "1".' } });
    const infer = await app.inject({
      method: 'POST',
      url: '/v2/models/relu/versions/1/infer',
      payload: JSON.stringify({ inputs: [{ name: 'input', shape: [2], datatype: 'FP64', data: [-1, 1] }] }),
    });
    expect(infer.json().outputs[0]).toEqual({ name: 'output', datatype: 'FP64', shape: [2], data: [0, 1] });
    expect((await app.inject({ method: 'POST', url: '/v2/models/relu/versions/3/infer', payload: '{}' })).statusCode).toBe(404);
  });
});

it("no activation parameter or field uses a name Triton's clients reserve", () => {
  for (const def of activations) {
    const names = [...Object.keys(def.params.shape), ...Object.keys(def.bodyFields ?? {}), ...Object.keys(def.backwardBodyFields ?? {})];
    expect(names.filter(isReservedParameter), def.name).toEqual([]);
  }
});
