/**
 * Reading an inference request body, JSON or binary (Triton's binary data
 * extension), straight from the socket into tensors.
 *
 * A binary request is a JSON header of `Inference-Header-Content-Length`
 * bytes, then the raw little-endian bytes of every input that declares
 * `parameters.binary_data_size`, in input order. The header arrives first, so
 * once it is in, each binary input gets its own typed array of the declared
 * size and the following chunks are copied into it as they come: one copy,
 * socket → tensor, into an aligned buffer that the tensor owns (so the
 * compute engine can transfer it to a worker without detaching anything
 * else), reused memory for large ones (src/tensor-pool.ts).
 * A JSON-only body is collected and parsed once.
 *
 * Everything is checked before anything is computed: the header length
 * against the body, each size (not negative, a multiple of the element size,
 * within the limits), and that the sizes add up to exactly the bytes after the
 * header. A bad body is read to its end (bounded by BODY_LIMIT) so the
 * connection stays usable, then answered 400; a body over BODY_LIMIT is cut
 * off at once with 413, as Fastify does.
 *
 * `Content-Encoding: gzip | deflate` bodies are inflated on the way
 * (node:zlib); the header length counts the inflated JSON, and BODY_LIMIT
 * bounds the inflated size as well as the sent one.
 */
import { createUnzip } from 'node:zlib';
import { endianness } from 'node:os';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { ProblemError } from '../../errors.js';
import { parseJsonSecure } from '../../schemas/json-parse.js';
import { InferHeaderSchema, type InferHeader } from '../../schemas/oip.js';
import type { RequestTensors } from '../../tensor-pool.js';

/** Bytes per element of the datatypes a binary tensor may have here. */
export const ELEMENT_SIZE = { FP64: 8, FP32: 4, INT64: 8, INT32: 4 } as const;
export type BinaryDatatype = keyof typeof ELEMENT_SIZE;

export type BinaryValues = Float64Array | Float32Array | BigInt64Array | Int32Array;

export interface InferBody {
  readonly header: InferHeader;
  /** The binary tensor of each input that had `binary_data_size`, by input index. */
  readonly binary: ReadonlyMap<number, BinaryValues>;
}

/**
 * A body read to its end that is not a valid request. Handed to the route as
 * the body (which throws it), not failed in the parser: Fastify closes the
 * connection after a parser error, and after a whole body there is no need to.
 */
export class RejectedBody {
  constructor(readonly problem: ProblemError) {}
}

const LITTLE_ENDIAN = endianness() === 'LE';

const invalid = (detail: string) => new ProblemError('ACT_ERR_VALIDATION', detail);

const describeSize = (n: number) => `${n} byte${n === 1 ? '' : 's'}`;

/** "inputs/0/shape: …" from a zod error, a few issues at most. */
export function formatIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }, prefix = ''): string {
  const parts = error.issues.slice(0, 3).map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('/');
    return path ? `${path}: ${i.message}` : i.message;
  });
  return parts.join('; ') + (error.issues.length > 3 ? '; …' : '');
}

/**
 * Strings or the tokens NaN and Infinity: JSON strings are matched whole (so
 * a "NaN" inside a string is left alone); the unrolled form keeps the regex
 * linear on long strings.
 */
