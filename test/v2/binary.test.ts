/**
 * The binary data extension and what real clients send (shared/OIP.md): no
 * Content-Type, compressed bodies, bare NaN literals, binary_data_output with
 * no outputs listed, headers of every alignment, bodies in small chunks; and
 * every malformed binary request answered 400 `{"error"}` while the server
 * keeps serving, on the same connection too.
 */
import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build, logCapture, postJson } from '../helpers/app.js';
import { SLEEP } from '../workers/faulty.worker.js';
import { binaryBody, bytesOf, inferBinary, inferJson, readAnswer } from './oip.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await build({ MAX_ELEMENTS: 4096, BODY_LIMIT: 1 << 20 });
});
afterAll(async () => {
  await app.close();
});

const x6 = [-1.5, 0, 2.25, 3, -4, 0.5];

/** sigmoid of x6 through /v1, the reference. */
async function v1Sigmoid(dtype: 'float64' | 'float32' = 'float64'): Promise<number[]> {
  const res = await postJson(app, '/v1/activations/sigmoid/forward', { inputs: [x6.slice(0, 3), x6.slice(3)], dtype });
  return res.body.outputs.flat();
}

const goodBinary = () =>
  binaryBody([{ name: 'input', shape: [2, 3], datatype: 'FP64', values: x6 }], { outputs: [{ name: 'output', parameters: { binary_data: true } }] });

