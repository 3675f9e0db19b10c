/**
 * The routes besides the errors: compute with non-finite numbers and float32,
 * the catalog, health and readiness, the docs and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { activations } from '../../src/core/activations/index.js';
import { build, postJson } from '../helpers/app.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await build();
});
afterAll(async () => {
  await app.close();
});

describe('compute', () => {
  it('gelu of the README example is exact, the far tail included', async () => {
    const res = await postJson(app, '/v1/activations/gelu/forward', { inputs: [[-30, -1, 0, 1, 30]] });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    // Correctly rounded values from mpmath at 60 digits; gelu(-30) is about -1.47e-196, not 0.
    expect(res.body).toEqual({
      activation: 'gelu',
      dtype: 'float64',
      shape: [1, 5],
      outputs: [[-1.472014178144456e-196, -0.15865525393145705, 0, 0.8413447460685429, 30]],
    });
  });

  it('"NaN", "Infinity" and "-Infinity" strings go in and come out', async () => {
    const res = await postJson(app, '/v1/activations/sigmoid/forward', { inputs: [['NaN', 'Infinity', '-Infinity', 0]] });
    expect(res.body.outputs).toEqual([['NaN', 1, 0, 0.5]]);
    const relu = await postJson(app, '/v1/activations/relu/forward', { inputs: [['Infinity', '-Infinity', 'NaN']] });
    expect(relu.body.outputs).toEqual([['Infinity', 0, 'NaN']]);
    const back = await postJson(app, '/v1/activations/relu/backward', {
      inputs: [[1, -1, 'NaN']],
      grad_outputs: [['Infinity', 'Infinity', 1]],
    });
    expect(back.body.grad_inputs).toEqual([['Infinity', 0, 'NaN']]);
  });

  it('float32 results are float32 values', async () => {
    const res = await postJson(app, '/v1/activations/sigmoid/forward', { inputs: [[0.1, 1, 2]], dtype: 'float32' });
    expect(res.body.dtype).toBe('float32');
    for (const v of res.body.outputs[0] as number[]) expect(Math.fround(v)).toBe(v);
    // sigmoid(fround(0.1)) rounded once to float32.
    expect(res.body.outputs[0][0]).toBe(Math.fround(1 / (1 + Math.exp(-Math.fround(0.1)))));
  });

  it('softmax works on each row', async () => {
    const res = await postJson(app, '/v1/activations/softmax/forward', { inputs: [[0, 0], [1000, 1000], [1.0986122886681098, 0]] });
    // Exact values from mpmath. 1.0986122886681098 is log 3 correctly rounded (V8's Math.log(3) is one ULP
    // below it); it is just above log 3, so the second output is just under 1/4.
    expect(res.body.outputs).toEqual([[0.5, 0.5], [0.5, 0.5], [0.75, 0.24999999999999997]]);
  });

  it('a response carries the request id, and echoes one the client sent', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
    const fresh = await app.inject({ method: 'GET', url: '/healthz' });
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('catalog', () => {
  it('lists every registered activation with its metadata', async () => {
    const res = await app.inject('/v1/activations');
    expect(res.statusCode).toBe(200);
    const catalog = res.json();
    expect(catalog.count).toBe(activations.length);
    expect(catalog.activations.map((a: { name: string }) => a.name)).toEqual(activations.map((a) => a.name));
  });

  it('serves one entry with parameters, defaults, TeX and properties', async () => {
    const res = await app.inject('/v1/activations/gelu');
    expect(res.statusCode).toBe(200);
    const gelu = res.json();
    expect(gelu).toMatchObject({
      name: 'gelu',
      kind: 'elementwise',
      learnable: [],
      properties: { zero_centred: false, monotonic: false, smooth: true, bounded: false },
      routes: { forward: '/v1/activations/gelu/forward', backward: '/v1/activations/gelu/backward' },
    });
    expect(gelu.formula).toContain('\\Phi');
    expect(gelu.parameters.properties.approximate).toMatchObject({ default: 'none', enum: ['none', 'tanh', 'sigmoid'] });
    expect(gelu.parameters.additionalProperties).toBe(false);
    expect(gelu.pros.length).toBeGreaterThan(0);
    expect(gelu.cons.length).toBeGreaterThan(0);
    const softmax = (await app.inject('/v1/activations/softmax')).json();
    expect(softmax).toMatchObject({ kind: 'row', range: [0, 1] });
  });
});

describe('operations', () => {
  it('healthz and readyz answer ok', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok' });
  });

  it('serves Swagger UI at /docs and the OpenAPI 3.1 document at /openapi.json', async () => {
    const docs = await app.inject('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    expect(docs.body).toContain('swagger-ui');
    const doc = (await app.inject('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const def of activations) {
      expect(doc.paths[`/v1/activations/${def.name}/forward`].post.operationId).toBe(`${def.name}_forward`);
      expect(doc.paths[`/v1/activations/${def.name}/backward`].post.operationId).toBe(`${def.name}_backward`);
    }
  });
});
