/**
 * Request and response bodies of the compute routes, built from each
 * activation's own definition so its params schema reaches validation and
 * the OpenAPI document alike. Built once per activation (schema ids are global).
 */
import { z } from 'zod';
import type { ActivationDefinition } from '../core/activation.js';
import { outputCols } from '../core/batch.js';
import { BatchSchema } from './numbers.js';

export const DtypeSchema = z
  .enum(['float64', 'float32'])
  .default('float64')
  .meta({
    id: 'Dtype',
    description: 'float32: inputs are rounded to float32, computed in float64 and the results rounded to float32 once.',
  });

const ShapeSchema = z.tuple([z.number().int(), z.number().int()]).describe('[rows, cols] of the result.');

const pascal = (name: string) => name.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());

export interface ComputeSchemas {
  forwardBody: z.ZodObject;
  backwardBody: z.ZodObject;
  forwardResponse: z.ZodObject;
  backwardResponse: z.ZodObject;
}

const cache = new Map<string, ComputeSchemas>();

export function computeSchemas(def: ActivationDefinition): ComputeSchemas {
  const cached = cache.get(def.name);
  if (cached) return cached;
  const id = pascal(def.name);
  const params = def.params
    .prefault({})
    .meta({ id: `${id}Params`, description: `Parameters of ${def.name}; omitted ones take their defaults.` });
  const forwardBody = z
    .strictObject({
      inputs: BatchSchema,
      params,
      dtype: DtypeSchema,
      ...def.bodyFields,
    })
    .meta({ id: `${id}ForwardRequest`, example: exampleBodies(def).forward });
  const backwardBody = z
    .strictObject({
      inputs: BatchSchema,
      grad_outputs: def.gradOutputsOptional
        ? BatchSchema.optional().describe('Upstream gradient dL/dy, the shape of the forward output; ones when omitted.')
        : BatchSchema.describe('Upstream gradient dL/dy, the shape of the forward output.'),
      params,
      dtype: DtypeSchema,
      ...def.bodyFields,
      ...def.backwardBodyFields,
    })
    .meta({ id: `${id}BackwardRequest`, example: exampleBodies(def).backward });
  const learnable = def.learnable.length > 0;
  const forwardResponse = z
    .object({
      activation: z.literal(def.name),
      dtype: z.enum(['float64', 'float32']),
      shape: ShapeSchema,
      outputs: BatchSchema,
      ...def.responseFields?.shape,
    })
    .meta({ id: `${id}ForwardResponse` });
  const backwardResponse = z
    .object({
      activation: z.literal(def.name),
      dtype: z.enum(['float64', 'float32']),
      shape: ShapeSchema.describe('[rows, cols] of grad_inputs.'),
      grad_inputs: BatchSchema.describe('dL/dx, the shape of inputs.'),
      ...(learnable
        ? {
            grad_params: optionalLearnable(def)
              ? z
                  .record(z.string(), z.unknown())
                  .optional()
                  .describe(`Gradients of the learnable parameters (${def.learnable.join(', ')}), summed over the batch; absent when the request gives none of them.`)
              : z
                  .record(z.string(), z.unknown())
                  .describe(`Gradients of the learnable parameters (${def.learnable.join(', ')}), summed over the batch.`),
          }
        : {}),
      ...def.responseFields?.shape,
    })
    .meta({ id: `${id}BackwardResponse` });
  const schemas = { forwardBody, backwardBody, forwardResponse, backwardResponse };
  cache.set(def.name, schemas);
  return schemas;
}

/** True when every learnable parameter may be left out with no default (maxout's weight): backward then has no grad_params. */
function optionalLearnable(def: ActivationDefinition): boolean {
  return def.learnable.every((name) => {
    const parsed = (def.params.shape[name] as z.ZodType | undefined)?.safeParse(undefined);
    return parsed?.success === true && parsed.data === undefined;
  });
}

/**
 * The activation's example as request bodies: forward, and backward with ones
 * as grad_outputs. The OpenAPI examples, and the soak and tests that send
 * every activation's example, all use these.
 */
export function exampleBodies(def: ActivationDefinition): { forward: Record<string, unknown>; backward: Record<string, unknown> } {
  const { inputs, params, body } = def.example;
  const width = outputCols(def, inputs[0].length, def.params.parse(params ?? {}));
  const gradOutputs = inputs.map(() => Array.from({ length: width }, () => 1));
  const rest = { ...(params ? { params } : {}), dtype: 'float64', ...body };
  return { forward: { inputs, ...rest }, backward: { inputs, grad_outputs: gradOutputs, ...rest } };
}

export interface ForwardBody {
  inputs: z.output<typeof BatchSchema>;
  params: Record<string, unknown>;
  dtype: 'float64' | 'float32';
}

export interface BackwardBody extends ForwardBody {
  grad_outputs?: z.output<typeof BatchSchema>;
}
