import type { FastifyReply } from 'fastify';

/**
 * Sends JSON text built by hand, or its UTF-8 bytes (from a worker). Fastify
 * sends a string or a Buffer with a JSON content type as is, so large number
 * arrays skip the response schema walk; the response schemas still document
 * the shape in OpenAPI.
 */
export function sendJson(reply: FastifyReply, json: string | Buffer): FastifyReply {
  return (reply as FastifyReply).type('application/json; charset=utf-8').send(json);
}