const NON_FINITE_TOKENS = /"[^"\\]*(?:\\.[^"\\]*)*"|NaN|Infinity/g;

/**
 * JSON.parse, also accepting the bare literals NaN, Infinity and -Infinity
 * that Triton clients write (outside strings only): Infinity becomes 1e999,
 * which JSON.parse reads as Infinity (so -Infinity as -Infinity), and NaN the
 * string "NaN", which the tensor decoder reads as NaN.
 */
export function parseJsonLenient(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  // As /v1's parser: a "__proto__" key is refused, not dropped unseen by the schemas after it.
  if (bytes.indexOf('NaN') < 0 && bytes.indexOf('Infinity') < 0) return parseJsonSecure(text);
  return parseJsonSecure(
    text.replace(NON_FINITE_TOKENS, (m: string, at: number) => (m[0] === '"' || !atValue(text, at) ? m : m === 'NaN' ? '"NaN"' : '1e999')),
  );
}

/** Whether a token at `at` stands where a JSON value may (after `:`, `[`, `,` or a minus sign there): {NaN: 1} stays invalid. */
function atValue(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i--;
  if (text[i] === '-') return atValue(text, i);
  return i >= 0 && (text[i] === ':' || text[i] === '[' || text[i] === ',');
}

function parseHeader(bytes: Buffer, what: string): InferHeader {
  let json: unknown;
  try {
    json = parseJsonLenient(bytes);
  } catch (error) {
    throw invalid(`${what} is not valid JSON: ${(error as Error).message}`);
  }
  const result = InferHeaderSchema.safeParse(json);
  if (!result.success) throw invalid(`The request is invalid: ${formatIssues(result.error)}`);
  return result.data;
}

export interface ReadLimits {
  /** BODY_LIMIT: bytes sent, and bytes after inflating. */
  readonly bodyLimit: number;
  /** MAX_ELEMENTS: numbers in one tensor. */
  readonly maxElements: number;
}

interface Slot {
  readonly index: number;
  readonly values: BinaryValues;
  readonly bytes: Uint8Array;
}

/** Memory for a binary input of `byteLength` bytes: every byte of it is written from the body before it is read. */
export type TensorMemory = (byteLength: number) => ArrayBufferLike;

/** A tensor over `memory` (ArrayBuffer or SharedArrayBuffer) of exactly its size. */
function tensorOver(datatype: BinaryDatatype, memory: ArrayBufferLike): BinaryValues {
  switch (datatype) {
    case 'FP64':
      return new Float64Array(memory);
    case 'FP32':
      return new Float32Array(memory);
    case 'INT64':
      return new BigInt64Array(memory);
    case 'INT32':
      return new Int32Array(memory);
  }
}

const freshMemory: TensorMemory = (byteLength) => new ArrayBuffer(byteLength);

/** Takes the (inflated) body chunk by chunk; `finish()` gives the request or throws the problem. */
export class InferBodyReader {
  readonly #headerLength: number | undefined;
  readonly #limits: ReadLimits;
  readonly #memory: TensorMemory;
  /** Set on the first problem; the rest of the body is then only counted. */
  #error: ProblemError | undefined;
  #received = 0;
  readonly #headerChunks: Buffer[] = [];
  #headerReceived = 0;
  #header: InferHeader | undefined;
  #slots: Slot[] = [];
  #binary = new Map<number, BinaryValues>();
  #slot = 0;
  #filled = 0;
  #expected = 0;
  #extra = 0;

  constructor(headerLength: number | undefined, limits: ReadLimits, memory: TensorMemory = freshMemory) {
    this.#headerLength = headerLength;
    this.#limits = limits;
    this.#memory = memory;
    if (headerLength === 0) this.fail(invalid('Inference-Header-Content-Length is 0, but the JSON header cannot be empty.'));
  }

  /** Over BODY_LIMIT after inflating: the caller stops reading. */
  get tooLarge(): ProblemError | undefined {
    return this.#error?.code === 'ACT_ERR_BODY_TOO_LARGE' ? this.#error : undefined;
  }

  fail(error: ProblemError): void {
    this.#error ??= error;
  }

  push(chunk: Buffer): void {
    this.#received += chunk.length;
    if (this.#received > this.#limits.bodyLimit) {
      this.#error = bodyTooLarge(this.#limits.bodyLimit, 'inflated ');
      return;
    }
    if (this.#error) return;
    const h = this.#headerLength;
    if (h === undefined) {
      this.#headerChunks.push(chunk);
      return;
    }
    let offset = 0;
    if (this.#headerReceived < h) {
      offset = Math.min(h - this.#headerReceived, chunk.length);
      this.#headerChunks.push(chunk.subarray(0, offset));
      this.#headerReceived += offset;
      if (this.#headerReceived < h) return;
      try {
        this.#startBinary();
      } catch (error) {
        this.fail(error as ProblemError);
        return;
      }
    }
    this.#fill(chunk, offset);
  }

  #fill(chunk: Buffer, offset: number): void {
    const slots = this.#slots;
    while (offset < chunk.length) {
      while (this.#slot < slots.length && this.#filled === slots[this.#slot].bytes.length) {
        this.#slot++;
        this.#filled = 0;
      }
      if (this.#slot >= slots.length) {
        this.#extra += chunk.length - offset;
        return;
      }
      const target = slots[this.#slot].bytes;
      const n = Math.min(target.length - this.#filled, chunk.length - offset);
      target.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
    }
  }

  /** The header is complete: check it and give every binary input its own buffer. */
  #startBinary(): void {
    const header = parseHeader(Buffer.concat(this.#headerChunks), `The JSON header (the first ${describeSize(this.#headerLength!)}, Inference-Header-Content-Length)`);
    this.#headerChunks.length = 0;
    this.#header = header;
    let total = 0;
    header.inputs.forEach((input, index) => {
      const size = input.parameters?.binary_data_size;
      if (size === undefined) return;
      const name = JSON.stringify(input.name);
      if (input.data !== undefined) throw invalid(`Input ${name} has both data and binary_data_size; send one of them.`);
      // Own keys only: "constructor" would find Object's.
      const elementSize = Object.hasOwn(ELEMENT_SIZE, input.datatype) ? ELEMENT_SIZE[input.datatype as BinaryDatatype] : undefined;
      if (elementSize === undefined) {
        throw invalid(`Input ${name} has datatype ${JSON.stringify(input.datatype)}; binary tensors here are FP32 or FP64 (INT32 or INT64 for class indices).`);
      }
      if (size % elementSize !== 0) {
        throw invalid(`Input ${name}: binary_data_size ${size} is not a multiple of ${elementSize}, the size of one ${input.datatype} element.`);
      }
      const elements = size / elementSize;
      if (elements > this.#limits.maxElements) {
        throw new ProblemError(
          'ACT_ERR_TOO_MANY_ELEMENTS',
          `Input ${name} holds ${elements} numbers; the limit is ${this.#limits.maxElements} per request (MAX_ELEMENTS).`,
        );
      }
      total += size;
      // Bounded before anything is allocated: the bytes must also fit in the body.
      if (total > this.#limits.bodyLimit) throw bodyTooLarge(this.#limits.bodyLimit, 'declared binary ');
      const values = tensorOver(input.datatype as BinaryDatatype, this.#memory(size));
      this.#slots.push({ index, values, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
      this.#binary.set(index, values);
    });
    this.#expected = total;
  }

  finish(): InferBody {
    if (this.#error) throw this.#error;
    const h = this.#headerLength;
    if (h === undefined) {
      if (this.#received === 0) throw invalid('The body is empty; an inference request is JSON, optionally followed by binary tensors.');
      const header = parseHeader(Buffer.concat(this.#headerChunks), 'The body');
      const binary = header.inputs.find((input) => input.parameters?.binary_data_size !== undefined);
      if (binary) {
        throw invalid(
          `Input ${JSON.stringify(binary.name)} has binary_data_size, but the request has no Inference-Header-Content-Length header to say where the JSON ends.`,
        );
      }
      return { header, binary: new Map() };
    }
    if (this.#headerReceived < h) {
      throw invalid(`Inference-Header-Content-Length is ${h}, but the body has only ${describeSize(this.#headerReceived)}.`);
    }
    const after = this.#received - h;
    if (after !== this.#expected) {
      throw invalid(
        `The body has ${describeSize(after)} after the JSON header, but the inputs' binary_data_size add up to ${describeSize(this.#expected)}.`,
      );
    }
    if (!LITTLE_ENDIAN) for (const slot of this.#slots) swapToNative(slot);
    return { header: this.#header!, binary: this.#binary };
  }
}

/** The wire is little-endian; on a big-endian machine the bytes are swapped in place. */
function swapToNative(slot: Slot): void {
  const bytes = Buffer.from(slot.bytes.buffer, slot.bytes.byteOffset, slot.bytes.byteLength);
  if (slot.values.BYTES_PER_ELEMENT === 8) bytes.swap64();
  else bytes.swap32();
}

function bodyTooLarge(limit: number, what = ''): ProblemError {
  return new ProblemError('ACT_ERR_BODY_TOO_LARGE', `The ${what}body is larger than the limit of ${limit} bytes (BODY_LIMIT).`);
}

/** `Inference-Header-Content-Length`, if sent: a whole number of bytes. */
export function headerLengthOf(request: FastifyRequest): number | undefined {
  const value = request.headers['inference-header-content-length'];
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (!/^\s*\d{1,15}\s*$/.test(text)) {
    throw invalid(`Inference-Header-Content-Length must be the byte length of the JSON header, a whole number; got ${JSON.stringify(text.slice(0, 40))}.`);
  }
  return Number(text);
}

/**
 * Fastify content-type parser for every media type (and none): reads the body
 * into an InferBody, or fails with the problem. Registered inside the /v2
 * plugin only, so /v1 keeps its JSON-only parsers and its 415. `tensorsOf`
 * gives the request's tensor memory, if it has any to lease from.
 */
export function inferBodyParser(limits: ReadLimits, tensorsOf?: (request: FastifyRequest) => RequestTensors | undefined) {
  return (request: FastifyRequest, payload: Readable, done: (error: Error | null, body?: InferBody | RejectedBody) => void): void => {
    const tensors = tensorsOf?.(request);
    let settled = false;
    const settle = (error: Error | null, body?: InferBody | RejectedBody) => {
      if (settled) return;
      settled = true;
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      // A failed parse never reaches the handler: nothing will compute on what was leased.
      if (error) tensors?.handlerDone();
      done(error, body);
    };

    const contentLength = Number(request.headers['content-length']);
    if (contentLength > limits.bodyLimit) {
      settle(bodyTooLarge(limits.bodyLimit));
      return;
    }
    let headerLength: number | undefined;
    let early: ProblemError | undefined;
    try {
      headerLength = headerLengthOf(request);
    } catch (error) {
      early = error as ProblemError;
    }
    const reader = new InferBodyReader(headerLength, limits, tensors && ((byteLength) => tensors.memory(byteLength)));
    if (early) reader.fail(early);

    const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    let inflate: ReturnType<typeof createUnzip> | undefined;
    let ended = false;
    let discard = false;
    if (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate') {
      // createUnzip reads both gzip and zlib (HTTP's "deflate") streams, by their header.
      inflate = createUnzip();
      inflate.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        const tooLarge = reader.tooLarge;
        if (tooLarge) {
          inflate!.destroy();
          settle(tooLarge);
        }
      });
      // A bad stream fails the request, not the connection: the rest of the body is only counted, and the answer
      // (a RejectedBody) goes out once it has all arrived.
      inflate.on('error', (error) => {
        reader.fail(invalid(`The body is not valid ${encoding} data: ${error.message}`));
        inflate = undefined;
        discard = true;
        if (ended) settle(...finish(reader));
      });
      inflate.on('end', () => settle(...finish(reader)));
    } else if (encoding !== 'identity') {
      reader.fail(
        new ProblemError('ACT_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(encoding)} is not supported; send gzip, deflate or none.`),
      );
    }

    let sent = 0;
    function onData(chunk: Buffer | string) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      sent += buffer.length;
      if (sent > limits.bodyLimit) {
        inflate?.destroy();
        settle(bodyTooLarge(limits.bodyLimit));
        return;
      }
      if (inflate) inflate.write(buffer);
      else if (!discard) {
        reader.push(buffer);
        const tooLarge = reader.tooLarge;
        if (tooLarge) settle(tooLarge);
      }
      // One chunk per connection per event-loop turn: libuv otherwise reads up to 32 chunks (2 MB) from each
      // readable socket in a turn, and with a few 8 MB bodies arriving, /healthz waited 14-22 ms at p50
      // behind those turns (3 ms with this; throughput unchanged within this host's noise, docs/BENCHMARKS.md).
      // Not after the last chunk: a body in one chunk (most JSON requests) goes on at once.
      if (!settled && sent !== contentLength) {
        payload.pause();
        setImmediate(() => payload.resume());
      }
    }
    function onEnd() {
      ended = true;
      if (!Number.isNaN(contentLength) && sent !== contentLength) {
        inflate?.destroy();
        settle(invalid('The Content-Length does not match the body.'));
        return;
      }
      if (inflate) inflate.end();
      else settle(...finish(reader));
    }
    function onError(error: Error & { statusCode?: number }) {
      inflate?.destroy();
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      settle(error);
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  };
}

/** The request, or why it is not one; either way the body has been read to its end. */
function finish(reader: InferBodyReader): [Error | null, (InferBody | RejectedBody)?] {
  try {
    return [null, reader.finish()];
  } catch (error) {
    // Anything but a problem is a bug of ours: it goes to the error handler (a 500), never uncaught.
    return error instanceof ProblemError ? [null, new RejectedBody(error)] : [error as Error];
  }
}
