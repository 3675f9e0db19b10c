/**
 * A whole compute request off the event loop: the raw JSON bytes of a large
 * body in, the response JSON bytes out. Parses as Fastify's JSON parser does
 * (secure-json-parse, prototype poisoning refused), counts elements as the
 * route's preValidation hook does, validates with the route's own zod schema
 * through the same validator compiler, computes, and serializes with the
 * same code as the main thread (schemas/compute-io.ts).
 *
 * Failures come back as data, since error classes do not survive the thread
 * boundary: a Fastify error code, the validation issues, or a problem's code
 * and detail. The main thread turns them back into the same errors the inline
 * path throws (plugins/compute.ts), so the one error handler answers alike.
 *
 * Pure apart from the parser: no Piscina here, so tests can call it in-process.
 */
import { isAscii } from 'node:buffer';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { getActivation } from '../core/activations/index.js';
import { runBackward, runForward } from '../core/batch.js';
import { MAX_LISTED_FIELD_ERRORS, ProblemError, type ErrorCode, type FieldError } from '../errors.js';
import { computeSchemas, type BackwardBody, type ForwardBody } from '../schemas/compute.js';
import {
  backwardJson,
  backwardTask,
  elementLimitProblem,
  forwardJson,
  forwardTask,
  shapeOfBody,
  withPlainBatches,
  type BodyValidator,
} from '../schemas/compute-io.js';
import { parseJsonSecure } from '../schemas/json-parse.js';
import { JSON_NUMBER_EXPECTED } from '../schemas/numbers.js';

export type Operation = 'forward' | 'backward';

export interface JsonTask {
  readonly activation: string;
  readonly operation: Operation;
  /** UTF-8 JSON text of the request body, transferred. */
  readonly body: ArrayBuffer;
  readonly maxElements: number;
}

/** One validation issue, as fastify-type-provider-zod reports it to Fastify. */
export interface ValidationIssue {
  readonly instancePath: string;
  readonly message: string;
}

/** Why a request failed, as plain data. */
export type JsonFailure =
  /** Fastify's own parser error (FST_ERR_CTP_INVALID_JSON_BODY, FST_ERR_CTP_EMPTY_JSON_BODY). */
  | { readonly kind: 'fastify'; readonly code: 'FST_ERR_CTP_INVALID_JSON_BODY' | 'FST_ERR_CTP_EMPTY_JSON_BODY' }
  /** The body schema refused it. */
  | { readonly kind: 'validation'; readonly issues: ValidationIssue[]; readonly total: number }
  /** A problem of the catalogue (413 too many elements, 400 params against the shape). */
  | { readonly kind: 'problem'; readonly code: ErrorCode; readonly detail: string; readonly errors?: FieldError[] };

/** The batches' entries the schema refuses, as many as a 400 lists, and how many in all. */
function invalidEntries(body: unknown): { issues: ValidationIssue[]; total: number } {
  const issues: ValidationIssue[] = [];
  let total = 0;
  for (const field of ['inputs', 'grad_outputs']) {
    const batch = (body as Record<string, unknown> | null)?.[field];
    if (!Array.isArray(batch)) continue;
    batch.forEach((row: unknown, r) => {
      if (!Array.isArray(row)) return;
      for (let c = 0; c < row.length; c++) {
        const v: unknown = row[c];
        if ((typeof v === 'number' && v - v === 0) || v === 'NaN' || v === 'Infinity' || v === '-Infinity') continue;
        if (total++ < MAX_LISTED_FIELD_ERRORS) issues.push({ instancePath: `/${field}/${r}/${c}`, message: JSON_NUMBER_EXPECTED });
      }
    });
  }
  if (total === 0) return { issues: [{ instancePath: '', message: 'has more problems than can be listed' }], total: 1 };
  return { issues, total };
}

