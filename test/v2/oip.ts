/**
 * Building and reading /v2 requests in tests: binary bodies (JSON header,
 * then little-endian tensor bytes) and binary answers, the way a Triton
 * client builds and reads them.
 */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

export type Datatype = 'FP32' | 'FP64' | 'INT32' | 'INT64';

export interface TensorSpec {
  name: string;
  shape: number[];
  datatype: Datatype;
  values: ArrayLike<number>;
}

/** The little-endian bytes of values in a datatype. */
export function bytesOf(datatype: Datatype, values: ArrayLike<number>): Buffer {
  const n = values.length;
  const out = Buffer.alloc(n * (datatype === 'FP64' || datatype === 'INT64' ? 8 : 4));
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (datatype === 'FP64') out.writeDoubleLE(v, i * 8);
    else if (datatype === 'FP32') out.writeFloatLE(v, i * 4);
    else if (datatype === 'INT64') out.writeBigInt64LE(BigInt(v), i * 8);
    else out.writeInt32LE(v, i * 4);
  }
  return out;
}

export function decodeBytes(datatype: string, bytes: Buffer): number[] {
  const size = datatype === 'FP64' ? 8 : 4;
  expect(bytes.length % size).toBe(0);
  return Array.from({ length: bytes.length / size }, (_, i) => (size === 8 ? bytes.readDoubleLE(i * 8) : bytes.readFloatLE(i * 4)));
}

/** A binary request: every tensor as bytes after the JSON header. */
export function binaryBody(
  tensors: TensorSpec[],
  extra: Record<string, unknown> = {},
  pad = '',
): { payload: Buffer; headers: Record<string, string>; headerLength: number } {
  const parts = tensors.map((t) => bytesOf(t.datatype, t.values));
  const header = Buffer.from(
    JSON.stringify({
      ...extra,
      inputs: tensors.map((t, i) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: parts[i].length } })),
    }) + pad,
  );
  return {
    payload: Buffer.concat([header, ...parts]),
    headers: { 'Inference-Header-Content-Length': String(header.length) },
    headerLength: header.length,
  };
}

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  /** The JSON (the header of a binary answer). */
  json: Record<string, any>;
  /** Each output's values, from `data` or from its bytes. */
  outputs: Record<string, { shape: number[]; datatype: string; values: (number | string)[]; binary: boolean }>;
}

/** Reads an answer in either form, checking the binary framing on the way. */
export function readAnswer(response: { statusCode: number; headers: Record<string, unknown>; rawPayload: Buffer }): Answer {
  const raw = response.rawPayload;
  const lengthHeader = response.headers['inference-header-content-length'];
  const length = lengthHeader === undefined ? raw.length : Number(lengthHeader);
  const json = JSON.parse(raw.subarray(0, length).toString('utf8'));
  const outputs: Answer['outputs'] = {};
  let offset = length;
  for (const o of json.outputs ?? []) {
    const size = o.parameters?.binary_data_size;
    if (size !== undefined) {
      outputs[o.name] = { shape: o.shape, datatype: o.datatype, values: decodeBytes(o.datatype, raw.subarray(offset, offset + size)), binary: true };
      offset += size;
    } else {
      outputs[o.name] = { shape: o.shape, datatype: o.datatype, values: o.data, binary: false };
    }
  }
  if (json.outputs) expect(offset, 'binary outputs fill the body exactly').toBe(raw.length);
  if (lengthHeader !== undefined) expect(response.headers['content-type']).toBe('application/octet-stream');
  return { status: response.statusCode, headers: response.headers, json, outputs };
}

export async function inferBinary(app: FastifyInstance, model: string, tensors: TensorSpec[], extra: Record<string, unknown> = {}, pad = '') {
  const body = binaryBody(tensors, extra, pad);
  const response = await app.inject({ method: 'POST', url: `/v2/models/${model}/infer`, headers: body.headers, payload: body.payload });
  return readAnswer(response);
}

export async function inferJson(app: FastifyInstance, model: string, request: unknown, headers: Record<string, string> = {}) {
  const response = await app.inject({
    method: 'POST',
    url: `/v2/models/${model}/infer`,
    headers,
    payload: typeof request === 'string' ? request : JSON.stringify(request),
  });
  return readAnswer(response);
}

/** A JSON value's numbers; the strings "NaN", "Infinity", "-Infinity" as numbers. */
export const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

/**
 * Bit for bit: the same float64 value (NaN equals NaN). A value that came
 * through /v1's JSON cannot carry the sign of a zero, so 0 there matches ±0.
 */
export function sameBits(got: ArrayLike<number | string>, want: ArrayLike<number | string>, label: string): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = num(got[i]);
    const w = num(want[i]);
    if (!(Object.is(g, w) || (w === 0 && g === 0))) {
      expect.fail(`${label}[${i}]: ${g} differs from ${w}`);
    }
  }
}
