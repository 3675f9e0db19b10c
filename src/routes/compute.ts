/**
 * POST /v1/activations/{name}/forward and /backward: one pair of routes per
 * registered activation (each with its own params schema in the OpenAPI
 * document), and a catch-all pair that answers 404 for unknown names.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.js';
import { activations } from '../core/activations/index.js';
import type { ActivationDefinition } from '../core/activation.js';
import { outputCols } from '../core/batch.js';
import { ProblemError } from '../errors.js';
import { computeSchemas, type BackwardBody, type ForwardBody } from '../schemas/compute.js';
import { batchToFloat64, matrixToJson, valueToJson } from '../schemas/numbers.js';
import { problemResponses } from '../schemas/problem.js';
import { sendJson } from './send-json.js';
import { unknownActivation } from './suggest.js';

const jsonResponse = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });

/** Counts numbers before validation so an oversized batch costs no schema walk. */
function countElements(batch: unknown): number {
  if (!Array.isArray(batch)) return 0;
  let n = 0;
  for (const row of batch) n += Array.isArray(row) ? row.length : 1;
  return n;
}

function elementLimitHook(config: Config) {
  return async (request: FastifyRequest) => {
    const body = request.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') return;
    for (const field of ['inputs', 'grad_outputs']) {
      const count = countElements(body[field]);
      if (count > config.MAX_ELEMENTS) {
        throw new ProblemError(
          'ACT_ERR_TOO_MANY_ELEMENTS',
          `${field} holds ${count} numbers; the limit is ${config.MAX_ELEMENTS} per request (MAX_ELEMENTS).`,
        );
      }
    }
  };
}

/**
 * The params a kernel sees: the validated params, the activation's extra body
 * fields under their own names, and values chosen now (a seed); checked
 * against the batch shape.
 */
function kernelParams(def: ActivationDefinition, body: ForwardBody, rows: number, cols: number): Record<string, unknown> {
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
  if (def.resolveParams) params = def.resolveParams(params as never) as Record<string, unknown>;
  return params;
}

function extraFields(def: ActivationDefinition, params: Record<string, unknown>): string {
  if (!def.responseFields) return '';
  return Object.entries(def.responseFields.values(params as never))
    .map(([k, v]) => `,${JSON.stringify(k)}:${valueToJson(v)}`)
    .join('');
}

function describeOperation(def: ActivationDefinition, op: 'forward' | 'backward'): string {
  const rule = op === 'forward' ? `$$${def.formula}$$` : `$$${def.derivative}$$`;
  const learnable = def.learnable.length ? ` Learnable: ${def.learnable.join(', ')} (gradients in grad_params).` : '';
  return `${def.summary} ${def.kind === 'row' ? 'Acts on each row.' : 'Acts on every element.'}${learnable}\n\n${rule}`;
}

export default async function computeRoutes(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const preValidation = elementLimitHook(config);
  const errors = problemResponses(400, 413, 415, 500, 503, 504);

  for (const def of activations) {
    const schemas = computeSchemas(def);

    typed.post(
      `/v1/activations/${def.name}/forward`,
      {
        preValidation,
        schema: {
          tags: ['compute'],
          operationId: `${def.name}_forward`,
          summary: `${def.title}: forward`,
          description: describeOperation(def, 'forward'),
          body: schemas.forwardBody,
          response: { 200: jsonResponse('The outputs, shaped [rows, output cols].', schemas.forwardResponse), ...errors },
        },
      },
      async (request, reply) => {
        const body = request.body as unknown as ForwardBody;
        const rows = body.inputs.length;
        const cols = body.inputs[0].length;
        const params = kernelParams(def, body, rows, cols);
        const result = await app.compute.forward(def, { x: batchToFloat64(body.inputs), rows, cols, params, dtype: body.dtype });
        return sendJson(
          reply,
          `{"activation":${JSON.stringify(def.name)},"dtype":"${body.dtype}","shape":[${result.rows},${result.cols}],"outputs":${matrixToJson(result.out, result.rows, result.cols)}${extraFields(def, params)}}`,
        );
      },
    );

    typed.post(
      `/v1/activations/${def.name}/backward`,
      {
        preValidation,
        schema: {
          tags: ['compute'],
          operationId: `${def.name}_backward`,
          summary: `${def.title}: backward`,
          description: describeOperation(def, 'backward'),
          body: schemas.backwardBody,
          response: { 200: jsonResponse('dL/dx, and the gradients of learnable parameters.', schemas.backwardResponse), ...errors },
        },
      },
      async (request, reply) => {
        const body = request.body as unknown as BackwardBody;
        const rows = body.inputs.length;
        const cols = body.inputs[0].length;
        const params = kernelParams(def, body, rows, cols);
        const width = outputCols(def, cols, params);
        const dy = body.grad_outputs ? batchToFloat64(body.grad_outputs) : new Float64Array(rows * width).fill(1);
        if (body.grad_outputs) {
          const got = [body.grad_outputs.length, body.grad_outputs[0].length];
          if (got[0] !== rows || got[1] !== width) {
            throw new ProblemError(
              'ACT_ERR_VALIDATION',
              `grad_outputs has shape [${got}] but the forward output has shape [${rows},${width}].`,
              { errors: [{ path: '/grad_outputs', message: `expected shape [${rows},${width}], got [${got}]` }] },
            );
          }
        }
        const result = await app.compute.backward(def, { x: batchToFloat64(body.inputs), dy, rows, cols, params, dtype: body.dtype });
        const gradParams = result.gradParams ? `,"grad_params":${valueToJson(result.gradParams)}` : '';
        return sendJson(
          reply,
          `{"activation":${JSON.stringify(def.name)},"dtype":"${body.dtype}","shape":[${rows},${cols}],"grad_inputs":${matrixToJson(result.dx, rows, cols)}${gradParams}${extraFields(def, params)}}`,
        );
      },
    );
  }

  // Registered names are static routes and win over this parametric pair.
  const UnknownParams = z.object({ name: z.string() });
  for (const op of ['forward', 'backward']) {
    typed.post(
      `/v1/activations/:name/${op}`,
      { schema: { hide: true, params: UnknownParams } },
      async (request) => {
        throw unknownActivation(request.params.name);
      },
    );
  }
}
