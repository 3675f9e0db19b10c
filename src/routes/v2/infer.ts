/**
 * One inference request of a model: the tensors and parameters checked and
 * turned into the task the compute engine runs (the same task /v1 builds, so
 * both answer bit for bit alike), and the result into the answer's outputs.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodType } from 'zod';
import type { Config } from '../../config.js';
import { outputCols, type Dtype, type Floats } from '../../core/batch.js';
import type { ForReply } from '../../plugins/compute.js';
import { ProblemError } from '../../errors.js';
import { outputLimitProblem } from '../../schemas/compute-io.js';
import type { InferHeader } from '../../schemas/oip.js';
import { formatIssues, type InferBody } from './body.js';
import type { Model } from './models.js';
import type { RequestTensors } from '../../tensor-pool.js';
import {
  encodeAnswer,
  flattenValue,
  nest,
  shapeOfValue,
  tensorValues,
  type FloatDatatype,
  type InferAnswer,
  type OutputTensor,
} from './tensors.js';

const invalid = (detail: string) => new ProblemError('ACT_ERR_VALIDATION', detail);

/**
 * Request parameters Triton's clients reserve for themselves; they are never
 * activation parameters (a test checks that none is) and are ignored here.
 */
const RESERVED_PARAMETERS = new Set(['sequence_id', 'sequence_start', 'sequence_end', 'priority', 'timeout', 'headers', 'binary_data_output']);
export const isReservedParameter = (name: string): boolean => RESERVED_PARAMETERS.has(name) || name.startsWith('triton_');

const FLOAT_DATATYPES = new Set(['FP32', 'FP64']);
const FIELD_DATATYPES = new Set(['FP32', 'FP64', 'INT32', 'INT64']);

type HeaderInput = InferHeader['inputs'][number];

interface Located {
  readonly input: HeaderInput;
  readonly index: number;
}

const quoted = (names: Iterable<string>) => [...names].map((n) => `"${n}"`).join(', ');

function inputsByName(model: Model, header: InferHeader): Map<string, Located> {
  const expected = ['input', ...(model.operation === 'backward' ? ['grad_output'] : []), ...Object.keys(model.fields)];
  const found = new Map<string, Located>();
  header.inputs.forEach((input, index) => {
    if (!expected.includes(input.name)) {
      throw invalid(`Model "${model.name}" has no input "${input.name}"; its inputs are ${quoted(expected)}.`);
    }
    if (found.has(input.name)) throw invalid(`Input "${input.name}" is given twice.`);
    found.set(input.name, { input, index });
  });
  if (!found.has('input')) throw invalid(`Model "${model.name}" needs the input "input".`);
  if (model.operation === 'backward' && !found.has('grad_output') && !model.def.gradOutputsOptional) {
    throw invalid(`Model "${model.name}" needs the input "grad_output" (dL/dy, the shape of the forward output).`);
  }
  return found;
}

function checkDatatype(input: HeaderInput, allowed: Set<string>): void {
  if (!allowed.has(input.datatype)) {
    throw invalid(`Input "${input.name}" has datatype ${JSON.stringify(input.datatype)}; it takes ${[...allowed].join(' or ')}.`);
  }
}

/**
 * A parameter value as the client wrote it: the lenient parser reads a bare
 * NaN as the string "NaN" (the tensor decoder's form), which a schema would
 * report as a string; as a number its message says NaN, as it does for the
 * same value in an input tensor.
 */
function asWritten(value: unknown): unknown {
  if (value === 'NaN') return NaN;
  return Array.isArray(value) ? value.map(asWritten) : value;
}

/** A field (softmax_cross_entropy's targets) from its input tensor or its parameter, validated by its schema. */
function fieldValue(name: string, schema: ZodType, tensor: unknown, parameter: unknown, hasTensor: boolean, hasParameter: boolean): unknown {
  if (hasTensor && hasParameter) throw invalid(`"${name}" is given both as an input and as a parameter; send one.`);
  const value = hasTensor ? tensor : parameter;
  const result = schema.safeParse(value);
  if (!result.success) throw invalid(`${hasTensor ? 'Input' : 'Parameter'} "${name}" is invalid: ${formatIssues(result.error)}`);
  return result.data;
}

export interface InferOptions {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly model: Model;
  readonly body: InferBody;
  /** The reply it is for: a pooled task whose client has gone is dropped before it starts. */
  readonly reply?: ForReply;
  /** The request's tensor memory: outputs of binary inputs are written into it (reused memory for large ones). */
  readonly tensors?: RequestTensors;
}

