/**
 * Requests whose client closed the connection before the answer was
 * finished: while the body arrived, while the batch was computed, or in the
 * middle of a long answer. Fastify runs no onResponse hook for them (only
 * for a body cut short does it have onRequestAbort), so they were in neither
 * http_requests_total nor the request log: a client timing out under load
 * left no trace but the pool's dropped tasks. Each is counted and logged
 * once, when its connection closes, with status 499 (nginx's "client closed
 * request"; nothing is sent) and the time until then; one the server
 * answered on the socket itself (a body that stopped arriving, 408; one cut
 * short by the end of the stream, 400) with that status.
 */
import { Socket } from 'node:net';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { recordSocketAnswer } from './error-handler.js';

/** The status a request abandoned by its client is counted and logged with. */
export const ABANDONED = 499;

async function abandonedPlugin(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', (request, reply, done) => {
    // inject() has no connection to lose (and its answer never reads as flushed).
    if (request.raw.socket instanceof Socket) {
      const res = reply.raw;
      res.on('close', () => {
        // Closed after the answer was flushed, the usual end of every request, or after a write error: Fastify
        // ran onResponse for both ('finish', 'error'), which counted them.
        if (res.writableFinished || res.errored) return;
        // Or the server ended it, answering on the socket: 408 for a body past REQUEST_TIMEOUT_MS, 400 for one cut short.
        const status = recordSocketAnswer(request) ?? ABANDONED;
        app.metrics.observe(request, reply, status);
        app.requestLog.write(request, reply, status);
      });
    }
    done();
  });
}

export default fp(abandonedPlugin, { name: 'abandoned', dependencies: ['metrics', 'request-log'] });
