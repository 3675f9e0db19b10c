/**
 * Request and response bodies of the compute routes, built from each
 * activation's own definition so its params schema reaches validation and
 * the OpenAPI document alike. Built once per activation (schema ids are global).
 */
import { z } from 'zod';
import type { ActivationDefinition } from '../core/activation.js';
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
    .meta({
      id: `${id}ForwardRequest`,
      example: {
        inputs: def.example.inputs,
        ...(def.example.params ? { params: def.example.params } : {}),
        dtype: 'float64',
        ...def.example.body,
      },
    });
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
    .meta({
      id: `${id}BackwardRequest`,
      example: {
        inputs: def.example.inputs,
        grad_outputs: exampleGradOutputs(def),
        ...(def.example.params ? { params: def.example.params } : {}),
        dtype: 'float64',
        ...def.example.body,
      },
    });
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

function exampleGradOutputs(def: ActivationDefinition): number[][] {
  const rows = def.example.inputs.length;
  const cols = def.example.inputs[0].length;
  const params = def.params.parse(def.example.params ?? {});
  const width = def.outputCols ? def.outputCols(cols, params) : cols;
  return Array.from({ length: rows }, () => Array.from({ length: width }, () => 1));
}

export interface ForwardBody {
  inputs: z.output<typeof BatchSchema>;
  params: Record<string, unknown>;
  dtype: 'float64' | 'float32';
}

export interface BackwardBody extends ForwardBody {
  grad_outputs?: z.output<typeof BatchSchema>;
}
