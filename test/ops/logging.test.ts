/**
 * The request log: exactly one structured line per request, written when the
 * answer is finished, with the request id (the one echoed in x-request-id),
 * method, route, activation, operation, batch shape, placement, status and
 * duration; Fastify's own pair of lines is off; no line ever carries the
 * numbers of a batch or the Authorization header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build, logCapture } from '../helpers/app.js';
import { CRASH } from '../workers/faulty.worker.js';


const API_KEY = 'a-key-of-twenty-characters';
// Numbers nobody else would log: if any of them shows up in a log line, a vector leaked.
const MARKERS = [1234.5678125, -9876.54321, 4242.4242];

describe('request log', () => {
  let app: FastifyInstance;
  const { stream, text, lines, linesOf: forRequest } = logCapture();

  beforeAll(async () => {
    app = await build(
      { LOG_LEVEL: 'info', INLINE_MAX_ELEMENTS: 6, WORKERS: 1, API_KEY },
      { logStream: stream },
    );
  });
  afterAll(async () => {
    await app.close();
  });

  const auth = { authorization: `Bearer ${API_KEY}` };

  it("keeps a client's request id when it is printable ASCII of at most 128 characters, else gives its own", async () => {
    const idOf = async (id: string) =>
      (await app.inject({ url: '/healthz', headers: { 'x-request-id': id } })).headers['x-request-id'] as string;
    const longest = 'a'.repeat(128);
    expect(await idOf(longest)).toBe(longest);
    expect(await idOf('trace:0af7651916cd43dd8448eb211c80319c')).toBe('trace:0af7651916cd43dd8448eb211c80319c');
    for (const odd of ['a'.repeat(129), 'two\twords', 'with space', 'grüße']) {
      expect(await idOf(odd), odd).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('writes one line per request, with id, route, activation, shape, placement, status and duration', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/activations/gelu/forward',
      headers: { ...auth, 'x-request-id': 'req-inline-1' },
      payload: { inputs: [[MARKERS[0], 0, 1], [MARKERS[1], 2, 3]], params: { approximate: 'tanh' } },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('req-inline-1');

    const mine = forRequest('req-inline-1');
    expect(mine).toHaveLength(1);
    const [line] = mine;
    expect(line).toMatchObject({
      level: 30,
      msg: 'request completed',
      reqId: 'req-inline-1',
      method: 'POST',
      url: '/v1/activations/gelu/forward',
      route: '/v1/activations/gelu/forward',
      activation: 'gelu',
      operation: 'forward',
      shape: [2, 3],
      placement: 'inline',
      status: 200,
    });
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs as number).toBeGreaterThan(0);
    // Fastify's own "incoming request" / "request completed" pair is off.
    expect(lines().filter((l) => l.msg === 'incoming request')).toEqual([]);
    expect(lines().filter((l) => 'res' in l || 'req' in l)).toEqual([]);
  });

  it('says when a batch ran in the pool, and gives a generated id when the client sent none', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/activations/sigmoid/backward',
      headers: auth,
      payload: { inputs: [[MARKERS[2], 1, 2, 3], [4, 5, 6, 7]], grad_outputs: [[1, 1, 1, 1], [1, 1, 1, 1]] },
    });
    expect(response.statusCode).toBe(200);
    const id = response.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(forRequest(id)).toEqual([
      expect.objectContaining({ reqId: id, activation: 'sigmoid', operation: 'backward', shape: [2, 4], placement: 'pool', status: 200 }),
    ]);
  });

  it('logs errors once too, with their problem code, and 5xx as warnings', async () => {
    const ragged = await app.inject({
      method: 'POST',
      url: '/v1/activations/relu/forward',
      headers: { ...auth, 'x-request-id': 'req-ragged' },
      payload: { inputs: [[MARKERS[0], 1], [2]] },
    });
    expect(ragged.statusCode).toBe(400);
    expect(forRequest('req-ragged')).toEqual([
      expect.objectContaining({ status: 400, code: 'ACT_ERR_VALIDATION', activation: 'relu', shape: [2, 2], level: 30 }),
    ]);
    expect(forRequest('req-ragged')[0]).not.toHaveProperty('placement');

    const noKey = await app.inject({ method: 'POST', url: '/v1/activations/relu/forward', headers: { 'x-request-id': 'req-nokey' }, payload: { inputs: [[1]] } });
    expect(noKey.statusCode).toBe(401);
    expect(forRequest('req-nokey')).toEqual([expect.objectContaining({ status: 401, code: 'ACT_ERR_UNAUTHORIZED' })]);

    const missing = await app.inject({ url: '/nowhere?secret=1', headers: { 'x-request-id': 'req-404' } });
    expect(missing.statusCode).toBe(404);
    expect(forRequest('req-404')).toEqual([expect.objectContaining({ route: 'unmatched', url: '/nowhere', status: 404, code: 'ACT_ERR_NOT_FOUND' })]);

    // /v2 errors are {"error"} bodies, and their lines name the problem's code too.
    await app.inject({ method: 'POST', url: '/v2/models/nosuch/infer', headers: { ...auth, 'x-request-id': 'req-v2-unknown' }, payload: '{}' });
    expect(forRequest('req-v2-unknown')).toEqual([expect.objectContaining({ status: 404, code: 'ACT_ERR_UNKNOWN_ACTIVATION' })]);

    // Answered while routing, where no onResponse hook runs: logged all the same (they were not).
    await app.inject({ url: '/v1/activations/%E0%A4%A', headers: { 'x-request-id': 'req-bad-url' } });
    expect(forRequest('req-bad-url')).toEqual([expect.objectContaining({ route: 'unmatched', status: 400, code: 'ACT_ERR_VALIDATION' })]);
    await app.inject({ url: `/v1/activations/${'a'.repeat(200)}`, headers: { 'x-request-id': 'req-long-name' } });
    expect(forRequest('req-long-name')).toEqual([expect.objectContaining({ route: 'unmatched', status: 414, code: 'ACT_ERR_URI_TOO_LONG' })]);
  });

  it('operations routes are logged the same way', async () => {
    await app.inject({ url: '/healthz', headers: { 'x-request-id': 'req-health' } });
    expect(forRequest('req-health')).toEqual([expect.objectContaining({ method: 'GET', route: '/healthz', status: 200 })]);
    expect(forRequest('req-health')[0]).not.toHaveProperty('activation');
  });

  it('never logs the numbers of a batch or the API key', () => {
    const all = text();
    expect(all.length).toBeGreaterThan(0);
    for (const marker of MARKERS) expect(all).not.toContain(String(marker));
    expect(all).not.toContain(API_KEY);
    expect(all.toLowerCase()).not.toContain('authorization');
  });
});

describe('request log at LOG_LEVEL=warn', () => {
  it('writes nothing for a request that succeeds, and the whole warning for a 5xx', async () => {
    const { stream, lines, linesOf } = logCapture();
    const app = await build(
      { LOG_LEVEL: 'warn', INLINE_MAX_ELEMENTS: 0, WORKERS: 1 },
      { logStream: stream, workerFile: new URL('../workers/faulty.worker.ts', import.meta.url) },
    );
    try {
      const ok = await app.inject({ method: 'POST', url: '/v1/activations/relu/forward', headers: { 'x-request-id': 'req-quiet' }, payload: { inputs: [[1, 2]] } });
      expect(ok.statusCode).toBe(200);
      const crashed = await app.inject({
        method: 'POST',
        url: '/v1/activations/relu/forward',
        headers: { 'x-request-id': 'req-crash' },
        payload: { inputs: [[CRASH, 2]] },
      });
      expect(crashed.statusCode).toBe(500);
      expect(linesOf('req-quiet')).toEqual([]);
      expect(lines().filter((l) => l.msg === 'request failed')).toEqual([
        expect.objectContaining({ level: 40, reqId: 'req-crash', route: '/v1/activations/relu/forward', activation: 'relu', shape: [1, 2], status: 500 }),
      ]);
    } finally {
      await app.close();
    }
  });
});
