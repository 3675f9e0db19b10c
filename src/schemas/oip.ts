/**
 * The Open Inference Protocol (KServe v2) REST bodies served under /v2, as
 * zod schemas: the JSON form of inference requests and responses, metadata,
 * health, and the protocol's error body `{"error": "..."}`.
 *
 * The request schema comes in two builds from one factory: the documented
 * one (tensor `data` spelled out, named components in the OpenAPI document)
 * and the one the route checks a request header with, where `data` is left
 * to the tensor decoder (routes/v2/tensors.ts), which walks it straight into
 * a Float64Array instead of validating a million numbers one by one. Keys
 * the protocol does not define are ignored, as the protocol's servers do.
 */
import { z } from 'zod';
import { JsonNumberSchema } from './numbers.js';

/** Datatypes of the protocol. Inputs and outputs are FP32 or FP64; class indices may be INT32 or INT64. */
export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BF16', 'BYTES'] as const;

const ShapeSchema = z
  .array(z.number({ error: 'a dimension must be a number' }).int('a dimension must be a whole number').min(0, 'a dimension must not be negative'))
  .describe('Dimensions, row-major: [rows, cols], or [n] for one row.');

const MetadataShapeSchema = z.array(z.number().int()).describe('Dimensions; -1 marks a dimension that varies from request to request.');

const BinaryDataSize = z
  .number({ error: 'binary_data_size must be a number of bytes' })
  .int('binary_data_size must be a whole number of bytes')
  .min(0, 'binary_data_size must not be negative')
  .describe('Binary data extension: this tensor is not in `data` but in the bytes after the JSON header, this many of them.');

const TensorDataSchema = z
  .array(z.union([JsonNumberSchema, z.array(z.unknown())]))
  .describe(
    'The values in row-major order: a flat list (as Triton clients send), or nested to match the shape. ' +
      'NaN and infinities as the strings "NaN", "Infinity", "-Infinity"; the bare literals NaN, Infinity and -Infinity are accepted too.',
  );

function inferRequestSchema(documented: boolean) {
  const data = documented ? TensorDataSchema.optional() : z.unknown().optional();
  const input = z.looseObject({
    name: z.string({ error: 'an input needs a name' }),
    shape: ShapeSchema,
    datatype: z.string({ error: 'an input needs a datatype' }).describe('FP32 or FP64 (INT32 and INT64 also for class indices).'),
    parameters: z
      .looseObject({ binary_data_size: BinaryDataSize.optional() })
      .optional()
      .describe('Tensor parameters; `binary_data_size` for the binary data extension.'),
    data,
  });
  const output = z.looseObject({
    name: z.string({ error: 'a requested output needs a name' }),
    parameters: z
      .looseObject({
        binary_data: z.boolean({ error: 'binary_data must be true or false' }).optional().describe('Binary data extension: answer this output as raw bytes.'),
      })
      .optional(),
  });
  return z.looseObject({
    id: z.string().optional().describe('Echoed in the response.'),
    parameters: z
      .looseObject({
        binary_data_output: z
          .boolean({ error: 'binary_data_output must be true or false' })
          .optional()
          .describe('Binary data extension: the default of `binary_data` for every output.'),
      })
      .optional()
      .describe(
        "The activation's parameters (as in its /v1 `params`: validated the same way, unknown names are a 400), and its extra fields such as " +
          "softmax_cross_entropy's `targets`. Triton's reserved names (`sequence_id`, `priority`, `timeout`, `triton_*`, …) are ignored.",
      ),
    inputs: z
      .array(documented ? input.meta({ id: 'OipInferInput' }) : input, { error: 'inputs must be a list of tensors' })
      .min(1, 'inputs must hold at least one tensor'),
    outputs: z
      .array(documented ? output.meta({ id: 'OipRequestedOutput' }) : output, { error: 'outputs must be a list' })
      .optional()
      .describe('The outputs wanted; all of them when omitted or empty.'),
  });
}

export const InferRequestSchema = inferRequestSchema(true).meta({
  id: 'OipInferRequest',
  description: 'An inference request, JSON form. The binary form is described with the operation.',
  example: {
    id: '42',
    inputs: [{ name: 'input', shape: [2, 3], datatype: 'FP64', data: [-1.5, 0, 2.25, 3, -4, 0.5] }],
    outputs: [{ name: 'output' }],
  },
});

/** What the route checks a request's JSON header with (`data` is decoded separately). */
export const InferHeaderSchema = inferRequestSchema(false);
export type InferHeader = z.output<typeof InferHeaderSchema>;

export const InferResponseSchema = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional().describe('Values chosen by the server (the seed of rrelu and noisy_relu in training mode).'),
    outputs: z.array(
      z
        .object({
          name: z.string(),
          shape: z.array(z.number().int()),
          datatype: z.enum(['FP32', 'FP64']).describe('The datatype of the input tensor.'),
          parameters: z.object({ binary_data_size: z.number().int() }).optional().describe('Present on binary outputs: their bytes follow the JSON header.'),
          data: z.array(JsonNumberSchema).optional().describe('The values, row-major, flat; absent on binary outputs.'),
        })
        .meta({ id: 'OipInferOutput' }),
    ),
  })
  .meta({ id: 'OipInferResponse', description: 'An inference response, JSON form (also the JSON header of the binary form).' });

export const BinaryBodySchema = z
  .string()
  .meta({ contentMediaType: 'application/octet-stream', description: 'The JSON header (Inference-Header-Content-Length bytes), then the binary outputs in order.' });

export const OipErrorSchema = z
  .object({ error: z.string().describe('What went wrong, for a human.') })
  .meta({ id: 'OipError', description: 'An error, as the protocol has it; never a stack trace.' });

export const ServerMetadataSchema = z
  .object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .meta({ id: 'OipServerMetadata' });

const TensorMetadataSchema = z
  .object({ name: z.string(), datatype: z.enum(DATATYPES), shape: MetadataShapeSchema })
  .meta({ id: 'OipTensorMetadata' });

export const ModelMetadataSchema = z
  .object({
    name: z.string(),
    versions: z.array(z.string()),
    platform: z.string(),
    inputs: z.array(TensorMetadataSchema),
    outputs: z.array(TensorMetadataSchema),
  })
  .meta({ id: 'OipModelMetadata' });

export type ModelMetadata = z.output<typeof ModelMetadataSchema>;
export type TensorMetadata = z.output<typeof TensorMetadataSchema>;

export const LiveSchema = z.object({ live: z.boolean() }).meta({ id: 'OipServerLive' });
export const ReadySchema = z.object({ ready: z.boolean() }).meta({ id: 'OipServerReady' });
export const ModelReadySchema = z.object({ name: z.string(), ready: z.boolean() }).meta({ id: 'OipModelReady' });
