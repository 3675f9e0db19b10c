/**
 * What a compute body becomes, and what its answer looks like: the checks
 * beyond the zod schema (element limit, params against the batch shape, the
 * shape of grad_outputs), the kernel task, and the response JSON text.
 *
 * Shared by the two places a body is handled: the route on the main thread
 * (routes/compute.ts, small bodies parsed by Fastify) and the worker that
 * takes large bodies as raw bytes (workers/compute-json.ts). One code path
 * for both means the same bytes and the same problems either way.
 *
 * Pure: no Fastify, no Piscina.
 */
import type { ActivationDefinition } from '../core/activation.js';
import { outputCols, type BackwardResult, type BackwardTask, type ForwardResult, type ForwardTask } from '../core/batch.js';
import { ProblemError } from '../errors.js';
import type { BackwardBody, ForwardBody } from './compute.js';
import { batchToFloat64, matrixToJson, valueToJson } from './numbers.js';

/** The batch fields: their numbers count against MAX_ELEMENTS, and plain ones skip zod's walk (withPlainBatches). */
const COUNTED = ['inputs', 'grad_outputs'] as const;

/** A body validator as fastify-type-provider-zod compiles one: the parsed value, or the issues. */
export type BodyValidator<E = unknown> = (data: unknown) => { value?: unknown; error?: E };

const PLACEHOLDER_BATCH = [[0]];

/**
 * A batch BatchSchema accepts as it is: rows of numbers, non-empty, all of one
 * width, every number finite.
 */
function isPlainBatch(value: unknown): value is number[][] {
  if (!Array.isArray(value) || value.length === 0) return false;
  const first: unknown = value[0];
  if (!Array.isArray(first) || first.length === 0) return false;
  const width = first.length;
  for (const row of value as unknown[]) {
    if (!Array.isArray(row) || row.length !== width) return false;
    for (let i = 0; i < width; i++) {
      const v: unknown = row[i];
      // A literal beyond the doubles (1e999) parses to ±Infinity, which the schema refuses: not plain.
      if (typeof v !== 'number' || v - v !== 0) return false;
    }
  }
  return true;
}

/** A value and everything in it made read-only, so that one memoised answer can be handed to every request. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * A compute body's schema validation with plain batches checked by the loop
 * above and stood in for by a one-number batch while zod checks the rest:
 * zod's per-number union and the arrays it copies were 9% of a worker's time
 * on a 64×1024 body. The answer is the same: a plain batch is one zod accepts
 * unchanged, and the body schemas relate no field to a batch's contents.
 * Anything else (NaN strings, ragged rows) goes through zod whole, for its
 * error messages. Used by the route and the worker alike.
 *
 * A body of plain batches and at most a dtype (every param at its default,
 * the usual request) has one answer per dtype, which is kept: zod's walk of
 * the light body, 0.5 µs in a loop, took 7 to 10 µs inside a running server
 * (its schema objects no longer in the cache between requests), a seventh
 * of a tiny request's time (docs/BENCHMARKS.md).
 */
export function withPlainBatches<E>(validate: BodyValidator<E>): BodyValidator<E> {
  // Kept answers by which batches are plain (inputs, grad_outputs, both) and then by dtype (undefined when absent).
  const usual = [0, 1, 2].map(() => new Map<unknown, Readonly<Record<string, unknown>>>());
  return (body) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return validate(body);
    const fields = body as Record<string, unknown>;
    const plain = COUNTED.filter((f) => isPlainBatch(fields[f]));
    if (plain.length === 0) return validate(body);
    // Only a string dtype besides the batches: its value and which batches are plain settle zod's answer.
    let kept: Map<unknown, Readonly<Record<string, unknown>>> | undefined;
    let keys = 0;
    for (const f in fields) keys++;
    const dtype = fields.dtype;
    if (keys === plain.length + (dtype === undefined ? 0 : 1) && (dtype === undefined || typeof dtype === 'string')) {
      kept = usual[plain.length === 2 ? 2 : plain[0] === 'inputs' ? 0 : 1];
    }
    let checked = kept?.get(dtype);
    if (!checked) {
      const light = { ...fields };
      for (const f of plain) light[f] = PLACEHOLDER_BATCH;
      const result = validate(light);
      if (result.error) return result;
      checked = result.value as Record<string, unknown>;
      // Only answers zod accepted are kept: the dtypes it takes, so a handful of keys.
      kept?.set(dtype, deepFreeze(checked));
    }
    const value = { ...checked };
    for (const f of plain) value[f] = fields[f];
    return { value };
  };
}

/** Numbers in a batch, counted before validation so an oversized batch costs no schema walk. */
export function countElements(batch: unknown): number {
  if (!Array.isArray(batch)) return 0;
  let n = 0;
  for (const row of batch) n += Array.isArray(row) ? row.length : 1;
  return n;
}

/** The 413 for a parsed (not yet validated) body carrying more than `max` numbers in a batch, or undefined. */
export function elementLimitProblem(body: unknown, max: number): ProblemError | undefined {
  if (!body || typeof body !== 'object') return undefined;
  for (const field of COUNTED) {
    const count = countElements((body as Record<string, unknown>)[field]);
    if (count > max) {
      return new ProblemError(
        'ACT_ERR_TOO_MANY_ELEMENTS',
        `${field} holds ${count} numbers; the limit is ${max} per request (MAX_ELEMENTS).`,
      );
    }
  }
  return undefined;
}

