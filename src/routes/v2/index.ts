/**
 * /v2: the Open Inference Protocol (KServe v2 REST) with Triton's binary
 * data extension, so that tritonclient and the KServe clients work as they
 * are. Each activation is a model (see models.ts); infer runs it through the
 * same compute engine as /v1.
 *
 * Registered as an encapsulated plugin (no fastify-plugin wrapper) because it
 * changes two things for its own routes only:
 * - the body parser: clients send no Content-Type (or application/octet-stream),
 *   so every media type goes to one parser that reads JSON or binary bodies
 *   (body.ts); /v1 keeps its JSON-only parsers and its 415;
 * - the error handler: the protocol's errors are `{"error": "..."}` with a
 *   4xx or 5xx status, not problem+json. Problems keep their status and
 *   headers (503 with Retry-After from the pool, 504), and their detail
 *   becomes the message; anything unexpected is a 500 that says nothing
 *   internal (the log has it).
 */
import { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { ProblemError } from '../../errors.js';
import { droppedForClosedClient, logUnexpected, sendOipProblem } from '../../plugins/error-handler.js';
import { openapiInfo } from '../../openapi-info.js';
import {
  BinaryBodySchema,
  InferRequestSchema,
  InferResponseSchema,
  LiveSchema,
  ModelMetadataSchema,
  ModelReadySchema,
  OipErrorSchema,
  ReadySchema,
  ServerMetadataSchema,
} from '../../schemas/oip.js';
import { sendJson } from '../send-json.js';
import { closestNames } from '../suggest.js';
import { inferBodyParser, RejectedBody, type InferBody } from './body.js';
import { infer } from './infer.js';
import { BACKWARD_SUFFIX, findModel, VERSION, type Model } from './models.js';
import { RequestTensors } from '../../tensor-pool.js';

const TAG = 'open inference protocol';

/** Answers smaller than this are sent as one buffer; larger binary ones as a stream of their parts, uncopied. */
const ONE_BUFFER_MAX = 64 * 1024;

/** Fastify's own client errors (an aborted body, a bad header), which carry no problem code: `{"error"}` as it is. */
function sendClientError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return sendJson(reply.code(status), JSON.stringify({ error: message }));
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request: JSON, header length, binary sizes, datatype, shape, parameters',
  404: 'Unknown model or version',
  413: 'Body over BODY_LIMIT or a tensor over MAX_ELEMENTS',
  414: 'A model name or version longer than MAX_PARAM_LENGTH',
  415: 'A Content-Encoding other than gzip or deflate',
  500: 'A worker failed during the computation (replaced), or a bug of ours',
  503: 'Busy (the pool queue is full), overloaded or shutting down; Retry-After says when to retry',
  504: 'The computation ran past TASK_TIMEOUT_MS',
};

const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: ERROR_DESCRIPTIONS[s], content: { 'application/json': { schema: OipErrorSchema } } }]),
  );

function unknownModel(name: string): ProblemError {
  const backward = name.endsWith(BACKWARD_SUFFIX);
  const base = backward ? name.slice(0, -BACKWARD_SUFFIX.length) : name;
  const suggestions = closestNames(base).map((n) => (backward ? `${n}${BACKWARD_SUFFIX}` : n));
  const hint = suggestions.length > 0 ? ` Did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?` : '';
  return new ProblemError(
    'ACT_ERR_UNKNOWN_ACTIVATION',
    `There is no model "${name}".${hint} Every activation of GET /v1/activations is a model, and "<name>${BACKWARD_SUFFIX}" its backward pass.`,
  );
}

function modelOf(params: { name: string; version?: string }): Model {
  const model = findModel(params.name);
  if (!model) throw unknownModel(params.name);
  if (params.version !== undefined && params.version !== VERSION) {
    throw new ProblemError('ACT_ERR_NOT_FOUND', `Model "${params.name}" has no version "${params.version}"; its only version is "${VERSION}".`);
  }
  return model;
}

const ModelParams = z.object({
  name: z.string().describe('An activation (forward), or `<activation>.backward`.'),
});
const VersionParams = ModelParams.extend({ version: z.string().describe(`The model version; the only one is "${VERSION}".`) });