export async function infer({ app, config, model, body, reply, tensors }: InferOptions): Promise<InferAnswer> {
  const { def } = model;
  const { header, binary } = body;
  const inputs = inputsByName(model, header);
  const values = (located: Located) => tensorValues(located.input, binary.get(located.index), config.MAX_ELEMENTS);

  // The batch.
  const xIn = inputs.get('input')!;
  checkDatatype(xIn.input, FLOAT_DATATYPES);
  const xShape = xIn.input.shape;
  if (xShape.length !== 1 && xShape.length !== 2) {
    throw invalid(`Input "input" has shape [${xShape.join(',')}]; it takes [rows, cols], or [n] for one row.`);
  }
  if (xShape.some((d) => d === 0)) throw invalid(`Input "input" has shape [${xShape.join(',')}]; it must not be empty.`);
  const rows = xShape.length === 2 ? xShape[0] : 1;
  const cols = xShape[xShape.length - 1];
  const datatype = xIn.input.datatype as FloatDatatype;
  const dtype: Dtype = datatype === 'FP32' ? 'float32' : 'float64';
  const x = values(xIn);

  // Parameters: the activation's own, and its extra fields (targets), as parameters or input tensors.
  const activationEntries: [string, unknown][] = [];
  const fieldParams = new Map<string, unknown>();
  for (const [key, sent] of Object.entries(header.parameters ?? {})) {
    if (isReservedParameter(key)) continue;
    const value = asWritten(sent);
    // Own keys only: "constructor" or "toString" would otherwise pass for a field and be dropped unchecked.
    if (Object.hasOwn(model.fields, key)) fieldParams.set(key, value);
    else activationEntries.push([key, value]);
  }
  // fromEntries defines every key as its own, "__proto__" too (an assignment would set the prototype instead,
  // unseen by the strict schema).
  const parsed = def.params.safeParse(Object.fromEntries(activationEntries));
  if (!parsed.success) throw invalid(`The parameters are invalid: ${formatIssues(parsed.error, 'parameters')}`);
  let params: Record<string, unknown> = { ...(parsed.data as Record<string, unknown>) };
  for (const [name, schema] of Object.entries(model.fields)) {
    const located = inputs.get(name);
    if (!located && !fieldParams.has(name)) continue;
    let tensor: unknown;
    if (located) {
      checkDatatype(located.input, FIELD_DATATYPES);
      // One entry per row, before nesting: nest() builds shape[0] lists however few numbers there are, so
      // [1e15, 0] (no data at all) would allocate without bound.
      const s = located.input.shape;
      if ((s.length !== 1 && s.length !== 2) || s[0] !== rows) {
        throw invalid(`Input "${name}" has shape [${s.join(',')}]; it takes [${rows}] or [${rows}, n], one entry per row of "input".`);
      }
      tensor = nest(values(located), s);
    }
    params[name] = fieldValue(name, schema, tensor, fieldParams.get(name), located !== undefined, fieldParams.has(name));
  }
  const issue = def.checkShape?.(params as never, rows, cols);
  if (issue) {
    const where = issue.path === '/inputs' ? 'Input "input"' : issue.path.replace(/^\/params\//, 'parameters/').replace(/^\//, '');
    throw invalid(`${where}: ${issue.message}`);
  }
  const tooMany = outputLimitProblem(def, rows, cols, params, config.MAX_ELEMENTS);
  if (tooMany) throw tooMany;
  if (def.resolveParams) params = def.resolveParams(params as never) as Record<string, unknown>;
  const width = outputCols(def, cols, params);

  let outputs: OutputTensor[];
  if (model.operation === 'forward') {
    const result = await app.compute.forward(def, { x, rows, cols, params, dtype, out: tensors?.arrayLike(x, rows * width) }, reply);
    outputs = [{ name: 'output', shape: xShape.length === 2 ? [rows, width] : [width], values: result.out, binary: false }];
  } else {
    const dyIn = inputs.get('grad_output');
    let dy: Floats;
    if (dyIn) {
      checkDatatype(dyIn.input, FLOAT_DATATYPES);
      const s = dyIn.input.shape;
      // [rows, width] as the forward output; a flat [n] too where that is unambiguous (one row, or one column).
      const fits = s.length === 2 ? s[0] === rows && s[1] === width : s.length === 1 && s[0] === rows * width && (rows === 1 || width === 1);
      if (!fits) {
        const answered = xShape.length === 2 ? `[${rows},${width}]` : `[${width}]`;
        throw invalid(`Input "grad_output" has shape [${s.join(',')}], but the forward output has shape ${answered}.`);
      }
      dy = values(dyIn);
    } else {
      dy = new Float64Array(rows * width).fill(1);
    }
    const result = await app.compute.backward(def, { x, dy, rows, cols, params, dtype, dx: tensors?.arrayLike(x, rows * cols) }, reply);
    outputs = [{ name: 'grad_input', shape: [...xShape], values: result.dx, binary: false }];
    for (const [p, grad] of Object.entries(result.gradParams ?? {})) {
      outputs.push({ name: `grad_${p}`, shape: shapeOfValue(grad), values: flattenValue(grad), binary: false });
    }
  }

  return encodeAnswer({
    model: model.name,
    id: header.id,
    parameters: def.responseFields?.values(params as never),
    datatype,
    outputs: selectOutputs(model, header, outputs),
  });
}

/** The outputs asked for (all when none are listed), each binary or JSON as asked. */
function selectOutputs(model: Model, header: InferHeader, computed: OutputTensor[]): OutputTensor[] {
  const binaryByDefault = header.parameters?.binary_data_output === true;
  const requested = header.outputs ?? [];
  if (requested.length === 0) return computed.map((o) => ({ ...o, binary: binaryByDefault }));
  const known = model.metadata.outputs.map((o) => o.name);
  const seen = new Set<string>();
  return requested.map((r) => {
    if (!known.includes(r.name)) throw invalid(`Model "${model.name}" has no output "${r.name}"; its outputs are ${quoted(known)}.`);
    if (seen.has(r.name)) throw invalid(`Output "${r.name}" is requested twice.`);
    seen.add(r.name);
    if (r.parameters && 'classification' in r.parameters) throw invalid(`Output "${r.name}": the classification extension is not supported.`);
    const output = computed.find((o) => o.name === r.name);
    if (!output) {
      throw invalid(`Output "${r.name}" is only computed when the request sets the parameter "${r.name.slice('grad_'.length)}".`);
    }
    return { ...output, binary: r.parameters?.binary_data ?? binaryByDefault };
  });
}