async function expectStillServes(): Promise<void> {
  const body = goodBinary();
  const res = readAnswer(await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', headers: body.headers, payload: body.payload }));
  expect(res.status).toBe(200);
  expect(res.outputs.output.values).toEqual(await v1Sigmoid());
}

/** An error answer: {"error"} as application/json, no stack, no problem+json. */
function expectError(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, match?: RegExp): string {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = JSON.parse(res.body);
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  if (match) expect(body.error).toMatch(match);
  return body.error;
}

describe('malformed binary requests: 400 {"error"}, and the server keeps serving', () => {
  const header = (h: object) => Buffer.from(JSON.stringify(h));
  const fp64 = (values: number[]) => bytesOf('FP64', values);
  const input = (size: number, shape = [2, 3], datatype = 'FP64') => ({ name: 'input', shape, datatype, parameters: { binary_data_size: size } });

  /** A malformed request: a JSON header (its length sent unless `headerLength` says otherwise) and the bytes after it. */
  interface Case {
    name: string;
    header: object;
    bytes?: Buffer;
    /** The Inference-Header-Content-Length sent: the header's own length by default, a number relative to it, or a string as is. */
    headerLength?: string | ((length: number) => number) | null;
    model?: string;
    match: RegExp;
  }
  const cases: Case[] = [
    { name: 'header length larger than the body', header: { inputs: [input(48)] }, bytes: fp64(x6), headerLength: (n) => n + 48 + 10, match: /Inference-Header-Content-Length is \d+, but the body has only \d+ bytes/ },
    { name: 'header length not a number', header: { inputs: [input(48)] }, bytes: fp64(x6), headerLength: 'abc', match: /Inference-Header-Content-Length must be the byte length of the JSON header/ },
    { name: 'negative header length', header: { inputs: [input(48)] }, bytes: fp64(x6), headerLength: '-5', match: /Inference-Header-Content-Length must be/ },
    { name: 'header length shorter than the JSON', header: { inputs: [input(48)] }, bytes: fp64(x6), headerLength: (n) => n - 3, match: /JSON header \(the first \d+ bytes, Inference-Header-Content-Length\) is not valid JSON/ },
    { name: 'header length 0', header: { inputs: [input(48)] }, bytes: fp64(x6), headerLength: '0', match: /Inference-Header-Content-Length is 0, but the JSON header cannot be empty/ },
    { name: 'negative binary_data_size', header: { inputs: [input(-48)] }, bytes: fp64(x6), match: /binary_data_size must not be negative/ },
    { name: 'fractional binary_data_size', header: { inputs: [input(47.5)] }, bytes: fp64(x6), match: /binary_data_size must be a whole number of bytes/ },
    { name: 'binary_data_size not a multiple of the element size', header: { inputs: [input(44)] }, bytes: fp64(x6).subarray(0, 44), match: /44 is not a multiple of 8, the size of one FP64 element/ },
    { name: 'FP32 size not a multiple of 4', header: { inputs: [input(22, [2, 3], 'FP32')] }, bytes: Buffer.alloc(22), match: /22 is not a multiple of 4, the size of one FP32 element/ },
    { name: 'binary_data_size disagrees with the shape', header: { inputs: [input(40)] }, bytes: fp64(x6).subarray(0, 40), match: /shape \[2,3\] \(6 elements, 48 bytes of FP64\), but its binary_data_size is 40/ },
    { name: 'bytes left over after the declared sizes', header: { inputs: [input(48)] }, bytes: Buffer.concat([fp64(x6), Buffer.alloc(8)]), match: /56 bytes after the JSON header, but the inputs' binary_data_size add up to 48 bytes/ },
    { name: 'fewer bytes than the declared sizes', header: { inputs: [input(48)] }, bytes: fp64(x6).subarray(0, 40), match: /40 bytes after the JSON header, but the inputs' binary_data_size add up to 48 bytes/ },
    { name: 'sizes of two inputs that do not add up', model: 'sigmoid.backward', header: { inputs: [input(48), { ...input(48), name: 'grad_output' }] }, bytes: fp64([...x6, ...x6.slice(0, 5)]), match: /88 bytes after the JSON header, but the inputs' binary_data_size add up to 96 bytes/ },
    { name: 'binary_data_size without a header length', header: { inputs: [input(48)] }, headerLength: null, match: /has binary_data_size, but the request has no Inference-Header-Content-Length header/ },
    { name: 'unsupported binary datatype', header: { inputs: [input(6, [2, 3], 'INT8')] }, bytes: Buffer.alloc(6), match: /datatype "INT8"; binary tensors here are FP32 or FP64/ },
    // A lookup by the client's string once found Object's own members: "not a multiple of function Object() …".
    { name: 'a binary datatype named like an Object member', header: { inputs: [input(48, [2, 3], 'constructor')] }, bytes: fp64(x6), match: /datatype "constructor"; binary tensors here are FP32 or FP64/ },
    { name: 'both data and binary_data_size', header: { inputs: [{ ...input(48), data: x6 }] }, bytes: fp64(x6), match: /both data and binary_data_size/ },
    { name: 'a missing input', model: 'sigmoid.backward', header: { inputs: [{ ...input(48), name: 'grad_output' }] }, bytes: fp64(x6), match: /needs the input "input"/ },
    { name: 'an input of another name', header: { inputs: [{ ...input(48), name: 'x' }] }, bytes: fp64(x6), match: /no input "x"; its inputs are "input"/ },
    { name: 'no inputs at all', header: { inputs: [] }, match: /inputs must hold at least one tensor/ },
    { name: 'a tensor without a shape', header: { inputs: [{ name: 'input', datatype: 'FP64', parameters: { binary_data_size: 48 } }] }, bytes: fp64(x6), match: /inputs\/0\/shape/ },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const h = header(c.header);
      const length = c.headerLength === undefined ? String(h.length) : typeof c.headerLength === 'function' ? String(c.headerLength(h.length)) : c.headerLength;
      const res = await app.inject({
        method: 'POST',
        url: `/v2/models/${c.model ?? 'sigmoid'}/infer`,
        headers: length === null ? {} : { 'inference-header-content-length': length },
        payload: Buffer.concat([h, c.bytes ?? Buffer.alloc(0)]),
      });
      expectError(res, 400, c.match);
      await expectStillServes();
    });
  }

  it('backward without grad_output', async () => {
    const res = await inferBinary(app, 'sigmoid.backward', [{ name: 'input', shape: [2, 3], datatype: 'FP64', values: x6 }]);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/needs the input "grad_output"/);
  });

  it('grad_output of the wrong shape', async () => {
    const res = await inferBinary(app, 'sigmoid.backward', [
      { name: 'input', shape: [2, 3], datatype: 'FP64', values: x6 },
      { name: 'grad_output', shape: [3, 2], datatype: 'FP64', values: x6 },
    ]);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('Input "grad_output" has shape [3,2], but the forward output has shape [2,3].');
  });

  it('an input datatype other than FP32 or FP64', async () => {
    const res = await inferBinary(app, 'sigmoid', [{ name: 'input', shape: [2, 3], datatype: 'INT32', values: [1, 2, 3, 4, 5, 6] }]);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('Input "input" has datatype "INT32"; it takes FP32 or FP64.');
  });

  it('over MAX_ELEMENTS is 413, over BODY_LIMIT is 413', async () => {
    const big = await inferBinary(app, 'sigmoid', [{ name: 'input', shape: [1, 5000], datatype: 'FP32', values: new Float32Array(5000) }]);
    expect(big.status).toBe(413);
    expect(big.json.error).toMatch(/5000 numbers; the limit is 4096 per request \(MAX_ELEMENTS\)/);
    const h = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 3000], datatype: 'FP64', parameters: { binary_data_size: 2 << 20 } }] }));
    const res = await app.inject({
      method: 'POST',
      url: '/v2/models/sigmoid/infer',
      headers: { 'inference-header-content-length': String(h.length) },
      payload: Buffer.concat([h, Buffer.alloc(1 << 20)]),
    });
    expectError(res, 413, /larger than the limit of 1048576 bytes \(BODY_LIMIT\)/);
    await expectStillServes();
  });

  it('an unsupported Content-Encoding is 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', headers: { 'content-encoding': 'br' }, payload: '{}' });
    expectError(res, 415, /Content-Encoding "br" is not supported/);
  });

  it('a body that is not gzip though it says so', async () => {
    const res = await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', headers: { 'content-encoding': 'gzip' }, payload: '{"inputs": []}' });
    expectError(res, 400, /not valid gzip data/);
    await expectStillServes();
  });

  it('malformed JSON, an empty body, and a wrong shape', async () => {
    expectError(await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', payload: '{"inputs": [' }), 400, /The body is not valid JSON/);
    expectError(await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer' }), 400, /The body is empty/);
    const rank3 = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [1, 2, 3], datatype: 'FP64', data: x6 }] });
    expect(rank3.json.error).toBe('Input "input" has shape [1,2,3]; it takes [rows, cols], or [n] for one row.');
    const empty = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [0, 3], datatype: 'FP64', data: [] }] });
    expect(empty.json.error).toBe('Input "input" has shape [0,3]; it must not be empty.');
    const short = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP64', data: [1, 2] }] });
    expect(short.json.error).toBe('Input "input" has shape [2,3] (6 elements), but its data holds 2.');
    const long = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [1, 2, 3] }] });
    expect(long.json.error).toBe('Input "input": data holds more than the 2 elements of its shape.');
    const text = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [1, 'two'] }] });
    expect(text.json.error).toMatch(/data holds "two"; expected numbers/);
  });

  it('parameters are validated by the activation schema', async () => {
    const tensor = { name: 'input', shape: [1, 2], datatype: 'FP64', data: [-1, 1] };
    const unknown = await inferJson(app, 'leaky_relu', { inputs: [tensor], parameters: { slope: 0.2 } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/^The parameters are invalid: parameters: Unrecognized key: "slope"/);
    const wrong = await inferJson(app, 'leaky_relu', { inputs: [tensor], parameters: { negative_slope: 'steep' } });
    expect(wrong.json.error).toMatch(/^The parameters are invalid: parameters\/negative_slope: /);
    const shape = await inferJson(app, 'prelu', { inputs: [tensor], parameters: { alpha: [0.1, 0.2, 0.3] } });
    expect(shape.json.error).toBe('parameters/alpha: one slope per column needs 2 numbers, got 3');
    const required = await inferJson(app, 'threshold', { inputs: [tensor] });
    expect(required.json.error).toMatch(/parameters\/threshold/);
  });

  it('a bare NaN or infinity as a parameter is refused by that name, not as a string', async () => {
    // Triton clients write these literals bare; the body parser reads them for tensors, the params schema refuses them.
    for (const literal of ['NaN', 'Infinity', '-Infinity']) {
      const payload = `{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP64","data":[1,-1]}],"parameters":{"alpha":${literal}}}`;
      const res = await app.inject({ method: 'POST', url: '/v2/models/elu/infer', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe(`The parameters are invalid: parameters/alpha: Invalid input: expected number, received ${literal}`);
    }
    await expectStillServes();
  });

  // Each of these was a 500, a silently dropped parameter, or seconds of a blocked event loop (a helper's audit).
  it('field tensors (targets, grad_loss) must have one entry per row before anything is built from their shape', async () => {
    const logits = { name: 'input', shape: [2, 3], datatype: 'FP64', data: x6 };
    const started = Date.now();
    for (const shape of [[1e15, 0], [4e6, 0], [2000, 2000, 0], Array.from({ length: 5000 }, () => 1)]) {
      const res = await inferJson(app, 'softmax_cross_entropy', { inputs: [logits, { name: 'targets', shape, datatype: 'INT64', data: shape.includes(0) ? [] : [0] }] });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatch(/^Input "targets" has shape \[.*\]; it takes \[2\] or \[2, n\], one entry per row of "input"\.$/);
    }
    const gradLoss = await inferJson(app, 'softmax_cross_entropy.backward', {
      inputs: [logits, { name: 'grad_loss', shape: [3], datatype: 'FP64', data: [1, 1, 1] }],
      parameters: { targets: [2, 0] },
    });
    expect(gradLoss.json.error).toBe('Input "grad_loss" has shape [3]; it takes [2] or [2, n], one entry per row of "input".');
    expect(Date.now() - started).toBeLessThan(5000); // [4e6, 0] alone took 26 s (and 2.7 GB) before
    await expectStillServes();
  });

  it('grad_loss and targets tensors carry NaN and infinities as /v1 bodies do', async () => {
    const logits = { name: 'input', shape: [2, 3], datatype: 'FP64', data: x6 };
    const v1 = await postJson(app, '/v1/activations/softmax_cross_entropy/backward', {
      inputs: [x6.slice(0, 3), x6.slice(3)],
      targets: [2, 0],
      grad_loss: ['NaN', 'Infinity'],
    });
    expect(v1.status).toBe(200);
    const json = await inferJson(app, 'softmax_cross_entropy.backward', {
      inputs: [logits, { name: 'grad_loss', shape: [2], datatype: 'FP64', data: ['NaN', 'Infinity'] }],
      parameters: { targets: [2, 0] },
    });
    expect(json.status).toBe(200);
    expect(json.outputs.grad_input.values).toEqual(v1.body.grad_inputs.flat());
    const binary = await inferBinary(
      app,
      'softmax_cross_entropy.backward',
      [
        { name: 'input', shape: [2, 3], datatype: 'FP64', values: x6 },
        { name: 'grad_loss', shape: [2], datatype: 'FP64', values: [NaN, Infinity] },
      ],
      { parameters: { targets: [2, 0] } },
    );
    expect(binary.outputs.grad_input.values).toEqual(v1.body.grad_inputs.flat());
  });

  it('parameters named like Object members are unknown parameters, as on /v1', async () => {
    const tensor = { name: 'input', shape: [1, 2], datatype: 'FP64', data: [-1, 1] };
    for (const key of ['hasOwnProperty', 'constructor', 'toString']) {
      const res = await inferJson(app, 'leaky_relu', `{"inputs": [${JSON.stringify(tensor)}], "parameters": {"negative_slope": 0.5, "${key}": "nope"}}`);
      expect(res.status, key).toBe(400);
      expect(res.json.error).toContain(`Unrecognized key: "${key}"`);
    }
    // "__proto__" is refused by the parser, as /v1's (Fastify's secure-json-parse), JSON and binary.
    const proto = await inferJson(app, 'leaky_relu', `{"inputs": [${JSON.stringify(tensor)}], "parameters": {"negative_slope": 0.5, "__proto__": {"x": 1}}}`);
    expect(proto.json.error).toMatch(/is not valid JSON: Object contains forbidden prototype property/);
    const header = Buffer.from('{"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP64", "parameters": {"binary_data_size": 16}}], "parameters": {"__proto__": {}}}');
    const binary = await app.inject({ method: 'POST', url: '/v2/models/leaky_relu/infer', headers: { 'inference-header-content-length': String(header.length) }, payload: Buffer.concat([header, bytesOf('FP64', [-1, 1])]) });
    expectError(binary, 400, /forbidden prototype property/);
  });

  it('data: an element that is not a number is named briefly; nesting must follow the shape', async () => {
    let deep = '{"a":1}';
    for (let i = 0; i < 20000; i++) deep = `{"a":${deep}}`;
    const res = await inferJson(app, 'sigmoid', `{"inputs": [{"name": "input", "shape": [2], "datatype": "FP64", "data": [${deep}, 1]}]}`);
    expect(res.json.error).toBe('Input "input": data holds an object; expected numbers (NaN and infinities as NaN, Infinity, -Infinity).');
    const ragged = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP64', data: [[1, 2], [3, 4, 5, 6]] }] });
    expect(ragged.json.error).toBe('Input "input" has shape [2,3], but data/0 has 2 entries for 3; send data flat or nested as the shape is.');
    const transposed = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [3, 2], datatype: 'FP64', data: [[1, 2, 3], [4, 5, 6]] }] });
    expect(transposed.json.error).toBe('Input "input" has shape [3,2], but data has 2 entries for 3; send data flat or nested as the shape is.');
    const mixed = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP64', data: [[1, 2], 3, 4] }] });
    expect(mixed.status).toBe(400);
    await expectStillServes();
  });

  it("an answer over MAX_ELEMENTS is a 413 before anything is computed (maxout's units come from its weights)", async () => {
    const res = await inferJson(app, 'maxout', {
      inputs: [{ name: 'input', shape: [3, 1], datatype: 'FP64', data: [1, 2, 3] }],
      parameters: { pieces: 1, weight: [[Array.from({ length: 1400 }, () => 1)]] },
    });
    expect(res.status).toBe(413);
    expect(res.json.error).toBe('The answer would hold 4200 numbers (3 rows of 1400); the limit is 4096 per request (MAX_ELEMENTS).');
  });

  it('shape messages name the /v2 tensors', async () => {
    const odd = await inferJson(app, 'glu', { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP64', data: [1, 2, 3] }] });
    expect(odd.json.error).toBe('Input "input": glu splits each row into two halves, so the row width must be even; it is 3');
    const flat = await inferJson(app, 'sigmoid.backward', {
      inputs: [
        { name: 'input', shape: [3], datatype: 'FP64', data: [1, 2, 3] },
        { name: 'grad_output', shape: [2], datatype: 'FP64', data: [1, 1] },
      ],
    });
    expect(flat.json.error).toBe('Input "grad_output" has shape [2], but the forward output has shape [3].');
  });

  it('unknown model and version routes, and URLs Fastify cannot route, answer {"error"} too', async () => {
    expectError(await app.inject({ method: 'GET', url: '/v2/repository/index' }), 404, /^No route GET \/v2\/repository\/index\.$/);
    expectError(await app.inject({ method: 'GET', url: '/v2/models/sigmoid/infer' }), 404);
    expectError(await app.inject({ method: 'POST', url: '/v2/models/%E0%A4%A/infer', payload: '{}' }), 400, /is malformed/);
    expectError(await app.inject({ method: 'POST', url: `/v2/models/${'a'.repeat(200)}/infer`, payload: '{}' }), 414, /MAX_PARAM_LENGTH/);
    expectError(await app.inject({ method: 'GET', url: `/v2/models/${'a'.repeat(200)}` }), 414, /MAX_PARAM_LENGTH/);
    // /v1 keeps problem+json.
    const v1 = await app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(v1.statusCode).toBe(404);
    expect(v1.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('unknown and unavailable outputs', async () => {
    const tensor = { name: 'input', shape: [1, 4], datatype: 'FP64', data: [1, 2, 3, 4] };
    const unknown = await inferJson(app, 'sigmoid', { inputs: [tensor], outputs: [{ name: 'y' }] });
    expect(unknown.json.error).toBe('Model "sigmoid" has no output "y"; its outputs are "output".');
    const unavailable = await inferJson(app, 'maxout.backward', {
      inputs: [tensor, { name: 'grad_output', shape: [1, 2], datatype: 'FP64', data: [1, 1] }],
      parameters: { pieces: 2 },
      outputs: [{ name: 'grad_weight' }],
    });
    expect(unavailable.json.error).toBe('Output "grad_weight" is only computed when the request sets the parameter "weight".');
  });

  it('keeps serving on the same connection after malformed requests (real socket)', async () => {
    const served = await build({ MAX_ELEMENTS: 4096 });
    try {
      await served.listen({ port: 0, host: '127.0.0.1' });
      const { port } = served.server.address() as AddressInfo;
      const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
      const post = (payload: Buffer, headers: Record<string, string>) =>
        new Promise<{ status: number; body: Buffer; socket: unknown }>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v2/models/sigmoid/infer', agent, headers: { ...headers, 'content-length': String(payload.length) } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), socket: req.socket }));
          });
          req.on('error', reject);
          req.end(payload);
        });
      const good = goodBinary();
      const bad = [
        { payload: good.payload, headers: { 'inference-header-content-length': String(good.payload.length + 5) } },
        { payload: Buffer.concat([good.payload, Buffer.alloc(3)]), headers: good.headers },
        { payload: good.payload.subarray(0, good.payload.length - 8), headers: good.headers },
        // A stream that is not gzip failed the parser, and Fastify closed the connection after it.
        { payload: good.payload, headers: { ...good.headers, 'content-encoding': 'gzip' } },
        { payload: Buffer.concat([gzipSync(good.payload).subarray(0, 30), Buffer.alloc(4000, 7)]), headers: { ...good.headers, 'content-encoding': 'gzip' } },
      ];
      const sockets = new Set<unknown>();
      for (const b of bad) {
        const res = await post(b.payload, b.headers);
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body.toString()).error).toEqual(expect.any(String));
        sockets.add(res.socket);
      }
      const ok = await post(good.payload, good.headers);
      sockets.add(ok.socket);
      expect(ok.status).toBe(200);
      expect(sockets.size).toBe(1);
      agent.destroy();
    } finally {
      await served.close();
    }
  });
});

