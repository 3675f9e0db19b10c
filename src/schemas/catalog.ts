/**
 * The catalog entry of an activation, as `GET /v1/activations` serves it,
 * built from the registry definition.
 */
import { z } from 'zod';
import type { ActivationDefinition } from '../core/activation.js';

const RangeBoundSchema = z.union([z.number(), z.enum(['Infinity', '-Infinity'])]);

export const CatalogEntrySchema = z
  .object({
    name: z.string().describe('The id used in routes, e.g. leaky_relu.'),
    title: z.string(),
    summary: z.string(),
    kind: z.enum(['elementwise', 'row']).describe('elementwise: acts on every number; row: acts on each row as a vector.'),
    formula: z.string().describe('The forward function, in TeX.'),
    derivative: z.string().describe('The derivative or backward rule, in TeX.'),
    parameters: z
      .record(z.string(), z.unknown())
      .describe('JSON Schema of the params object: each parameter with type, default, range and description.'),
    learnable: z.array(z.string()).describe('Parameters whose gradients backward returns.'),
    range: z.tuple([RangeBoundSchema, RangeBoundSchema]).describe('Output range for the default parameters.'),
    properties: z
      .object({
        zero_centred: z
          .boolean()
          .describe('Outputs centred on zero: odd in its input (tanh, softsign, the shrinks) or built for zero-mean outputs (selu); f(0) = 0 alone, as relu, is not.'),
        monotonic: z.boolean().describe('Never decreasing in its input (for the default parameters).'),
        smooth: z.boolean().describe('Infinitely differentiable everywhere; once-differentiable functions such as elu, celu and softsign are not.'),
        bounded: z.boolean().describe('Both ends of its range are finite.'),
      })
      .describe('For the default parameters.'),
    kinks: z.string().describe('The gradient convention at points where the derivative is not defined.'),
    pros: z.array(z.string()),
    cons: z.array(z.string()),
    references: z.array(z.object({ title: z.string(), url: z.string() })),
    routes: z.object({ forward: z.string(), backward: z.string() }),
  })
  .meta({ id: 'CatalogEntry' });

export const CatalogSchema = z
  .object({ count: z.number().int(), activations: z.array(CatalogEntrySchema) })
  .meta({ id: 'Catalog' });

export type CatalogEntry = z.output<typeof CatalogEntrySchema>;

export function catalogEntry(def: ActivationDefinition): CatalogEntry {
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(def.params, { io: 'input' }) as Record<string, unknown>;
  const m = def.metadata;
  return {
    name: def.name,
    title: def.title,
    summary: def.summary,
    kind: def.kind,
    formula: def.formula,
    derivative: def.derivative,
    parameters,
    learnable: [...def.learnable],
    range: [m.range[0], m.range[1]],
    properties: { zero_centred: m.zeroCentred, monotonic: m.monotonic, smooth: m.smooth, bounded: m.bounded },
    kinks: m.kinks,
    pros: [...m.pros],
    cons: [...m.cons],
    references: m.references.map((r) => ({ ...r })),
    routes: { forward: `/v1/activations/${def.name}/forward`, backward: `/v1/activations/${def.name}/backward` },
  };
}
