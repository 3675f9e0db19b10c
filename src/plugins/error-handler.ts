/**
 * The one error handler: everything thrown becomes application/problem+json
 * from the catalogue in errors.ts. Client errors say what is wrong; server
 * errors say nothing internal (the log has the details).
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isResponseSerializationError } from 'fastify-type-provider-zod';
import { ClientClosedError, MAX_LISTED_FIELD_ERRORS, PROBLEM_CONTENT_TYPE, ProblemError, type FieldError } from '../errors.js';

function fromValidation(error: FastifyError & { validationTotal?: number }): ProblemError {
  const where = error.validationContext ?? 'body';
  // Paths are JSON Pointers into the body (`/inputs/1/2`); other parts of the request are prefixed (`/querystring/min`).
  const prefix = where === 'body' ? '' : `/${where}`;
  const validation = error.validation ?? [];
  const errors: FieldError[] = validation.slice(0, MAX_LISTED_FIELD_ERRORS).map((v) => ({
    path: `${prefix}${v.instancePath || '/'}`,
    message: v.message ?? 'is invalid',
  }));
  // A worker sends the first issues and the count of all (workers/compute-json.ts).
  const count = error.validationTotal ?? validation.length;
  const summary = errors
    .slice(0, 3)
    .map((e) => `${e.path}: ${e.message}`)
    .join('; ');
  return new ProblemError(
    'ACT_ERR_VALIDATION',
    `The request ${where} is invalid (${count} problem${count === 1 ? '' : 's'}${count > errors.length ? `, the first ${errors.length} listed` : ''}): ${summary}${count > 3 ? '; …' : ''}`,
    { errors },
  );
}

/** Maps Fastify's own errors (by code) onto the catalogue. */
function fromFastify(error: FastifyError, request: FastifyRequest): ProblemError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ProblemError('ACT_ERR_MALFORMED_JSON', `The body is not valid JSON: ${error.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError(
        'ACT_ERR_BODY_TOO_LARGE',
        `The body is larger than the limit of ${request.routeOptions.bodyLimit ?? 'the configured'} bytes (BODY_LIMIT).`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return error.statusCode === 415
        ? new ProblemError(
            'ACT_ERR_UNSUPPORTED_MEDIA_TYPE',
            `This route takes application/json, not ${JSON.stringify(request.headers['content-type'] ?? '')}.`,
          )
        : new ProblemError('ACT_ERR_MALFORMED_JSON', 'The Content-Length does not match the body.');
    case 'FST_UNDER_PRESSURE':
      // The load-shedding plugin answers through its own handler (plugins/load-shedding.ts); this is the fallback.
      return new ProblemError('ACT_ERR_OVERLOADED', 'The server is overloaded; retry shortly.', { headers: { 'retry-after': '5' } });
    default:
      break;
  }
  if (error instanceof SyntaxError) return new ProblemError('ACT_ERR_MALFORMED_JSON', `The body is not valid JSON: ${error.message}`);
  // Fastify's other client errors (bad URL, bad header) have safe messages of their own.
  if (error.statusCode === 400) return new ProblemError('ACT_ERR_VALIDATION', error.message);
  return undefined;
}

/** Sockets answered by clientErrorHandler, with the problem: a request on one was ended by the server, not its client. */
const answeredSockets = new WeakMap<Socket, ProblemError>();

/**
 * For a request whose connection closed before its answer: records the problem clientErrorHandler answered
 * on its socket (408 for a body past REQUEST_TIMEOUT_MS, 400 for one cut short) as the request's, for its
 * log line, and returns its status; undefined when the server answered nothing there (the client left).
 */
export function recordSocketAnswer(request: FastifyRequest): number | undefined {
  const problem = answeredSockets.get(request.raw.socket);
  if (problem) answeredWith.set(request, problem.code);
  return problem?.status;
}

/**
 * Errors Node's HTTP parser meets before Fastify sees a request (a request
 * that takes longer than REQUEST_TIMEOUT_MS to arrive, headers over
 * MAX_HEADER_SIZE, bytes that are not HTTP): answered on the raw socket, as
 * problem+json too, then the connection is closed. Used as Fastify's
 * `clientErrorHandler`.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let problem: ProblemError;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    problem = new ProblemError('ACT_ERR_REQUEST_TIMEOUT', 'The request did not arrive in full within the time limit (REQUEST_TIMEOUT_MS).');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    problem = new ProblemError('ACT_ERR_HEADERS_TOO_LARGE', 'The request line and headers are larger than the limit (MAX_HEADER_SIZE).');
  } else {
    problem = new ProblemError('ACT_ERR_VALIDATION', 'The request is not valid HTTP.');
  }
  this.log.debug({ err: error, code: problem.code }, 'client error');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(problem.toProblem());
  answeredSockets.set(socket, problem);
  // end(), then destroy once flushed: destroy() alone may drop the answer still in the buffer.
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * An HTTP/1.1 request must carry a Host header (RFC 9112, section 3.2): a 400
 * that says so (Node's own check, turned off in app.ts, answered with an
 * empty body). An onRequest hook, so /v2 answers it in its own form.
 */
export function requireHost(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
  if (request.headers.host === undefined && request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor >= 1) {
    done(new ProblemError('ACT_ERR_VALIDATION', 'An HTTP/1.1 request needs a Host header (RFC 9112, section 3.2).'));
    return;
  }
  done();
}

/** The problem code each failed request was answered with, for the request log and metrics. */
const answeredWith = new WeakMap<FastifyRequest, ProblemError['code']>();

export function problemCodeOf(request: FastifyRequest): ProblemError['code'] | undefined {
  return answeredWith.get(request);
}

/**
 * Errors Fastify meets while routing, before any hook (Fastify's
 * `frameworkErrors` option): a URL that does not decode, a path parameter
 * over MAX_PARAM_LENGTH.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new ProblemError('ACT_ERR_URI_TOO_LONG', 'A path parameter is longer than the limit (MAX_PARAM_LENGTH).')
      : new ProblemError('ACT_ERR_VALIDATION', `The URL ${JSON.stringify(request.url.slice(0, 200))} is malformed.`);
  reply.header('x-request-id', request.id);
  // Routing failed, so no onResponse hook runs: the answer is counted and logged here (a 400 or 414 was missing
  // from http_requests_total and from the request log).
  const { metrics, requestLog } = reply.server as Partial<Pick<FastifyInstance, 'metrics' | 'requestLog'>>;
  reply.raw.once('finish', () => {
    metrics?.observe(request, reply);
    requestLog?.write(request, reply);
  });
  sendProblemFor(reply, problem);
}

/** /v2 speaks the Open Inference Protocol, whose clients can read an error only as `{"error": "..."}`. */
const isOipPath = (url: string) => url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');

/** A problem as the Open Inference Protocol answers errors: `{"error": "..."}`, its status and headers; its code is logged. */
export function sendOipProblem(reply: FastifyReply, problem: ProblemError): FastifyReply {
  answeredWith.set(reply.request, problem.code);
  if (problem.headers) reply.headers(problem.headers);
  return reply.code(problem.status).type('application/json; charset=utf-8').send(JSON.stringify({ error: problem.message }));
}

/** A problem answered in the form its route's clients read: `{"error"}` under /v2, problem+json elsewhere. */
function sendProblemFor(reply: FastifyReply, problem: ProblemError): FastifyReply {
  return isOipPath(reply.request.url) ? sendOipProblem(reply, problem) : sendProblem(reply, problem);
}

/**
 * Logs an error no problem maps to. A client that closed its connection before
 * its answer went out (a streamed answer then fails with "Premature close") is
 * not a fault of ours: logged at info, not as an unhandled error.
 */
export function logUnexpected(request: FastifyRequest, error: FastifyError): void {
  if (error.code === 'ERR_STREAM_PREMATURE_CLOSE' && request.raw.socket?.destroyed) {
    request.log.info({ code: error.code }, 'client closed the connection before its answer was sent');
    return;
  }
  request.log.error({ err: error }, isResponseSerializationError(error) ? 'response did not match its schema' : 'unhandled error');
}

/**
 * A task dropped because its client had gone (plugins/compute.ts logs it):
 * nobody is left to answer, so nothing is sent. True when it was one.
 */
export function droppedForClosedClient(error: unknown, reply: FastifyReply): boolean {
  if (!(error instanceof ClientClosedError)) return false;
  reply.hijack();
  reply.raw.destroy();
  return true;
}

export function sendProblem(reply: FastifyReply, problem: ProblemError): FastifyReply {
  answeredWith.set(reply.request, problem.code);
  if (problem.headers) reply.headers(problem.headers);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.toProblem()));
}

async function errorHandlerPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (droppedForClosedClient(error, reply)) return;
    let problem: ProblemError | undefined;
    try {
      if (error instanceof ProblemError) problem = error;
      else if (error.validation) problem = fromValidation(error);
      else problem = fromFastify(error, request);
    } catch (mappingError) {
      request.log.error({ err: mappingError }, 'error handler failed to map an error');
    }

    if (!problem) {
      // Anything else is ours to fix: log it whole, tell the client nothing internal.
      logUnexpected(request, error);
      problem = new ProblemError('ACT_ERR_INTERNAL', 'The server failed to handle the request; the error has been logged.');
    } else if (problem.status >= 500) {
      request.log.warn({ code: problem.code }, problem.message);
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblemFor(reply, new ProblemError('ACT_ERR_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );
}

export default fp(errorHandlerPlugin, { name: 'error-handler' });
