/**
 * Large bodies go to a worker as raw bytes (RAW_BODY_MIN_BYTES): parsed,
 * validated, computed and serialized there. Over HTTP that must be invisible:
 * the same bytes for a valid body, the same problem for an invalid one, as an
 * app that parses everything on the main thread. And the bytes cross the
 * thread boundary by transfer, both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testConfig } from '../../src/config.js';
import { createPool } from '../../src/plugins/compute.js';
import type { JsonOutcome, JsonTask } from '../../src/workers/compute-json.js';
import { build } from '../helpers/app.js';
import { parsePrometheus } from '../ops/prometheus.js';

/** Bodies of at least this many bytes take the raw path in `raw`; `parsed` never does. */
const THRESHOLD = 4096;
const LIMITS = { MAX_ELEMENTS: 100_000, BODY_LIMIT: 4 * 1024 * 1024 };

let raw: FastifyInstance;
let parsed: FastifyInstance;
/** Names of the pool tasks `raw` ran, in order. */
const tasks: string[] = [];

beforeAll(async () => {
  [raw, parsed] = await Promise.all([
    build({ ...LIMITS, RAW_BODY_MIN_BYTES: THRESHOLD, WORKERS: 2 }),
    // Everything on the main thread: Fastify parses, the batch runs inline.
    build({ ...LIMITS, RAW_BODY_MIN_BYTES: 0, INLINE_MAX_ELEMENTS: 1 << 30 }),
  ]);
  const run = raw.compute.pool.run.bind(raw.compute.pool);
  raw.compute.pool.run = ((task: unknown, options: { name: string }) => {
    tasks.push(options.name);
    return run(task, options);
  }) as typeof raw.compute.pool.run;
});
afterAll(async () => {
  await Promise.all([raw?.close(), parsed?.close()]);
});

const batch = (rows: number, cols: number, seed = 1): (number | string)[][] =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => Math.sin(seed * 1000 + r * 131 + c * 7.7) * 6));

/** Posts the same body text to both apps; returns both answers. */
async function both(url: string, payload: string, contentType = 'application/json') {
  const before = tasks.length;
  const send = (app: FastifyInstance) => app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload });
  const [a, b] = await Promise.all([send(raw), send(parsed)]);
  return { raw: a, parsed: b, rawTasks: tasks.slice(before) };
}

describe('a large valid body gives the same bytes as the main-thread path', () => {
  const inputs = batch(64, 96);
  const cases: [string, string, object][] = [
    ['sigmoid', 'forward', { inputs }],
    ['sigmoid', 'backward', { inputs, grad_outputs: batch(64, 96, 2) }],
    ['gelu', 'forward', { inputs, params: { approximate: 'tanh' }, dtype: 'float32' }],
    ['gelu', 'backward', { inputs, grad_outputs: batch(64, 96, 3), dtype: 'float32' }],
    // Non-finite numbers as strings, both ways.
    ['relu', 'forward', { inputs: inputs.map((row, r) => (r === 5 ? ['NaN', 'Infinity', '-Infinity', ...row.slice(3)] : row)) }],
    // Learnable parameters: grad_params, per column.
    ['prelu', 'backward', { inputs, grad_outputs: batch(64, 96, 4), params: { alpha: Array.from({ length: 96 }, (_, c) => c / 100) } }],
    // A row function whose output is narrower than its input.
    ['glu', 'forward', { inputs }],
    // Extra body fields (targets) and a row-wise loss.
    ['softmax_cross_entropy', 'backward', { inputs, targets: Array.from({ length: 64 }, (_, r) => r % 96), grad_loss: Array.from({ length: 64 }, () => 0.5) }],
    // Response fields (the seed), given so both runs draw the same noise.
    ['noisy_relu', 'forward', { inputs, params: { training: true, std: 0.5, seed: 7 } }],
  ];

  for (const [name, op, body] of cases) {
    it(`${name} ${op}`, async () => {
      const payload = JSON.stringify(body);
      expect(payload.length).toBeGreaterThan(THRESHOLD);
      const res = await both(`/v1/activations/${name}/${op}`, payload);
      expect(res.rawTasks).toEqual(['json']);
      expect(res.raw.statusCode, res.raw.body.slice(0, 500)).toBe(200);
      expect(res.raw.headers['content-type']).toBe(res.parsed.headers['content-type']);
      expect(res.raw.headers['content-length']).toBe(res.parsed.headers['content-length']);
      expect(res.raw.body === res.parsed.body).toBe(true);
    });
  }

  it('a body just under the threshold is parsed on the main thread', async () => {
    const small = JSON.stringify({ inputs: batch(2, 8) });
    expect(small.length).toBeLessThan(THRESHOLD);
    const res = await both('/v1/activations/sigmoid/forward', small);
    expect(res.rawTasks).toEqual([]);
    expect(res.raw.body).toBe(res.parsed.body);
  });
});

