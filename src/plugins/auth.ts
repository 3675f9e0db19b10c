/**
 * Optional API key. When API_KEY is set, every route under /v1 (compute,
 * catalog, plot) and the models under /v2/models (metadata, readiness,
 * inference) need `Authorization: Bearer <API_KEY>`; /healthz, /readyz,
 * /v2, /v2/health/*, /metrics, /docs and /openapi.json stay open (probes, scrapers and readers
 * of the contract carry no key). A missing or wrong key is 401 problem+json
 * with `WWW-Authenticate: Bearer` (RFC 6750); under /v2 the body is `{"error"}`.
 *
 * The key is compared in constant time: both sides are hashed to SHA-256
 * digests of equal length and compared with crypto.timingSafeEqual, so
 * neither the length nor a common prefix of the key leaks through timing.
 * Runs in onRequest, before the body is read: an unauthenticated client
 * cannot make the server parse 64 MiB.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ProblemError } from '../errors.js';

const REALM = 'activation-service';
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** The routes the key guards: the API under /v1 and the models of /v2. */
export function requiresKey(request: FastifyRequest): boolean {
  const url = request.routeOptions.url ?? '';
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v2/models/');
}

function unauthorized(detail: string, challenge: string): ProblemError {
  return new ProblemError('ACT_ERR_UNAUTHORIZED', detail, { headers: { 'www-authenticate': challenge } });
}

async function authPlugin(app: FastifyInstance, { apiKey }: { apiKey?: string }): Promise<void> {
  if (!apiKey) return;
  const expected = digest(apiKey);

  app.addHook('onRequest', (request, _reply, done) => {
    if (!requiresKey(request)) return done();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +([^\s]+) *$/i.exec(header) : null;
    if (!match) {
      throw unauthorized('This route needs an API key: send `Authorization: Bearer <key>`.', `Bearer realm="${REALM}"`);
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      throw unauthorized('The API key is not valid.', `Bearer realm="${REALM}", error="invalid_token"`);
    }
    done();
  });
}

export default fp(authPlugin, { name: 'auth' });
