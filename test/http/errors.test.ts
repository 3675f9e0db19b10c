/**
 * Every error status of API.md that applies, with full problem bodies:
 * application/problem+json, the catalogue's type and title, a detail that
 * names what is wrong, and never a stack trace.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build } from '../helpers/app.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await build({ BODY_LIMIT: 2048, MAX_ELEMENTS: 10 });
});
afterAll(async () => {
  await app.close();
});

async function send(url: string, payload: string | object, contentType = 'application/json', method: 'POST' | 'GET' = 'POST') {
  const response = await app.inject({
    method,
    url,
    headers: { 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(response.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  return { status: response.statusCode, body: response.json() };
}

const problem = (slug: string, title: string, status: number, code: string) => ({
  type: `https://activation-service.dev/problems/${slug}`,
  title,
  status,
  code,
});

describe('400', () => {
  it('malformed JSON', async () => {
    const res = await send('/v1/activations/relu/forward', '{"inputs": [[1, 2');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject(problem('malformed-json', 'Malformed JSON', 400, 'ACT_ERR_MALFORMED_JSON'));
    expect(res.body.detail).toMatch(/^The body is not valid JSON/);
  });

  it('an empty body', async () => {
    const res = await send('/v1/activations/relu/forward', '');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('ACT_ERR_MALFORMED_JSON');
  });

  it('a ragged batch names the first bad row', async () => {
    const res = await send('/v1/activations/relu/forward', { inputs: [[1, 2, 3], [4, 5, 6], [7, 8]] });
    expect(res).toEqual({
      status: 400,
      body: {
        ...problem('validation', 'Invalid request', 400, 'ACT_ERR_VALIDATION'),
        detail: 'The request body is invalid (1 problem): /inputs/2: ragged batch: row 2 has 2 numbers, row 0 has 3 numbers',
        errors: [{ path: '/inputs/2', message: 'ragged batch: row 2 has 2 numbers, row 0 has 3 numbers' }],
      },
    });
  });

  it('wrong shapes and wrong types name each place', async () => {
    const cases: [unknown, string][] = [
      [{}, '/inputs'],
      [{ inputs: [] }, '/inputs'],
      [{ inputs: [[]] }, '/inputs/0'],
      [{ inputs: [1, 2] }, '/inputs/0'],
      [{ inputs: [[1, 'nan']] }, '/inputs/0/1'],
      [{ inputs: [[1, null]] }, '/inputs/0/1'],
      [{ inputs: [[1]], dtype: 'float16' }, '/dtype'],
      [{ inputs: [[1]], extra: true }, '/'],
    ];
    for (const [body, path] of cases) {
      const res = await send('/v1/activations/relu/forward', body as object);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('ACT_ERR_VALIDATION');
      expect(res.body.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toContain(path);
    }
  });

  it('bad params name the parameter', async () => {
    const unknownKey = await send('/v1/activations/gelu/forward', { inputs: [[1]], params: { approximat: 'tanh' } });
    expect(unknownKey.status).toBe(400);
    expect(unknownKey.body.errors).toEqual([{ path: '/params', message: 'Unrecognized key: "approximat"' }]);

    const badValue = await send('/v1/activations/gelu/forward', { inputs: [[1]], params: { approximate: 'erf' } });
    expect(badValue.status).toBe(400);
    expect(badValue.body.errors).toEqual([
      { path: '/params/approximate', message: 'Invalid option: expected one of "none"|"tanh"|"sigmoid"' },
    ]);

    const paramsOnParamless = await send('/v1/activations/relu/forward', { inputs: [[1]], params: { alpha: 1 } });
    expect(paramsOnParamless.body.errors).toEqual([{ path: '/params', message: 'Unrecognized key: "alpha"' }]);
  });

  it('grad_outputs of the wrong shape', async () => {
    const res = await send('/v1/activations/sigmoid/backward', { inputs: [[1, 2, 3]], grad_outputs: [[1, 1]] });
    expect(res).toEqual({
      status: 400,
      body: {
        ...problem('validation', 'Invalid request', 400, 'ACT_ERR_VALIDATION'),
        detail: 'grad_outputs has shape [1,2] but the forward output has shape [1,3].',
        errors: [{ path: '/grad_outputs', message: 'expected shape [1,3], got [1,2]' }],
      },
    });
  });

  it('a missing grad_outputs on backward', async () => {
    const res = await send('/v1/activations/sigmoid/backward', { inputs: [[1, 2, 3]] });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('/grad_outputs');
  });
});

describe('404', () => {
  it('an unknown activation suggests the closest names', async () => {
    const res = await send('/v1/activations/sigmod/forward', { inputs: [[1]] });
    expect(res).toEqual({
      status: 404,
      body: {
        ...problem('unknown-activation', 'Unknown activation', 404, 'ACT_ERR_UNKNOWN_ACTIVATION'),
        detail: 'There is no activation "sigmod". Did you mean "sigmoid"? GET /v1/activations lists them all.',
        suggestions: ['sigmoid'],
      },
    });
    const backward = await send('/v1/activations/Gelu/backward', { inputs: [[1]], grad_outputs: [[1]] });
    expect(backward.status).toBe(404);
    // Case-insensitive: the exact name first, then up to two near ones.
    expect(backward.body.suggestions[0]).toBe('gelu');
    expect(backward.body.suggestions.length).toBeLessThanOrEqual(3);
    const catalog = await send('/v1/activations/softmaks', '', 'application/json', 'GET');
    expect(catalog.status).toBe(404);
    expect(catalog.body.suggestions).toEqual(['softmax']);
    const nothingClose = await send('/v1/activations/zzzzzzzzzz/forward', { inputs: [[1]] });
    expect(nothingClose.body.detail).toBe('There is no activation "zzzzzzzzzz". GET /v1/activations lists them all.');
  });

  // Under /v2 the answer is the protocol's {"error"} instead (test/v2/binary.test.ts).
  it('an unknown route', async () => {
    const res = await send('/v3/nothing', '', 'application/json', 'GET');
    expect(res).toEqual({
      status: 404,
      body: { ...problem('not-found', 'Not found', 404, 'ACT_ERR_NOT_FOUND'), detail: 'No route GET /v3/nothing.' },
    });
  });
});

describe('413', () => {
  it('a body over BODY_LIMIT states the limit', async () => {
    const res = await send('/v1/activations/relu/forward', { inputs: [Array.from({ length: 600 }, () => 1.5)] });
    expect(res).toEqual({
      status: 413,
      body: {
        ...problem('body-too-large', 'Request body too large', 413, 'ACT_ERR_BODY_TOO_LARGE'),
        detail: 'The body is larger than the limit of 2048 bytes (BODY_LIMIT).',
      },
    });
  });

  it('more numbers than MAX_ELEMENTS states the limit', async () => {
    const res = await send('/v1/activations/relu/forward', { inputs: [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]] });
    expect(res).toEqual({
      status: 413,
      body: {
        ...problem('too-many-elements', 'Too many elements', 413, 'ACT_ERR_TOO_MANY_ELEMENTS'),
        detail: 'inputs holds 12 numbers; the limit is 10 per request (MAX_ELEMENTS).',
      },
    });
  });
});

describe('415', () => {
  it('a content type the route does not take', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      const res = await send('/v1/activations/relu/forward', 'inputs=1', type);
      expect(res.status, type).toBe(415);
      expect(res.body).toMatchObject(problem('unsupported-media-type', 'Unsupported media type', 415, 'ACT_ERR_UNSUPPORTED_MEDIA_TYPE'));
      expect(res.body.detail).toBe(`This route takes application/json, not "${type}".`);
    }
  });

  // Both were read as UTF-8 JSON and answered as malformed JSON (an audit).
  it('a compressed body, or a charset other than UTF-8', async () => {
    const body = JSON.stringify({ inputs: [[1]] });
    const gz = await app.inject({ method: 'POST', url: '/v1/activations/relu/forward', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync(body) });
    expect(gz.statusCode).toBe(415);
    expect(gz.json().detail).toBe('This route takes application/json uncompressed, not with Content-Encoding "gzip" (/v2 takes gzip and deflate).');
    const utf16 = await send('/v1/activations/relu/forward', body, 'application/json; charset=utf-16');
    expect(utf16.status).toBe(415);
    expect(utf16.body.detail).toBe('This route takes application/json in UTF-8 (RFC 8259), not charset "utf-16".');
    for (const type of ['application/json; charset=utf-8', 'application/json; charset="UTF-8"', 'application/json;charset=us-ascii']) {
      const ok = await app.inject({ method: 'POST', url: '/v1/activations/relu/forward', headers: { 'content-type': type }, payload: body });
      expect(ok.statusCode, type).toBe(200);
    }
    const identity = await app.inject({ method: 'POST', url: '/v1/activations/relu/forward', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, payload: body });
    expect(identity.statusCode).toBe(200);
  });
});

it('after all these errors the server still answers correctly', async () => {
  const res = await app.inject({ method: 'POST', url: '/v1/activations/relu/forward', payload: { inputs: [[-1, 2]] } });
  expect(res.statusCode).toBe(200);
  expect(res.json().outputs).toEqual([[0, 2]]);
});
