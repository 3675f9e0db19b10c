/**
 * The models /v2 serves, read from the registry: every activation is a model
 * under its catalog name (forward), and `<name>.backward` is its backward
 * pass. Nothing here lists activations; a new one is served automatically.
 *
 * Tensors of a model:
 * - forward: input `input` → output `output`;
 * - backward: inputs `input` and `grad_output` (dL/dy, the shape of the
 *   forward output) → outputs `grad_input` and, for each learnable parameter
 *   p, `grad_<p>` (its gradient summed over the batch, in the shape of the
 *   parameter as sent; a single number as [1]).
 * - The activation's extra body fields (softmax_cross_entropy's `targets`,
 *   and on backward its `grad_loss`) are optional inputs of the same name;
 *   they may come as request parameters instead.
 */
import { z } from 'zod';
import { activations } from '../../core/activations/index.js';
import type { ActivationDefinition } from '../../core/activation.js';
import type { ModelMetadata, TensorMetadata } from '../../schemas/oip.js';

export const BACKWARD_SUFFIX = '.backward';
export const PLATFORM = 'activation-service';
export const VERSION = '1';

export type Operation = 'forward' | 'backward';

export interface Model {
  readonly name: string;
  readonly def: ActivationDefinition;
  readonly operation: Operation;
  /** Extra body fields that may arrive as input tensors or parameters, with their schemas. */
  readonly fields: Readonly<Record<string, z.ZodType>>;
  readonly metadata: ModelMetadata;
}

/** Ranks of nested number lists a JSON Schema admits, and whether its numbers are integers. */
function tensorForms(schema: Record<string, unknown>): { rank: number; integer: boolean }[] {
  const alternatives = (schema.anyOf ?? schema.oneOf) as Record<string, unknown>[] | undefined;
  if (alternatives) return alternatives.flatMap(tensorForms);
  if (schema.type === 'number') return [{ rank: 0, integer: false }];
  if (schema.type === 'integer') return [{ rank: 0, integer: true }];
  if (schema.type === 'array' && schema.items) {
    return tensorForms(schema.items as Record<string, unknown>).map((f) => ({ rank: f.rank + 1, integer: f.integer }));
  }
  return [];
}

/**
 * A parameter or field as a tensor in the metadata: the simplest form its
 * schema admits (class indices before probability rows, a scalar before a
 * per-column array), every dimension -1, a single number as [1].
 */
function tensorMetadata(name: string, schema: z.ZodType, datatype: 'FP64' | 'INT64' = 'FP64'): TensorMetadata {
  const forms = tensorForms(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
  const form = forms.sort((a, b) => a.rank - b.rank)[0] ?? { rank: 1, integer: false };
  return {
    name,
    datatype: form.integer ? 'INT64' : datatype,
    shape: form.rank === 0 ? [1] : Array.from({ length: form.rank }, () => -1),
  };
}

/** The output width when it does not depend on the input (softmax_cross_entropy: 1), else -1. */
function fixedOutputCols(def: ActivationDefinition): number {
  if (!def.outputCols) return -1;
  try {
    const a = def.outputCols(2, {} as never);
    const b = def.outputCols(6, {} as never);
    return a === b && Number.isInteger(a) && a > 0 ? a : -1;
  } catch {
    return -1;
  }
}

function buildModels(def: ActivationDefinition): Model[] {
  const forwardFields: Record<string, z.ZodType> = { ...(def.bodyFields ?? {}) } as Record<string, z.ZodType>;
  const backwardFields: Record<string, z.ZodType> = { ...forwardFields, ...(def.backwardBodyFields ?? {}) } as Record<string, z.ZodType>;
  const input: TensorMetadata = { name: 'input', datatype: 'FP64', shape: [-1, -1] };
  const output: TensorMetadata = { name: 'output', datatype: 'FP64', shape: [-1, fixedOutputCols(def)] };
  const fieldInputs = (fields: Record<string, z.ZodType>) => Object.entries(fields).map(([name, schema]) => tensorMetadata(name, schema));
  const paramShape = def.params.shape as Record<string, z.ZodType>;
  return [
    {
      name: def.name,
      def,
      operation: 'forward',
      fields: forwardFields,
      metadata: { name: def.name, versions: [VERSION], platform: PLATFORM, inputs: [input, ...fieldInputs(forwardFields)], outputs: [output] },
    },
    {
      name: `${def.name}${BACKWARD_SUFFIX}`,
      def,
      operation: 'backward',
      fields: backwardFields,
      metadata: {
        name: `${def.name}${BACKWARD_SUFFIX}`,
        versions: [VERSION],
        platform: PLATFORM,
        inputs: [input, { ...output, name: 'grad_output' }, ...fieldInputs(backwardFields)],
        outputs: [
          { name: 'grad_input', datatype: 'FP64', shape: [-1, -1] },
          ...def.learnable.map((p) => tensorMetadata(`grad_${p}`, paramShape[p])),
        ],
      },
    },
  ];
}

export const models: readonly Model[] = activations.flatMap(buildModels);

const byName = new Map(models.map((m) => [m.name, m]));

export function findModel(name: string): Model | undefined {
  return byName.get(name);
}
