/**
 * Closing without cutting an answer off. server.ts calls app.close() on
 * SIGTERM or SIGINT; then:
 *
 * 1. This plugin's preClose hook marks the app closing. From then on, a
 *    request that still arrives on an open connection is answered 503
 *    problem+json (ACT_ERR_SHUTTING_DOWN, Retry-After) instead of being
 *    started, every answer carries `Connection: close`, and a connection is
 *    closed as soon as its answer is written out: a kept-alive connection
 *    must not linger until its keep-alive timeout (which would hold the
 *    close up until SHUTDOWN_TIMEOUT_MS and an exit 1).
 * 2. Fastify stops the listener: new connections are refused. Node's
 *    server.close() also destroys the connections it counts as idle, and it
 *    counts one whose last answer is complete but still being written out (a
 *    large batch the client reads slowly) as idle, which cuts that answer off.
 *    So closeIdleConnections is replaced on this server by one that lets such
 *    an answer finish writing and then ends the connection, keeps connections
 *    whose answer is still being prepared, and destroys the rest as Node does.
 * 3. Requests already accepted, inline or pooled, run to their end; when the
 *    last connection has closed, the compute plugin closes the pool (not
 *    forced) and app.close() resolves.
 *
 * Fastify's own answer for requests during close is plain JSON, so app.ts
 * turns it off (`return503OnClosing: false`). Register this plugin before the
 * others: its onRequest hook must run first.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ProblemError } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** True once the app has begun to close. */
    isClosing(): boolean;
  }
}

async function shutdownPlugin(app: FastifyInstance): Promise<void> {
  let closing = false;
  app.decorate('isClosing', () => closing);

  // Which answer each connection is busy with, from its request's headers until the answer is written out.
  const connections = new Set<Socket>();
  const answering = new Map<Socket, ServerResponse>();
  const server = app.server;
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => {
      connections.delete(socket);
      answering.delete(socket);
    });
  });
  server.on('request', (request, response: ServerResponse) => {
    const socket = request.socket as Socket;
    answering.set(socket, response);
    response.once('close', () => {
      if (answering.get(socket) === response) answering.delete(socket);
      // Written out while closing: nothing more will be taken on this connection (its answer may have
      // started before closing began, without Connection: close, and would keep it open).
      if (closing) socket.destroySoon();
    });
  });
  server.closeIdleConnections = () => {
    for (const socket of connections) {
      const response = answering.get(socket);
      if (!response) socket.destroy(); // no request on it (or only part of its headers): nothing was accepted
      else if (response.writableEnded) socket.destroySoon(); // answered, still writing: close after the last byte
      // else: still being prepared or sent; the connection closes once it is written out (above)
    }
  };

  // preClose runs when close() begins, before Fastify stops the listener.
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    if (closing) {
      throw new ProblemError('ACT_ERR_SHUTTING_DOWN', 'This instance is shutting down; retry, and another instance will answer.', {
        headers: { 'retry-after': '1' },
      });
    }
    done();
  });
  app.addHook('onSend', (_request, reply, _payload, done) => {
    if (closing) reply.header('connection', 'close');
    done();
  });
}

export default fp(shutdownPlugin, { name: 'shutdown' });