describe('what real clients send', () => {
  it('no Content-Type at all, JSON and binary (real socket)', async () => {
    const served = await build();
    try {
      await served.listen({ port: 0, host: '127.0.0.1' });
      const { port } = served.server.address() as AddressInfo;
      const send = (payload: Buffer, headers: Record<string, string>) =>
        new Promise<{ status: number; headers: Record<string, unknown>; rawPayload: Buffer; contentType: unknown }>((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v2/models/sigmoid/infer', headers: { ...headers, 'content-length': String(payload.length) } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawPayload: Buffer.concat(chunks), contentType: undefined }));
          });
          expect(req.getHeader('content-type')).toBeUndefined();
          req.on('error', reject);
          req.end(payload);
        });
      const json = await send(Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP64', data: x6 }] })), {});
      expect(json.status).toBe(200);
      const want = await v1Sigmoid();
      expect(readAnswer({ statusCode: json.status, headers: json.headers, rawPayload: json.rawPayload }).outputs.output.values).toEqual(want);
      const good = goodBinary();
      const binary = await send(good.payload, good.headers);
      expect(binary.status).toBe(200);
      expect(readAnswer({ statusCode: binary.status, headers: binary.headers, rawPayload: binary.rawPayload }).outputs.output.values).toEqual(want);
    } finally {
      await served.close();
    }
  });

  it('any Content-Type is read the same way; /v1 still answers 415 for non-JSON', async () => {
    const want = await v1Sigmoid();
    for (const type of ['application/octet-stream', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']) {
      const good = goodBinary();
      const res = readAnswer(await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', headers: { ...good.headers, 'Content-Type': type }, payload: good.payload }));
      expect(res.status, type).toBe(200);
      expect(res.outputs.output.values).toEqual(want);
    }
    const v1 = await app.inject({ method: 'POST', url: '/v1/activations/sigmoid/forward', headers: { 'content-type': 'application/octet-stream' }, payload: 'x' });
    expect(v1.statusCode).toBe(415);
    expect(v1.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('header names in any case', async () => {
    const good = goodBinary();
    const res = readAnswer(
      await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', headers: { 'INFERENCE-HEADER-CONTENT-LENGTH': good.headers['Inference-Header-Content-Length'] }, payload: good.payload }),
    );
    expect(res.status).toBe(200);
  });

  it('gzip and deflate bodies, JSON and binary; the header length counts the inflated JSON', async () => {
    const want = await v1Sigmoid();
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP64', data: x6 }] }));
    const good = goodBinary();
    for (const [encoding, compress] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const a = readAnswer(await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', headers: { 'Content-Encoding': encoding }, payload: compress(json) }));
      expect(a.status, encoding).toBe(200);
      expect(a.outputs.output.values).toEqual(want);
      const b = readAnswer(
        await app.inject({ method: 'POST', url: '/v2/models/sigmoid/infer', headers: { ...good.headers, 'Content-Encoding': encoding }, payload: compress(good.payload) }),
      );
      expect(b.status, encoding).toBe(200);
      expect(b.outputs.output.values).toEqual(want);
    }
  });

  it('bare NaN, Infinity and -Infinity literals in JSON, but not inside strings', async () => {
    const text =
      '{"id": "NaN Infinity -Infinity \\" NaN", "inputs": [{"name": "input", "shape": [1, 5], "datatype": "FP64", "data": [NaN, Infinity, -Infinity, 0, "NaN"]}]}';
    const res = await inferJson(app, 'relu', text);
    expect(res.status).toBe(200);
    expect(res.json.id).toBe('NaN Infinity -Infinity " NaN');
    expect(res.outputs.output.values).toEqual(['NaN', 'Infinity', 0, 0, 'NaN']);
    const bad = await inferJson(app, 'relu', '{"inputs": [{"name": "input", "shape": [1, 1], "datatype": "FP64", "data": [NaNa]}]}');
    expect(bad.status).toBe(400);
    // Only where a value stands: as a key, or after a value, the literal is not JSON and stays so (it became "NaN").
    for (const broken of ['{NaN: 1, "inputs": []}', '{"inputs": [{"name": "input", "shape": [1], "datatype": "FP64", "data": [1 NaN]}]}']) {
      const res = await inferJson(app, 'relu', broken);
      expect(res.status, broken).toBe(400);
      expect(res.json.error, broken).toMatch(/is not valid JSON/);
    }
    const spaced = await inferJson(app, 'relu', '{"inputs": [{"name": "input", "shape": [2], "datatype": "FP64", "data": [\n  -Infinity,\tNaN]}]}');
    expect(spaced.outputs.output.values).toEqual([0, 'NaN']);
  });

  it('FP32 values written as full doubles, and binary_data: false accepted', async () => {
    const f32 = Array.from(new Float32Array(x6));
    const res = await inferJson(app, 'sigmoid', {
      inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP32', data: f32 }],
      outputs: [{ name: 'output', parameters: { binary_data: false } }],
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['inference-header-content-length']).toBeUndefined();
    expect(res.outputs.output).toEqual({ shape: [2, 3], datatype: 'FP32', values: await v1Sigmoid('float32'), binary: false });
  });

  it('binary_data_output with no outputs listed: every output binary', async () => {
    const res = await inferBinary(
      app,
      'prelu.backward',
      [
        { name: 'input', shape: [2, 3], datatype: 'FP32', values: x6 },
        { name: 'grad_output', shape: [2, 3], datatype: 'FP32', values: [1, 1, 1, 1, 1, 1] },
      ],
      { parameters: { binary_data_output: true, alpha: 0.25 } },
    );
    expect(res.status).toBe(200);
    expect(Object.keys(res.outputs)).toEqual(['grad_input', 'grad_alpha']);
    expect(res.outputs.grad_input).toMatchObject({ shape: [2, 3], datatype: 'FP32', binary: true });
    expect(res.outputs.grad_alpha).toMatchObject({ shape: [1], datatype: 'FP32', binary: true, values: [-1.5 + -4] });
  });

  it('outputs chosen one by one: binary and JSON in one answer, in the order asked', async () => {
    const res = await inferBinary(
      app,
      'prelu.backward',
      [
        { name: 'input', shape: [2, 3], datatype: 'FP64', values: x6 },
        { name: 'grad_output', shape: [2, 3], datatype: 'FP64', values: [1, 1, 1, 1, 1, 1] },
      ],
      { parameters: { binary_data_output: true }, outputs: [{ name: 'grad_alpha', parameters: { binary_data: false } }, { name: 'grad_input' }] },
    );
    expect(res.status).toBe(200);
    expect(res.json.outputs.map((o: { name: string }) => o.name)).toEqual(['grad_alpha', 'grad_input']);
    expect(res.outputs.grad_alpha).toEqual({ shape: [1], datatype: 'FP64', values: [-5.5], binary: false });
    expect(res.outputs.grad_input).toMatchObject({ binary: true, values: [0.25, 0.25, 1, 1, 0.25, 1] });
  });

  it('the JSON header at every alignment gives the same bits', async () => {
    const want = await v1Sigmoid();
    for (let pad = 0; pad < 8; pad++) {
      const res = await inferBinary(app, 'sigmoid', [{ name: 'input', shape: [2, 3], datatype: 'FP64', values: x6 }], { outputs: [{ name: 'output', parameters: { binary_data: true } }] }, ' '.repeat(pad));
      expect(res.status).toBe(200);
      expect(res.outputs.output.values).toEqual(want);
    }
  });

  it('a body arriving in chunks of a few bytes', async () => {
    const body = binaryBody(
      [
        { name: 'input', shape: [2, 3], datatype: 'FP32', values: x6 },
        { name: 'grad_output', shape: [2, 3], datatype: 'FP64', values: [1, 2, 3, 4, 5, 6] },
      ],
      { parameters: { binary_data_output: true } },
    );
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.payload.length; i += 5) chunks.push(body.payload.subarray(i, i + 5));
    const res = readAnswer(
      await app.inject({ method: 'POST', url: '/v2/models/tanh.backward/infer', headers: { ...body.headers, 'transfer-encoding': 'chunked' }, payload: Readable.from(chunks) }),
    );
    expect(res.status).toBe(200);
    const v1 = await postJson(app, '/v1/activations/tanh/backward', { inputs: [x6.slice(0, 3), x6.slice(3)], grad_outputs: [[1, 2, 3], [4, 5, 6]], dtype: 'float32' });
    expect(res.outputs.grad_input.values).toEqual(v1.body.grad_inputs.flat());
  });

  it('a 1-D shape [n] is one row, answered in the same rank', async () => {
    const forward = await inferJson(app, 'softmax', { inputs: [{ name: 'input', shape: [3], datatype: 'FP64', data: [1, 2, 3] }] });
    const v1 = await postJson(app, '/v1/activations/softmax/forward', { inputs: [[1, 2, 3]] });
    expect(forward.outputs.output).toMatchObject({ shape: [3], values: v1.body.outputs[0] });
    const sce = await inferJson(app, 'softmax_cross_entropy', { inputs: [{ name: 'input', shape: [3], datatype: 'FP64', data: [1, 2, 3] }], parameters: { targets: [2] } });
    expect(sce.outputs.output.shape).toEqual([1]);
    const backward = await inferJson(app, 'softmax.backward', {
      inputs: [
        { name: 'input', shape: [3], datatype: 'FP64', data: [1, 2, 3] },
        { name: 'grad_output', shape: [3], datatype: 'FP64', data: [1, 0, 0] },
      ],
    });
    expect(backward.outputs.grad_input.shape).toEqual([3]);
  });

  it('nested data is read row-major', async () => {
    const res = await inferJson(app, 'sigmoid', { inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP64', data: [x6.slice(0, 3), x6.slice(3)] }] });
    expect(res.outputs.output.values).toEqual(await v1Sigmoid());
  });

  it('softmax_cross_entropy: targets as a tensor or a parameter, not both; grad_output may be omitted', async () => {
    const logits = { name: 'input', shape: [2, 3], datatype: 'FP64', data: x6 };
    const v1 = await postJson(app, '/v1/activations/softmax_cross_entropy/forward', { inputs: [x6.slice(0, 3), x6.slice(3)], targets: [2, 0] });
    const asParameter = await inferJson(app, 'softmax_cross_entropy', { inputs: [logits], parameters: { targets: [2, 0] } });
    const asTensor = await inferJson(app, 'softmax_cross_entropy', { inputs: [logits, { name: 'targets', shape: [2], datatype: 'INT32', data: [2, 0] }] });
    expect(asParameter.outputs.output).toMatchObject({ shape: [2, 1], values: v1.body.outputs.flat() });
    expect(asTensor.outputs.output.values).toEqual(v1.body.outputs.flat());
    const both = await inferJson(app, 'softmax_cross_entropy', { inputs: [logits, { name: 'targets', shape: [2], datatype: 'INT64', data: [2, 0] }], parameters: { targets: [2, 0] } });
    expect(both.json.error).toBe('"targets" is given both as an input and as a parameter; send one.');
    const outOfRange = await inferJson(app, 'softmax_cross_entropy', { inputs: [logits, { name: 'targets', shape: [2], datatype: 'INT64', data: [3, 0] }] });
    expect(outOfRange.json.error).toMatch(/^targets\/0: class index 3 is out of range/);
    const missing = await inferJson(app, 'softmax_cross_entropy', { inputs: [logits] });
    expect(missing.json.error).toMatch(/targets: softmax_cross_entropy needs targets/);
    const v1Backward = await postJson(app, '/v1/activations/softmax_cross_entropy/backward', { inputs: [x6.slice(0, 3), x6.slice(3)], targets: [2, 0] });
    const backward = await inferJson(app, 'softmax_cross_entropy.backward', { inputs: [logits], parameters: { targets: [2, 0] } });
    expect(backward.outputs.grad_input.values).toEqual(v1Backward.body.grad_inputs.flat());
  });

  it("Triton's reserved parameters are ignored; the id is echoed; a seed chosen by the server comes back as a parameter", async () => {
    const res = await inferJson(app, 'rrelu', {
      id: 'request-7',
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP64', data: [-1, -2, 3, 4] }],
      parameters: { training: true, priority: 1, timeout: 1000, sequence_id: 3, triton_enable_empty_final_response: false, binary_data_output: false },
    });
    expect(res.status).toBe(200);
    expect(res.json.id).toBe('request-7');
    expect(res.json.model_name).toBe('rrelu');
    expect(res.json.model_version).toBe('1');
    expect(res.json.parameters.seed).toEqual(expect.any(Number));
    const again = await inferJson(app, 'rrelu', {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP64', data: [-1, -2, 3, 4] }],
      parameters: { training: true, seed: res.json.parameters.seed },
    });
    expect(again.outputs.output.values).toEqual(res.outputs.output.values);
  });

  it('clients that hang up before their large answers: no error is logged, the server serves on, and closes without failing their tasks', async () => {
    const { stream, lines } = logCapture();
    // The worker that sleeps first on a SLEEP input: every task lasts, so all six are in the pool at once (with the
    // real kernels alone, fast ones could finish before the last body had arrived).
    const served = await build(
      { INLINE_MAX_ELEMENTS: 0, WORKERS: 2, LOG_LEVEL: 'info' },
      { workerFile: new URL('../workers/faulty.worker.ts', import.meta.url), logStream: stream },
    );
    try {
      await served.listen({ port: 0, host: '127.0.0.1' });
      const { port } = served.server.address() as AddressInfo;
      const rows = 256;
      const cols = 1024;
      const values = Float64Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 8);
      values[0] = SLEEP;
      values[1] = 300;
      const body = binaryBody([{ name: 'input', shape: [rows, cols], datatype: 'FP64', values }], { parameters: { binary_data_output: true } });
      const head = Object.entries({ ...body.headers, 'content-length': String(body.payload.length) }).map(([k, v]) => `${k}: ${v}\r\n`);
      // Six requests on two workers (two run, four wait), their clients gone once all six are in the pool: the
      // two running finish into closed sockets, the four waiting are dropped before they start.
      const hangUps = async () => {
        // The first round's running tasks may outlive the request between the rounds (they started at different
        // times); counting from an idle pool makes the six below exactly this round's.
        await vi.waitFor(() => expect(served.compute.running() + served.compute.queueDepth()).toBe(0), { timeout: 20_000, interval: 5 });
        const sockets = Array.from({ length: 6 }, () => connect(port, '127.0.0.1'));
        for (const socket of sockets) socket.write(`POST /v2/models/gelu/infer HTTP/1.1\r\nhost: 127.0.0.1\r\n${head.join('')}\r\n`);
        for (const socket of sockets) socket.write(body.payload);
        await vi.waitFor(() => expect(served.compute.running() + served.compute.queueDepth()).toBe(6), { timeout: 20_000, interval: 5 });
        for (const socket of sockets) socket.destroy();
      };
      await hangUps();
      const res = await inferBinary(served, 'sigmoid', [{ name: 'input', shape: [2, 3], datatype: 'FP64', values: Float64Array.from(x6) }]);
      expect(res.outputs.output.values).toEqual(await v1Sigmoid());
      await hangUps();
      await served.close(); // at once, four tasks still queued
      // Each time, the four that waited were dropped, not run.
      expect(served.compute.dropped()).toBe(8);
      expect(lines().filter((l) => l.level >= 40)).toEqual([]);
      expect(lines().filter((l) => l.msg === 'client closed the connection before its answer was sent').length).toBeGreaterThan(0);
    } finally {
      await served.close();
    }
  });

  it('a large binary answer (streamed in parts) through the pool', async () => {
    const pooled = await build({ INLINE_MAX_ELEMENTS: 0 });
    try {
      const rows = 64;
      const cols = 512;
      const values = Float64Array.from({ length: rows * cols }, (_, i) => Math.sin(i) * 8);
      const res = await inferBinary(pooled, 'gelu', [{ name: 'input', shape: [rows, cols], datatype: 'FP64', values }], {
        parameters: { binary_data_output: true, approximate: 'tanh' },
      });
      expect(res.status).toBe(200);
      expect(Number(res.headers['content-length'])).toBe(Number(res.headers['inference-header-content-length']) + rows * cols * 8);
      const batch = Array.from({ length: rows }, (_, r) => Array.from(values.subarray(r * cols, (r + 1) * cols)));
      const v1 = await postJson(pooled, '/v1/activations/gelu/forward', { inputs: batch, params: { approximate: 'tanh' } });
      expect(res.outputs.output.values).toEqual(v1.body.outputs.flat());
    } finally {
      await pooled.close();
    }
  });
});