export type JsonOutcome =
  | {
      readonly ok: true;
      /** The response body, UTF-8 JSON; owns its whole ArrayBuffer, so it can be transferred. */
      readonly json: Uint8Array;
      readonly shape: [number, number];
      /** Numbers in `inputs`, for the metrics. */
      readonly elements: number;
    }
  | { readonly ok: false; readonly failure: JsonFailure; readonly shape?: [number, number] };

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * The body as text. For ASCII bytes, which JSON bodies nearly always are,
 * latin1 reads the same text as UTF-8 in a sixth of the time (0.16 against
 * 1.0 ms for a 64×1024 body); anything else goes through the UTF-8 decoder.
 */
function bodyText(body: ArrayBuffer): string {
  const bytes = Buffer.from(body);
  return isAscii(bytes) ? bytes.toString('latin1') : decoder.decode(bytes);
}


/** A Uint8Array alone on its ArrayBuffer (transferring a view into a shared one would detach its neighbours). */
export function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

const validators = new Map<string, BodyValidator>();

function validatorFor(activation: string, operation: Operation) {
  const key = `${activation}/${operation}`;
  let validate = validators.get(key);
  if (!validate) {
    const def = getActivation(activation);
    // Routes only dispatch registered names; reaching this is a programming error.
    if (!def) throw new Error(`unknown activation ${activation}`);
    const schemas = computeSchemas(def);
    const schema = operation === 'forward' ? schemas.forwardBody : schemas.backwardBody;
    validate = withPlainBatches(
      validatorCompiler({ schema, method: 'POST', url: `/v1/activations/${activation}/${operation}`, httpPart: 'body' }) as BodyValidator,
    );
    validators.set(key, validate);
  }
  return validate;
}

export function computeJson(task: JsonTask): JsonOutcome {
  const def = getActivation(task.activation);
  if (!def) throw new Error(`unknown activation ${task.activation}`);
  if (task.body.byteLength === 0) return { ok: false, failure: { kind: 'fastify', code: 'FST_ERR_CTP_EMPTY_JSON_BODY' } };

  let body: unknown;
  try {
    body = parseJsonSecure(bodyText(task.body));
  } catch {
    return { ok: false, failure: { kind: 'fastify', code: 'FST_ERR_CTP_INVALID_JSON_BODY' } };
  }
  const shape = shapeOfBody(body);

  try {
    const tooMany = elementLimitProblem(body, task.maxElements);
    if (tooMany) throw tooMany;

    let checked: ReturnType<BodyValidator>;
    try {
      checked = validatorFor(task.activation, task.operation)(body);
    } catch (error) {
      // zod gathers a row's issues with push(...issues), which overflows the stack past about 120 000 of them
      // (a row of 500 000 empty strings): those are entries of the batches, found here instead.
      if (!(error instanceof RangeError)) throw error;
      const { issues, total } = invalidEntries(body);
      return { ok: false, failure: { kind: 'validation', issues, total }, shape };
    }
    if (checked.error) {
      const all = checked.error as ValidationIssue[];
      // As many as the error handler lists (the count goes along), not all of them across the thread boundary.
      const issues = all.slice(0, MAX_LISTED_FIELD_ERRORS).map((i) => ({ instancePath: i.instancePath, message: i.message }));
      return { ok: false, failure: { kind: 'validation', issues, total: all.length }, shape };
    }

    let text: string;
    if (task.operation === 'forward') {
      const { task: kernelTask, params } = forwardTask(def, checked.value as ForwardBody, task.maxElements);
      text = forwardJson(def, kernelTask.dtype, runForward(def, kernelTask), params);
    } else {
      const { task: kernelTask, params } = backwardTask(def, checked.value as BackwardBody, task.maxElements);
      text = backwardJson(def, kernelTask, runBackward(def, kernelTask), params);
    }
    return { ok: true, json: ownBuffer(encoder.encode(text)), shape: shape!, elements: shape![0] * shape![1] };
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    const failure: JsonFailure = {
      kind: 'problem',
      code: error.code,
      detail: error.message,
      ...(error.errors ? { errors: error.errors.map((e) => ({ path: e.path, message: e.message })) } : {}),
    };
    return { ok: false, failure, shape };
  }
}
