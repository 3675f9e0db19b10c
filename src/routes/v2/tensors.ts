/**
 * Tensors in and out of /v2: request tensors (binary or JSON `data`) become
 * the Float64Array batches the kernels take; results become JSON `data` or
 * raw little-endian bytes.
 *
 * Copies, for a binary request: the bytes land in their own Float64Array or
 * Float32Array as they arrive (body.ts), in shared memory reused between
 * requests when large (src/tensor-pool.ts), and go to the compute engine as they
 * are (a float32 batch is widened and its result narrowed where it runs, in a
 * worker for large ones: core/batch.ts); the worker writes the result into
 * the request's output memory, and the answer is written from it (a Buffer
 * over the same memory). No JSON number arrays on the way.
 */
import { endianness } from 'node:os';
import { ProblemError } from '../../errors.js';
import { valueToJson } from '../../schemas/numbers.js';
import type { Floats } from '../../core/batch.js';
import type { BinaryValues } from './body.js';

export type FloatDatatype = 'FP32' | 'FP64';

const LITTLE_ENDIAN = endianness() === 'LE';

const invalid = (detail: string) => new ProblemError('ACT_ERR_VALIDATION', detail);

/** Deeper nesting than any tensor needs; keeps the walk off the stack limit. */
const MAX_DEPTH = 32;

export interface TensorInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data?: unknown;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The values of a tensor, row-major: binary FP32 as the Float32Array it came
 * in, everything else as float64. `binary` is its bytes from the body (an
 * owned typed array), or undefined when it came as JSON `data`.
 */
export function tensorValues(input: TensorInput, binary: BinaryValues | undefined, maxElements: number): Floats {
  const name = JSON.stringify(input.name);
  const count = elementCount(input.shape);
  if (count > maxElements) {
    throw new ProblemError('ACT_ERR_TOO_MANY_ELEMENTS', `Input ${name} holds ${count} numbers; the limit is ${maxElements} per request (MAX_ELEMENTS).`);
  }
  if (binary) {
    if (binary.length !== count) {
      throw invalid(
        `Input ${name} has shape [${input.shape.join(',')}] (${count} elements, ${count * binary.BYTES_PER_ELEMENT} bytes of ${input.datatype}), ` +
          `but its binary_data_size is ${binary.byteLength}.`,
      );
    }
    if (binary instanceof Float64Array || binary instanceof Float32Array) return binary;
    if (binary instanceof BigInt64Array) {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const v = binary[i];
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`Input ${name}: ${v} is too large.`);
        out[i] = Number(v);
      }
      return out;
    }
    // INT32 converts once, natively.
    return new Float64Array(binary);
  }
  if (input.data === undefined) throw invalid(`Input ${name} has neither data nor parameters.binary_data_size.`);
  if (!Array.isArray(input.data)) throw invalid(`Input ${name}: data must be a list of numbers.`);
  const out = new Float64Array(count);
  // Flat, or nested as the shape is (the protocol's two forms): a ragged nesting that only adds up to the count
  // is a client's mistake, not a tensor.
  if (input.data.some(Array.isArray)) checkNesting(input.data, input.shape, 0, name, 'data');
  const written = fillFromJson(input.data, out, 0, 0, name);
  if (written !== count) throw mismatch(name, input.shape, count, written);
  if (input.datatype.startsWith('INT')) {
    const bad = out.findIndex((v) => !Number.isInteger(v));
    if (bad >= 0) throw invalid(`Input ${name} is ${input.datatype}, but element ${bad} is ${out[bad]}.`);
  }
  return out;
}

function mismatch(name: string, shape: readonly number[], count: number, got: number | string): ProblemError {
  return invalid(`Input ${name} has shape [${shape.join(',')}] (${count} elements), but its data holds ${got}.`);
}

/** Nested data must have the shape's lists at every level: shape[d] entries at depth d, lists above the last. */
function checkNesting(list: unknown[], shape: readonly number[], dim: number, name: string, at: string): void {
  const wrong = (what: string) => invalid(`Input ${name} has shape [${shape.join(',')}], but ${what}; send data flat or nested as the shape is.`);
  if (dim >= shape.length || dim > MAX_DEPTH) throw wrong(`${at} is nested deeper than the shape`);
  if (list.length !== shape[dim]) throw wrong(`${at} has ${list.length} entries for ${shape[dim]}`);
  const last = dim === shape.length - 1;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (last) {
      if (Array.isArray(v)) throw wrong(`${at}/${i} is a list where a number belongs`);
    } else if (!Array.isArray(v)) {
      throw wrong(`${at}/${i} is ${describeElement(v)} where a list of ${shape[dim + 1]} belongs`);
    } else {
      checkNesting(v, shape, dim + 1, name, `${at}/${i}`);
    }
  }
}

