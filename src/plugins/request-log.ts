/**
 * One structured log line per request, written when the answer is finished
 * (Fastify's own pair of "incoming request" / "request completed" lines is
 * off: `disableRequestLogging` in app.ts). The line carries the request id
 * (`reqId`, also echoed in the `x-request-id` header), method, URL path, route
 * template, activation, operation, batch shape [rows, cols], placement
 * (inline or pool), status, problem code and duration in ms; never the
 * numbers of a batch, never a header.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { describeRequest } from './request-info.js';

async function requestLogPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onResponse', (request, reply, done) => {
    const info = describeRequest(request, reply, app.compute.placement);
    const status = reply.statusCode;
    const line = {
      method: request.method,
      // The path only: a query string is the client's to keep.
      url: request.url.split('?')[0],
      ...info,
      status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (status >= 500) request.log.warn(line, 'request failed');
    else request.log.info(line, 'request completed');
    done();
  });
}

export default fp(requestLogPlugin, { name: 'request-log', dependencies: ['compute'] });
