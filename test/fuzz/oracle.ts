/**
 * What a fuzzed response must be: a 2xx whose numbers are, bit for bit, what
 * the core kernels (runForward/runBackward) give for the same body, or a 4xx
 * application/problem+json that says what is wrong. Never a 5xx, never a
 * hang. The body is read as the server reads it: JSON.parse of the text sent.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { ActivationDefinition } from '../../src/core/activation.js';
import { outputCols, runBackward, runForward, type Dtype } from '../../src/core/batch.js';
import type { Op } from './arbitraries.js';

type Json = Record<string, any>;

/** The per-request time limit: a request that takes longer counts as a hang. */
export const REQUEST_TIMEOUT_MS = 5_000;

export class OracleError extends Error {
  override name = 'OracleError';
}

function fail(message: string): never {
  throw new OracleError(message);
}

export async function withTimeout<T>(promise: Promise<T>, label: string, ms = REQUEST_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OracleError(`no answer within ${ms} ms (a hang): ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
}

export async function injectWithin(app: FastifyInstance, options: InjectOptions): Promise<Answer> {
  const label = `${options.method ?? 'GET'} ${String(options.url).slice(0, 120)}`;
  const res = await withTimeout(app.inject(options), label);
  return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text: res.payload };
}

/** The body as the server's JSON parser sees it (a leading BOM is skipped); undefined when it is not JSON. */
export function parseSent(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
  } catch {
    return undefined;
  }
}

const decode = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

function toFloat64(batch: unknown[][]): Float64Array {
  return Float64Array.from(batch.flatMap((row) => row.map(decode)));
}

/** JSON has no -0 and no non-finite numbers: the service writes 0, "NaN", "Infinity", "-Infinity". */
function sameNumber(got: unknown, want: number): boolean {
  if (want !== want) return got === 'NaN';
  if (want === Infinity) return got === 'Infinity';
  if (want === -Infinity) return got === '-Infinity';
  return got === want;
}

function compareMatrix(what: string, got: unknown, want: Float64Array, rows: number, cols: number): void {
  if (!Array.isArray(got) || got.length !== rows) fail(`${what}: expected ${rows} rows, got ${JSON.stringify(got)?.slice(0, 200)}`);
  for (let r = 0; r < rows; r++) {
    const row = got[r] as unknown[];
    if (!Array.isArray(row) || row.length !== cols) fail(`${what}[${r}]: expected ${cols} numbers, got ${JSON.stringify(row)?.slice(0, 200)}`);
    for (let c = 0; c < cols; c++) {
      const want1 = want[r * cols + c];
      if (!sameNumber(row[c], want1)) fail(`${what}[${r}][${c}]: the service says ${JSON.stringify(row[c])}, the core kernel ${want1}`);
    }
  }
}

function compareValue(what: string, got: unknown, want: unknown): void {
  if (typeof want === 'number') {
    if (!sameNumber(got, want)) fail(`${what}: the service says ${JSON.stringify(got)}, the core kernel ${want}`);
  } else if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) fail(`${what}: expected ${want.length} values, got ${JSON.stringify(got)?.slice(0, 200)}`);
    want.forEach((w, i) => compareValue(`${what}[${i}]`, (got as unknown[])[i], w));
  } else if (want && typeof want === 'object') {
    const keys = Object.keys(want).sort();
    if (!got || typeof got !== 'object' || JSON.stringify(Object.keys(got).sort()) !== JSON.stringify(keys)) {
      fail(`${what}: expected keys ${keys}, got ${JSON.stringify(got)?.slice(0, 200)}`);
    }
    for (const k of keys) compareValue(`${what}.${k}`, (got as Json)[k], (want as Json)[k]);
  } else if (got !== want) fail(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

/**
 * A 2xx: the numbers must be the core kernel's for the same body. Params are
 * the activation's own parse of `params` (defaults filled), plus its extra
 * body fields; a training-mode seed the server chose comes back in the
 * response and is used here.
 */
export function checkSuccess(def: ActivationDefinition, op: Op, sent: Json, got: Json): void {
  if (got.activation !== def.name) fail(`activation: ${JSON.stringify(got.activation)}`);
  const dtype = (sent.dtype ?? 'float64') as Dtype;
  if (got.dtype !== dtype) fail(`dtype: sent ${JSON.stringify(sent.dtype)}, got ${JSON.stringify(got.dtype)}`);
  const parsed = def.params.safeParse(sent.params ?? {});
  if (!parsed.success) fail(`a 2xx for params the activation rejects: ${JSON.stringify(sent.params)}: ${parsed.error.message}`);
  let params: Json = { ...(parsed.data as Json) };
  for (const field of [...Object.keys(def.bodyFields ?? {}), ...Object.keys(def.backwardBodyFields ?? {})]) {
    if (sent[field] !== undefined) params[field] = sent[field];
  }
  if (got.seed !== undefined) {
    if (params.seed !== undefined && params.seed !== got.seed) fail(`seed: sent ${params.seed}, the response says ${got.seed}`);
    params.seed = got.seed;
  } else if (params.training === true) fail('training mode, but the response has no seed');
  if (def.resolveParams) params = def.resolveParams(params as never) as Json;
  const inputs = sent.inputs as unknown[][];
  const rows = inputs.length;
  const cols = inputs[0].length;
  const x = toFloat64(inputs);
  if (op === 'forward') {
    const want = runForward(def, { x, rows, cols, params, dtype });
    compareValue('shape', got.shape, [want.rows, want.cols]);
    compareMatrix('outputs', got.outputs, want.out, want.rows, want.cols);
    return;
  }
  const width = outputCols(def, cols, params);
  const dy = sent.grad_outputs ? toFloat64(sent.grad_outputs as unknown[][]) : new Float64Array(rows * width).fill(1);
  const want = runBackward(def, { x, dy, rows, cols, params, dtype });
  compareValue('shape', got.shape, [rows, cols]);
  compareMatrix('grad_inputs', got.grad_inputs, want.dx, rows, cols);
  if (want.gradParams) compareValue('grad_params', got.grad_params, want.gradParams);
  else if (got.grad_params !== undefined) fail(`grad_params where the kernel gives none: ${JSON.stringify(got.grad_params).slice(0, 200)}`);
}

/** Every segment of an error path points into the request: existing indices, or names of fields. */
function pointsInto(sent: unknown, pointer: string): boolean {
  if (pointer === '/' || pointer === '') return true;
  const segments = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = sent;
  let missing = false;
  for (const segment of segments) {
    const numeric = /^\d+$/.test(segment);
    if (missing) {
      if (numeric) return false;
      continue;
    }
    if (Array.isArray(node)) {
      if (!numeric || Number(segment) >= node.length) return false;
      node = node[Number(segment)];
    } else if (node && typeof node === 'object') {
      if (segment in node) node = (node as Json)[segment];
      else missing = true;
    } else {
      // Past a scalar: only a named field may follow (a missing object).
      if (numeric) return false;
      missing = true;
    }
  }
  return true;
}

export interface ProblemExpectations {
  /** The request body as the server parsed it, when it is JSON: error paths must point into it. */
  sent?: { value: unknown };
  /** Error paths are relative to this part of the request (e.g. "/querystring"). */
  prefix?: string;
}

/** A 4xx problem+json that names what is wrong. */
export function checkProblem(answer: Answer, expect: ProblemExpectations = {}): Json {
  const { status } = answer;
  if (status < 400 || status >= 500) fail(`expected a 4xx problem, got ${status}: ${answer.text.slice(0, 300)}`);
  if (!answer.contentType.startsWith('application/problem+json')) fail(`a ${status} as ${answer.contentType}`);
  const problem = JSON.parse(answer.text) as Json;
  if (problem.status !== status) fail(`the problem says ${problem.status}, the status line ${status}`);
  if (typeof problem.detail !== 'string' || problem.detail.length < 10) fail(`no useful detail: ${answer.text.slice(0, 300)}`);
  if (/\n\s+at |node_modules|\.ts:\d+/.test(answer.text)) fail(`internals leak: ${answer.text.slice(0, 300)}`);
  switch (problem.code) {
    case 'ACT_ERR_VALIDATION':
      if (problem.errors !== undefined) {
        if (!Array.isArray(problem.errors) || problem.errors.length === 0) fail(`empty errors: ${answer.text.slice(0, 300)}`);
        for (const e of problem.errors as Json[]) {
          if (typeof e.path !== 'string' || !e.path.startsWith('/')) fail(`an error path that is no JSON Pointer: ${JSON.stringify(e)}`);
          if (typeof e.message !== 'string' || e.message.length === 0) fail(`an error without a message: ${JSON.stringify(e)}`);
        }
        const first = (problem.errors as Json[])[0];
        const field = first.path.split('/').filter(Boolean)[0] ?? '/';
        if (!problem.detail.includes(first.path) && !problem.detail.includes(field)) fail(`the detail names neither ${first.path} nor ${field}: ${problem.detail}`);
        if (expect.sent) {
          const prefix = expect.prefix ?? '';
          for (const e of problem.errors as Json[]) {
            const path = prefix && e.path.startsWith(prefix) ? e.path.slice(prefix.length) || '/' : e.path;
            if (!pointsInto(expect.sent.value, path)) fail(`error path ${e.path} points nowhere in the request ${JSON.stringify(expect.sent.value)?.slice(0, 300)}`);
          }
        }
      }
      break;
    case 'ACT_ERR_MALFORMED_JSON':
      if (!/JSON|Content-Length/.test(problem.detail)) fail(`malformed JSON without saying so: ${problem.detail}`);
      break;
    case 'ACT_ERR_TOO_MANY_ELEMENTS':
    case 'ACT_ERR_BODY_TOO_LARGE':
      if (!/limit/.test(problem.detail) || !/\d/.test(problem.detail)) fail(`a 413 that does not state the limit: ${problem.detail}`);
      break;
    case 'ACT_ERR_UNSUPPORTED_MEDIA_TYPE':
      if (!problem.detail.includes('application/json')) fail(`a 415 that does not say what is taken: ${problem.detail}`);
      break;
    case 'ACT_ERR_UNKNOWN_ACTIVATION':
      if (!Array.isArray(problem.suggestions)) fail(`an unknown activation without suggestions: ${answer.text}`);
      break;
    default:
      break;
  }
  return problem;
}

/** Either a correct 2xx or a 4xx problem naming what is wrong; never anything else. */
export function checkComputeAnswer(def: ActivationDefinition, op: Op, bodyText: string, answer: Answer): 'ok' | 'problem' {
  if (answer.status >= 500) fail(`a ${answer.status}: ${answer.text.slice(0, 400)}`);
  const sent = parseSent(bodyText);
  if (answer.status >= 200 && answer.status < 300) {
    if (!sent || !sent.value || typeof sent.value !== 'object') fail(`a ${answer.status} for a body that is not a JSON object: ${bodyText.slice(0, 200)}`);
    if (!answer.contentType.startsWith('application/json')) fail(`a ${answer.status} as ${answer.contentType}`);
    checkSuccess(def, op, sent.value as Json, JSON.parse(answer.text) as Json);
    return 'ok';
  }
  checkProblem(answer, { sent });
  return 'problem';
}

/** Short text of a value for labels. */
export const short = (text: string, n = 160) => (text.length > n ? `${text.slice(0, n)}…` : text);