describe('a large invalid body gives the same problem as the main-thread path', () => {
  const big = batch(64, 96);
  const text = (v: unknown) => JSON.stringify(v);
  const cases: [string, string, string][] = [
    ['ragged', 'relu/forward', text({ inputs: [...big, [1, 2, 3]] })],
    ['a wrong type deep inside', 'relu/forward', text({ inputs: big.map((row, r) => (r === 40 ? [...row.slice(0, 9), 'nan', ...row.slice(10)] : row)) })],
    ['bad params', 'gelu/forward', text({ inputs: big, params: { approximate: 'erf' } })],
    ['an unknown params key', 'gelu/forward', text({ inputs: big, params: { approximat: 'tanh' } })],
    ['an unknown body key', 'relu/forward', text({ inputs: big, extra: true })],
    ['a bad dtype', 'relu/forward', text({ inputs: big, dtype: 'float16' })],
    ['params that do not fit the batch', 'prelu/forward', text({ inputs: big, params: { alpha: [0.1, 0.2] } })],
    ['grad_outputs of the wrong shape', 'sigmoid/backward', text({ inputs: big, grad_outputs: big.slice(1) })],
    ['a missing grad_outputs', 'sigmoid/backward', text({ inputs: big })],
    // The worker checks plain batches by hand and zod the rest: errors elsewhere must come out as zod gives them.
    ['several errors beside a plain batch', 'gelu/forward', text({ extra: 1, inputs: big, dtype: 'float16', params: { approximate: 'erf' } })],
    ['a plain batch beside a ragged one', 'sigmoid/backward', text({ inputs: big, grad_outputs: [...big.slice(1), [1]], params: { x: 1 } })],
    ['a plain batch beside empty rows', 'sigmoid/backward', text({ inputs: big, grad_outputs: big.map(() => []) })],
    ['malformed JSON', 'relu/forward', text({ inputs: big }).slice(0, -3)],
    ['not an object', 'relu/forward', text(big)],
    ['prototype poisoning', 'relu/forward', `{"inputs":${text(big)},"__proto__":{"polluted":true}}`],
    ['constructor poisoning', 'relu/forward', `{"inputs":${text(big)},"constructor":{"prototype":{"polluted":true}}}`],
    // The worker skips secure-json-parse's scans when no key could match them, and reads ASCII bodies as latin1.
    ['prototype poisoning, the key escaped', 'relu/forward', `{"inputs":${text(big)},"\\u005f_proto__":{"polluted":true}}`],
    ['constructor poisoning, the key escaped', 'relu/forward', `{"inputs":${text(big)},"\\u0063onstructor":{"prototype":{"polluted":true}}}`],
    ['a key that is not ASCII', 'relu/forward', text({ inputs: big, grüße: 1 })],
    ['more numbers than MAX_ELEMENTS', 'relu/forward', text({ inputs: batch(1100, 96) })],
    // From an audit: 1e999 parses to Infinity, which a plain batch let through where zod refuses it.
    ['a number beyond the doubles', 'relu/forward', text({ inputs: big }).replace(/^\{"inputs":\[\[[^,]+/, '{"inputs":[[1e999')],
    ['a number beyond the doubles in grad_outputs', 'sigmoid/backward', text({ inputs: big, grad_outputs: big }).replace(/"grad_outputs":\[\[[^,]+/, '"grad_outputs":[[-1e999')],
    // Every issue was listed: a 60 KB body got a 2.4 MB answer. Now the first 100 and the count.
    ['more invalid entries than are listed', 'relu/forward', text({ inputs: [Array.from({ length: 2000 }, (_, i) => (i % 2 ? '' : 1))] })],
    // maxout's units come from its weights: 50 rows of one number asked for 100 050 outputs.
    ['an answer over MAX_ELEMENTS', 'maxout/forward', text({ inputs: batch(50, 1), params: { pieces: 1, weight: [[Array.from({ length: 2001 }, () => 1)]] } })],
    ['grad_outputs over MAX_ELEMENTS', 'sigmoid/backward', text({ inputs: big, grad_outputs: batch(1100, 96) })],
  ];

  for (const [what, route, payload] of cases) {
    it(what, async () => {
      expect(payload.length).toBeGreaterThan(THRESHOLD);
      const res = await both(`/v1/activations/${route}`, payload);
      expect(res.rawTasks).toEqual(['json']);
      expect(res.raw.statusCode).toBe(res.parsed.statusCode);
      expect(res.raw.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.raw.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(res.raw.json()).toEqual(res.parsed.json());
    });
  }

  it('the error list is capped at 100, with the count of all in the detail', async () => {
    const res = await both('/v1/activations/relu/forward', text({ inputs: [Array.from({ length: 2000 }, (_, i) => (i % 2 ? '' : 1))] }));
    const body = res.raw.json();
    expect(body.errors).toHaveLength(100);
    expect(body.detail).toMatch(/^The request body is invalid \(1000 problems, the first 100 listed\): \/inputs\/0\/1: /);
  });

  it('an unknown activation is a 404 before its body is read, malformed or not, large or small', async () => {
    for (const payload of [text({ inputs: big }).slice(0, -3), '{bad', `{"inputs":${text(big)},"__proto__":{}}`]) {
      const res = await both('/v1/activations/nope/forward', payload);
      expect(res.rawTasks).toEqual([]);
      for (const r of [res.raw, res.parsed]) {
        expect(r.statusCode).toBe(404);
        expect(r.json().code).toBe('ACT_ERR_UNKNOWN_ACTIVATION');
      }
    }
  });

  it('a row of more invalid entries than zod can gather (500 000) is a 400 listing the first 100, not a failed worker', async () => {
    const roomy = await build({ RAW_BODY_MIN_BYTES: THRESHOLD, MAX_ELEMENTS: 1_000_000, BODY_LIMIT: 4 * 1024 * 1024 });
    try {
      const payload = text({ inputs: [Array.from({ length: 500_000 }, () => '')] });
      const res = await roomy.inject({ method: 'POST', url: '/v1/activations/relu/forward', headers: { 'content-type': 'application/json' }, payload });
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(body.detail).toMatch(/^The request body is invalid \(500000 problems, the first 100 listed\)/);
      expect(body.errors).toHaveLength(100);
      expect(body.errors[99]).toEqual({ path: '/inputs/0/99', message: 'expected a finite number or one of the strings "NaN", "Infinity", "-Infinity"' });
    } finally {
      await roomy.close();
    }
  });

  it('an answer large enough goes to the pool though its inputs are few', async () => {
    // 10 rows of one number, 1700 units: 17 000 outputs, over INLINE_MAX_ELEMENTS (16 384); a body under THRESHOLD.
    const payload = text({ inputs: batch(10, 1), params: { pieces: 1, weight: [[Array.from({ length: 1700 }, () => 1)]] } });
    expect(payload.length).toBeLessThan(THRESHOLD);
    const res = await both('/v1/activations/maxout/forward', payload);
    expect(res.rawTasks).toEqual(['forward']);
    expect(res.raw.statusCode).toBe(200);
    expect(res.raw.body).toBe(res.parsed.body);
  });

  it('after all these the raw path still answers correctly', async () => {
    const res = await both('/v1/activations/relu/forward', text({ inputs: big }));
    expect(res.raw.statusCode).toBe(200);
    expect(res.raw.body).toBe(res.parsed.body);
  });
});

describe('the request log and the metrics see the raw path as pooled', () => {
  it('counts the computation as pool, with its elements', async () => {
    const payload = JSON.stringify({ inputs: batch(50, 100) });
    expect((await raw.inject({ method: 'POST', url: '/v1/activations/tanh/forward', headers: { 'content-type': 'application/json' }, payload })).statusCode).toBe(200);
    const samples = parsePrometheus((await raw.inject('/metrics')).body);
    const find = (name: string) =>
      samples.find((s) => s.name === name && s.labels.activation === 'tanh' && s.labels.operation === 'forward' && s.labels.placement === 'pool')?.value;
    expect(find('activation_computations_total')).toBe(1);
    expect(find('activation_elements_total')).toBe(5000);
  });
});

describe('the raw bytes cross the thread boundary by transfer', () => {
  it('detaches the body on the way in and hands back a transferred answer', async () => {
    const pool = createPool(testConfig({ WORKERS: 1 }));
    try {
      const body = new TextEncoder().encode(JSON.stringify({ inputs: [[-1, 0, 2]] })).buffer as ArrayBuffer;
      const task: JsonTask = { activation: 'relu', operation: 'forward', body, maxElements: 100 };
      const pending = pool.run(task, { name: 'json', transferList: [body] }) as Promise<JsonOutcome>;
      // Transferred, not cloned: the main thread's buffer is now detached.
      expect(body.byteLength).toBe(0);
      const outcome = await pending;
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      // The answer is a Uint8Array alone on its ArrayBuffer, as a transfer leaves it.
      expect(outcome.json.byteLength).toBe(outcome.json.buffer.byteLength);
      expect(JSON.parse(Buffer.from(outcome.json).toString())).toEqual({ activation: 'relu', dtype: 'float64', shape: [1, 3], outputs: [[0, 0, 2]] });
      expect(outcome.shape).toEqual([1, 3]);
    } finally {
      await pool.close();
    }
  });

  it('the app hands the request body over by transfer', async () => {
    const seen: number[] = [];
    const run = raw.compute.pool.run.bind(raw.compute.pool);
    raw.compute.pool.run = ((task: { body?: ArrayBuffer }, options: object) => {
      const promise = run(task, options);
      if (task.body) seen.push(task.body.byteLength);
      return promise;
    }) as typeof raw.compute.pool.run;
    try {
      const payload = JSON.stringify({ inputs: batch(32, 64) });
      const res = await raw.inject({ method: 'POST', url: '/v1/activations/relu/forward', headers: { 'content-type': 'application/json' }, payload });
      expect(res.statusCode).toBe(200);
      expect(seen).toEqual([0]);
    } finally {
      raw.compute.pool.run = run;
    }
  });
});
