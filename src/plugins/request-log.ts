/**
 * One structured log line per request, written when the answer is finished,
 * or when the connection closes first (plugins/abandoned.ts, status 499)
 * (Fastify's own pair of "incoming request" / "request completed" lines is
 * off: `disableRequestLogging` in app.ts). The line carries the request id
 * (`reqId`, also echoed in the `x-request-id` header), method, URL path, route
 * template, activation, operation, batch shape [rows, cols], placement
 * (inline or pool), status, problem code and duration in ms; never the
 * numbers of a batch, never a header.
 */
import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ABANDONED } from './abandoned.js';
import { describeRequest } from './request-info.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Writes the line of an answer sent outside the routes' hooks (plugins/error-handler.ts frameworkErrors). */
    requestLog: { write(request: FastifyRequest, reply: FastifyReply, status?: number): void };
  }
}

/** Whether a line at `level` would be written: pino's isLevelEnabled, which Fastify's logger type leaves out (any other logger: yes). */
function writes(log: FastifyBaseLogger, level: 'info' | 'warn'): boolean {
  return (log as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.(level) ?? true;
}

async function requestLogPlugin(app: FastifyInstance): Promise<void> {
  const write = (request: FastifyRequest, reply: FastifyReply, status = reply.statusCode): void => {
    const level = status >= 500 ? 'warn' : 'info';
    // Nothing to build when the level drops the line (LOG_LEVEL=warn and up, as under load tests).
    if (!writes(request.log, level)) return;
    const info = describeRequest(request, reply, app.compute.placement);
    const line = {
      method: request.method,
      // The path only: a query string is the client's to keep.
      url: request.url.split('?')[0],
      ...info,
      status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    request.log[level](line, status === ABANDONED ? 'client closed the connection before the answer' : status >= 500 ? 'request failed' : 'request completed');
  };
  app.decorate('requestLog', { write });
  app.addHook('onResponse', (request, reply, done) => {
    write(request, reply);
    done();
  });
}

export default fp(requestLogPlugin, { name: 'request-log', dependencies: ['compute'] });