/** Writes the numbers of nested lists into `out` from `k`, row-major; returns the next index. */
function fillFromJson(list: unknown[], out: Float64Array, k: number, depth: number, name: string): number {
  if (depth > MAX_DEPTH) throw invalid(`Input ${name}: data is nested deeper than ${MAX_DEPTH} levels.`);
  const n = out.length;
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (typeof v === 'number') {
      if (k >= n) throw invalid(`Input ${name}: data holds more than the ${n} elements of its shape.`);
      out[k++] = v;
    } else if (Array.isArray(v)) {
      k = fillFromJson(v, out, k, depth + 1, name);
    } else if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') {
      if (k >= n) throw invalid(`Input ${name}: data holds more than the ${n} elements of its shape.`);
      out[k++] = Number(v);
    } else {
      throw invalid(`Input ${name}: data holds ${describeElement(v)}; expected numbers (NaN and infinities as NaN, Infinity, -Infinity).`);
    }
  }
  return k;
}

/** A bad element of `data`, briefly: never the whole of it (an object nested 20 000 deep overflowed JSON.stringify). */
function describeElement(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

/** NaN and infinities as the JSON strings /v1 bodies use, so a field's schema reads them alike. */
const asJsonValue = (v: number): number | string => (v - v === 0 ? v : v !== v ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');

/**
 * Row-major values as nested lists of the given shape (a number for shape []),
 * in the JSON form of /v1's body fields (NaN and infinities as strings).
 */
export function nest(values: Floats, shape: readonly number[]): unknown {
  if (shape.length === 0) return asJsonValue(values[0]);
  const build = (offset: number, dim: number): unknown[] => {
    const size = shape[dim];
    if (dim === shape.length - 1) return Array.from(values.subarray(offset, offset + size), asJsonValue);
    const stride = elementCount(shape.slice(dim + 1));
    return Array.from({ length: size }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return build(0, 0);
}

/** The shape of a nested list of numbers (a parameter's gradient); a number is [1]. */
export function shapeOfValue(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape.length === 0 ? [1] : shape;
}

export function flattenValue(value: unknown): Float64Array {
  const out: number[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else out.push(typeof v === 'number' ? v : Number(v));
  };
  walk(value);
  return Float64Array.from(out);
}

export interface OutputTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** Already rounded to float32 for FP32 (core/batch.ts), packed or not. */
  readonly values: Floats;
  readonly binary: boolean;
}

function numberToJson(v: number): string {
  if (v === v && v !== Infinity && v !== -Infinity) return v === 0 ? '0' : String(v);
  return v !== v ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

function flatToJson(values: Floats): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = numberToJson(values[i]);
  return `[${parts.join(',')}]`;
}

/** The bytes of an output on the wire: its own memory when it is already of the datatype, else one conversion pass. */
function outputBytes(values: Floats, datatype: FloatDatatype): Buffer {
  const Wire = datatype === 'FP64' ? Float64Array : Float32Array;
  const typed = values instanceof Wire ? values : new Wire(values);
  const bytes = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const copy = Buffer.from(bytes);
  return datatype === 'FP64' ? copy.swap64() : copy.swap32();
}

export interface InferAnswer {
  /** The JSON text, whole (JSON form) or the header (binary form). */
  readonly json: string;
  /** Binary outputs in order; empty for the JSON form. */
  readonly binary: readonly Buffer[];
}

export function encodeAnswer(answer: {
  model: string;
  id?: string;
  parameters?: Record<string, unknown>;
  datatype: FloatDatatype;
  outputs: readonly OutputTensor[];
}): InferAnswer {
  const binary: Buffer[] = [];
  const outputs = answer.outputs.map((o) => {
    const head = `{"name":${JSON.stringify(o.name)},"datatype":"${answer.datatype}","shape":[${o.shape.join(',')}]`;
    if (!o.binary) return `${head},"data":${flatToJson(o.values)}}`;
    const bytes = outputBytes(o.values, answer.datatype);
    binary.push(bytes);
    return `${head},"parameters":{"binary_data_size":${bytes.length}}}`;
  });
  const id = answer.id === undefined ? '' : `,"id":${JSON.stringify(answer.id)}`;
  const parameters = answer.parameters && Object.keys(answer.parameters).length > 0 ? `,"parameters":${valueToJson(answer.parameters)}` : '';
  const json = `{"model_name":${JSON.stringify(answer.model)},"model_version":"1"${id}${parameters},"outputs":[${outputs.join(',')}]}`;
  return { json, binary };
}
