/**
 * POST /v1/activations/{name}/forward and /backward: one pair of routes per
 * registered activation (each with its own params schema in the OpenAPI
 * document), and a catch-all pair that answers 404 for unknown names.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.js';
import { activations } from '../core/activations/index.js';
import type { ActivationDefinition } from '../core/activation.js';
import { ProblemError } from '../errors.js';
import { RawJsonBody } from '../plugins/compute.js';
import { computeSchemas, type BackwardBody, type ForwardBody } from '../schemas/compute.js';
import {
  backwardJson,
  backwardTask,
  elementLimitProblem,
  forwardJson,
  forwardTask,
  withPlainBatches,
  type BodyValidator,
} from '../schemas/compute-io.js';
import { problemResponses } from '../schemas/problem.js';
import { sendJson } from './send-json.js';
import { unknownActivation } from './suggest.js';

const jsonResponse = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });

function elementLimitHook(config: Config) {
  // Callback form, as the app's other per-request hooks: an async hook costs a promise and a microtask.
  return (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    // A raw body is counted by the worker, after parsing.
    done(request.body instanceof RawJsonBody ? undefined : elementLimitProblem(request.body, config.MAX_ELEMENTS));
  };
}

/**
 * JSON bodies in this scope (the compute routes only): below RAW_BODY_MIN_BYTES
 * parsed here by Fastify's own JSON parser, as everywhere else; from it on
 * left as bytes for a worker (a RawJsonBody), so parsing and serializing a
 * large batch never blocks the event loop.
 */
function rawAwareJsonParsing(app: FastifyInstance, config: Config): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const threshold = config.RAW_BODY_MIN_BYTES;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (threshold > 0 && bytes.byteLength >= threshold) done(null, new RawJsonBody(bytes));
    else parseJson(request, bytes.toString('utf8'), done);
  });
  // The zod validator for parsed bodies; a raw body passes through to the worker, which validates it with the same schema.
  app.setValidatorCompiler((route) => {
    const compiled = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]) as BodyValidator<FastifySchemaValidationError[]>;
    const validate = route.httpPart === 'body' ? withPlainBatches(compiled) : compiled;
    return (data: unknown) => (data instanceof RawJsonBody ? { value: data } : validate(data));
  });
}

const unsupported = (detail: string) => new ProblemError('ACT_ERR_UNSUPPORTED_MEDIA_TYPE', detail);

/**
 * What the headers alone settle, before the body is read (one hook, as each
 * costs every request): a body that is compressed or in a charset other than
 * UTF-8 is a 415 (it was read as UTF-8 JSON and failed as malformed); and a
 * body big enough to go to a worker as raw bytes, arriving while every worker
 * and queue slot is taken, is a 503 (under overload, waiting for megabytes
 * only to refuse them made the 503s take seconds).
 */
function checkBodyHeaders(app: FastifyInstance, config: Config): void {
  const threshold = config.RAW_BODY_MIN_BYTES;
  app.addHook('onRequest', (request, _reply, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      done(unsupported(`This route takes application/json uncompressed, not with Content-Encoding ${JSON.stringify(encoding)} (/v2 takes gzip and deflate).`));
      return;
    }
    const type = request.headers['content-type'];
    if (type !== undefined && type.includes('=')) {
      const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(type)?.[1];
      if (charset !== undefined && !/^(utf-?8|us-ascii)$/i.test(charset)) {
        done(unsupported(`This route takes application/json in UTF-8 (RFC 8259), not charset ${JSON.stringify(charset)}.`));
        return;
      }
    }
    if (threshold > 0 && Number(request.headers['content-length']) >= threshold) app.compute.refuseWhenFull();
    done();
  });
}

function describeOperation(def: ActivationDefinition, op: 'forward' | 'backward'): string {
  const rule = op === 'forward' ? `$$${def.formula}$$` : `$$${def.derivative}$$`;
  const learnable = def.learnable.length ? ` Learnable: ${def.learnable.join(', ')} (gradients in grad_params).` : '';
  return `${def.summary} ${def.kind === 'row' ? 'Acts on each row.' : 'Acts on every element.'}${learnable}\n\n${rule}`;
}

export default async function computeRoutes(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  rawAwareJsonParsing(app, config);
  checkBodyHeaders(app, config);
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
        const raw: unknown = request.body;
        if (raw instanceof RawJsonBody) return sendJson(reply, await app.compute.json(def, 'forward', raw, reply));
        const { task, params } = forwardTask(def, raw as ForwardBody, config.MAX_ELEMENTS);
        return sendJson(reply, forwardJson(def, task.dtype, await app.compute.forward(def, task, reply), params));
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
        const raw: unknown = request.body;
        if (raw instanceof RawJsonBody) return sendJson(reply, await app.compute.json(def, 'backward', raw, reply));
        const { task, params } = backwardTask(def, raw as BackwardBody, config.MAX_ELEMENTS);
        return sendJson(reply, backwardJson(def, task, await app.compute.backward(def, task, reply), params));
      },
    );
  }

  // Registered names are static routes and win over this parametric pair.
  const UnknownParams = z.object({ name: z.string() });
  for (const op of ['forward', 'backward']) {
    typed.post(
      `/v1/activations/:name/${op}`,
      {
        schema: { hide: true, params: UnknownParams },
        // Before the body is read: the 404 then does not depend on the body (a malformed small one was a 400 and a
        // large one, parsed only later in a worker, a 404), nor does an unknown name cost reading megabytes.
        onRequest: (request, _reply, done) => done(unknownActivation((request.params as { name: string }).name)),
      },
      async (request) => {
        throw unknownActivation(request.params.name);
      },
    );
  }
}