const INFER_DESCRIPTION = `Runs the model on the input tensors. The JSON form is below; with Triton's **binary data extension** tensors travel as raw bytes instead:

- **Request**: the JSON header (compact or not), then the bytes of every input that has \`parameters.binary_data_size\`, in input order, little-endian, row-major. The header \`Inference-Header-Content-Length\` gives the JSON header's length in bytes. Any \`Content-Type\` (or none) is accepted.
- **Response**: an output with \`parameters.binary_data: true\` (or every output, when the request-level \`parameters.binary_data_output\` is true and the output sets no \`binary_data\` of its own) comes back as bytes: its JSON entry has \`parameters.binary_data_size\` and no \`data\`, the answer is \`application/octet-stream\` with \`Inference-Header-Content-Length\`, and the bytes follow the JSON header in output order. An answer without binary outputs is plain \`application/json\`.
- \`Content-Encoding: gzip\` or \`deflate\` bodies are inflated; the header length counts the inflated JSON.

**Tensors**: \`input\` is FP32 or FP64, shape \`[rows, cols]\` (a batch of vectors) or \`[n]\` (one vector, answered in the same rank); the outputs have the input's datatype. FP32 inputs are computed as /v1 does with \`dtype: float32\`. \`data\` is flat (or nested), row-major; NaN and infinities as bare \`NaN\`/\`Infinity\`/\`-Infinity\` or as strings, and answered as the strings "NaN", "Infinity", "-Infinity".

**Models**: every activation by its catalog name (forward: \`input\` → \`output\`), and \`<name>.backward\` (\`input\`, \`grad_output\` → \`grad_input\` and \`grad_<param>\` for learnable parameters, summed over the batch, in the parameter's shape, one number as [1]). The activation's parameters are request-level \`parameters\`. softmax_cross_entropy's \`targets\` is an input tensor (class indices, INT64/INT32 or integral floats, shape [rows]; or probability rows, [rows, cols]) or a parameter of the same JSON form as in /v1; its backward also takes \`grad_loss\` that way, and \`grad_output\` may be omitted (ones).`;