/** [rows, cols] of `inputs` in a parsed body, valid or not (for logs); undefined if it is not an array. */
export function shapeOfBody(body: unknown): [number, number] | undefined {
  const inputs = (body as { inputs?: unknown } | null | undefined)?.inputs;
  if (!Array.isArray(inputs)) return undefined;
  const first: unknown = inputs[0];
  return [inputs.length, Array.isArray(first) ? first.length : 0];
}

/**
 * The answer's numbers bounded as the inputs are: an output row's width can
 * come from params (maxout's units from its weights), so a small batch could
 * otherwise ask for any number of them (10 000 rows of one number with 10 000
 * units: 10^8 outputs and 24 s of a blocked event loop).
 */
export function outputLimitProblem(def: ActivationDefinition, rows: number, cols: number, params: unknown, max: number): ProblemError | undefined {
  const width = outputCols(def, cols, params);
  const count = rows * width;
  if (count <= max) return undefined;
  return new ProblemError(
    'ACT_ERR_TOO_MANY_ELEMENTS',
    `The answer would hold ${count} numbers (${rows} rows of ${width}); the limit is ${max} per request (MAX_ELEMENTS).`,
  );
}

/**
 * The params a kernel sees: the validated params, the activation's extra body
 * fields under their own names, and values chosen now (a seed); checked
 * against the batch shape and the answer's size.
 */
export function kernelParams(def: ActivationDefinition, body: ForwardBody, rows: number, cols: number, maxElements: number): Record<string, unknown> {
  const fields = [...Object.keys(def.bodyFields ?? {}), ...Object.keys(def.backwardBodyFields ?? {})];
  let params: Record<string, unknown> = { ...body.params };
  for (const field of fields) {
    const value = (body as unknown as Record<string, unknown>)[field];
    if (value !== undefined) params[field] = value;
  }
  const issue = def.checkShape?.(params as never, rows, cols);
  if (issue) {
    throw new ProblemError('ACT_ERR_VALIDATION', `${issue.path}: ${issue.message}`, { errors: [{ ...issue }] });
  }
  const tooMany = outputLimitProblem(def, rows, cols, params, maxElements);
  if (tooMany) throw tooMany;
  if (def.resolveParams) params = def.resolveParams(params as never) as Record<string, unknown>;
  return params;
}

export interface Prepared<T> {
  readonly task: T;
  /** The kernel params, for the response's extra fields. */
  readonly params: Record<string, unknown>;
}

/** A validated forward body as a kernel task (throws a 400 ProblemError when params do not fit the batch). */
export function forwardTask(def: ActivationDefinition, body: ForwardBody, maxElements: number): Prepared<ForwardTask> {
  const rows = body.inputs.length;
  const cols = body.inputs[0].length;
  const params = kernelParams(def, body, rows, cols, maxElements);
  return { task: { x: batchToFloat64(body.inputs), rows, cols, params, dtype: body.dtype }, params };
}

/** A validated backward body as a kernel task; grad_outputs must have the forward output's shape (else a 400). */
export function backwardTask(def: ActivationDefinition, body: BackwardBody, maxElements: number): Prepared<BackwardTask> {
  const rows = body.inputs.length;
  const cols = body.inputs[0].length;
  const params = kernelParams(def, body, rows, cols, maxElements);
  const width = outputCols(def, cols, params);
  const grad = body.grad_outputs;
  if (grad) {
    const got = [grad.length, grad[0].length];
    if (got[0] !== rows || got[1] !== width) {
      throw new ProblemError(
        'ACT_ERR_VALIDATION',
        `grad_outputs has shape [${got}] but the forward output has shape [${rows},${width}].`,
        { errors: [{ path: '/grad_outputs', message: `expected shape [${rows},${width}], got [${got}]` }] },
      );
    }
  }
  const dy = grad ? batchToFloat64(grad) : new Float64Array(rows * width).fill(1);
  return { task: { x: batchToFloat64(body.inputs), dy, rows, cols, params, dtype: body.dtype }, params };
}

function extraFields(def: ActivationDefinition, params: Record<string, unknown>): string {
  if (!def.responseFields) return '';
  return Object.entries(def.responseFields.values(params as never))
    .map(([k, v]) => `,${JSON.stringify(k)}:${valueToJson(v)}`)
    .join('');
}

/** The forward response as JSON text, built by hand: no intermediate arrays of numbers. */
export function forwardJson(def: ActivationDefinition, dtype: string, result: ForwardResult, params: Record<string, unknown>): string {
  return `{"activation":${JSON.stringify(def.name)},"dtype":"${dtype}","shape":[${result.rows},${result.cols}],"outputs":${matrixToJson(result.out, result.rows, result.cols)}${extraFields(def, params)}}`;
}

/** The backward response as JSON text. */
export function backwardJson(
  def: ActivationDefinition,
  task: BackwardTask,
  result: BackwardResult,
  params: Record<string, unknown>,
): string {
  const { rows, cols } = task;
  const gradParams = result.gradParams ? `,"grad_params":${valueToJson(result.gradParams)}` : '';
  return `{"activation":${JSON.stringify(def.name)},"dtype":"${task.dtype}","shape":[${rows},${cols}],"grad_inputs":${matrixToJson(result.dx, rows, cols)}${gradParams}${extraFields(def, params)}}`;
}