export default async function oipRoutes(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  // Large binary tensors in reused memory (src/tensor-pool.ts), each inference request's own from its start.
  const requestTensors = new WeakMap<FastifyRequest, RequestTensors>();

  // Every media type (and none) to the one reader; scoped to this plugin.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    inferBodyParser({ bodyLimit: config.BODY_LIMIT, maxElements: config.MAX_ELEMENTS }, (request) => requestTensors.get(request)),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (droppedForClosedClient(error, reply)) return;
    // As problems wherever there is one, so the request log names its code as on /v1.
    if (error instanceof ProblemError) {
      if (error.status >= 500) request.log.warn({ code: error.code }, error.message);
      return sendOipProblem(reply, error);
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendOipProblem(reply, new ProblemError('ACT_ERR_BODY_TOO_LARGE', `The body is larger than the limit of ${config.BODY_LIMIT} bytes (BODY_LIMIT).`));
    }
    if (error.validation) return sendOipProblem(reply, new ProblemError('ACT_ERR_VALIDATION', `The request is invalid: ${error.message}`));
    // Fastify's own client errors (an aborted body, a bad header) carry safe messages.
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return sendClientError(reply, error.statusCode, error.message);
    }
    logUnexpected(request, error);
    return sendOipProblem(reply, new ProblemError('ACT_ERR_INTERNAL', 'The server failed to handle the request; the error has been logged.'));
  });

  const ready = () => {
    const overloaded = app.hasDecorator('isUnderPressure') && app.isUnderPressure();
    const closing = app.hasDecorator('isClosing') && app.isClosing();
    return app.compute.isReady() && !overloaded && !closing;
  };

  typed.get(
    '/v2',
    {
      schema: {
        tags: [TAG],
        operationId: 'oip_server_metadata',
        summary: 'Server metadata: name, version and the protocol extensions supported',
        response: { 200: ServerMetadataSchema, ...errorResponses(503) },
      },
    },
    async () => ({ name: openapiInfo.title, version: openapiInfo.version, extensions: ['binary_tensor_data'] }),
  );

  typed.get(
    '/v2/health/live',
    {
      schema: {
        tags: [TAG],
        operationId: 'oip_server_live',
        summary: 'Liveness: 200 while the process answers',
        response: { 200: LiveSchema, ...errorResponses(503) },
      },
    },
    async () => ({ live: true }),
  );

  typed.get(
    '/v2/health/ready',
    {
      schema: {
        tags: [TAG],
        operationId: 'oip_server_ready',
        summary: 'Readiness: 200 when the worker pool is up, its queue not full and the process not overloaded (as /readyz); else 400, as Triton',
        response: { 200: ReadySchema, 400: ReadySchema, ...errorResponses(503) },
      },
    },
    async (_request, reply) => {
      const ok = ready();
      return reply.code(ok ? 200 : 400).send({ ready: ok });
    },
  );

  for (const versioned of [false, true]) {
    const base = versioned ? '/v2/models/:name/versions/:version' : '/v2/models/:name';
    const params = versioned ? VersionParams : ModelParams;
    const suffix = versioned ? '_version' : '';

    typed.get(
      base,
      {
        schema: {
          tags: [TAG],
          operationId: `oip_model${suffix}_metadata`,
          summary: 'Model metadata: its inputs and outputs with datatype and shape (-1: varies)',
          params,
          // 400 {"error"}: a name that is not valid percent-encoding; 414: over MAX_PARAM_LENGTH (plugins/error-handler.ts).
          response: { 200: ModelMetadataSchema, ...errorResponses(400, 404, 414, 503) },
        },
      },
      async (request) => modelOf(request.params).metadata,
    );

    typed.get(
      `${base}/ready`,
      {
        schema: {
          tags: [TAG],
          operationId: `oip_model${suffix}_ready`,
          summary: 'Model readiness: 200 when the server is ready (every model is), else 400',
          params,
          response: { 200: ModelReadySchema, 400: ModelReadySchema, ...errorResponses(404, 414, 503) },
        },
      },
      async (request, reply) => {
        const model = modelOf(request.params);
        const ok = ready();
        return reply.code(ok ? 200 : 400).send({ name: model.name, ready: ok });
      },
    );

    typed.post(
      `${base}/infer`,
      {
        // An unknown model is answered before its body is read.
        onRequest: async (request, reply) => {
          modelOf(request.params as { name: string; version?: string });
          requestTensors.set(request, new RequestTensors(app.compute.tensorPool, reply.raw));
        },
        // The body is an InferBody from the reader, checked there and in infer.ts; the schema documents the JSON form.
        validatorCompiler: () => (data) => ({ value: data }),
        schema: {
          tags: [TAG],
          operationId: `oip_model${suffix}_infer`,
          summary: 'Inference: forward or backward pass of an activation, JSON or binary tensors',
          description: INFER_DESCRIPTION,
          params,
          body: InferRequestSchema,
          response: {
            200: {
              description: 'The outputs: application/json, or application/octet-stream when any output is binary.',
              content: { 'application/json': { schema: InferResponseSchema }, 'application/octet-stream': { schema: BinaryBodySchema } },
            },
            ...errorResponses(400, 404, 413, 414, 415, 500, 503, 504),
          },
        },
      },
      async (request, reply) => {
        const tensors = requestTensors.get(request)!;
        let answer;
        try {
          const model = modelOf(request.params);
          const body = request.body as unknown as InferBody | RejectedBody | undefined;
          if (body instanceof RejectedBody) throw body.problem;
          if (!body) throw new ProblemError('ACT_ERR_VALIDATION', 'The body is empty; an inference request is JSON, optionally followed by binary tensors.');
          answer = await infer({ app, config, model, body, reply, tensors });
        } finally {
          // Its memory goes back to the pool once the answer is written out too.
          tensors.handlerDone();
        }
        if (answer.binary.length === 0) return sendJson(reply, answer.json);
        const header = Buffer.from(answer.json, 'utf8');
        let length = header.length;
        for (const part of answer.binary) length += part.length;
        const raw = (reply as FastifyReply).header('inference-header-content-length', String(header.length)).type('application/octet-stream');
        if (length <= ONE_BUFFER_MAX) return raw.send(Buffer.concat([header, ...answer.binary], length));
        return raw.header('content-length', String(length)).send(Readable.from([header, ...answer.binary]));
      },
    );
  }
}
