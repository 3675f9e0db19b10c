/**
 * Optional per-client rate limit (@fastify/rate-limit, in memory, per
 * instance): at most RATE_LIMIT_MAX requests to /v1 and /v2/models per RATE_LIMIT_WINDOW_MS
 * from one client IP address (behind a proxy, set TRUST_PROXY so the address
 * is the client's). Beyond it, 429 problem+json with Retry-After. Off when
 * RATE_LIMIT_MAX is 0. Operations routes are never limited, so probes and
 * scrapers keep working. Register before plugins/auth.ts, so that requests
 * with a wrong key are counted too.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config.js';
import { ProblemError } from '../errors.js';
import { requiresKey } from './auth.js';

async function rateLimitPlugin(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  if (config.RATE_LIMIT_MAX === 0) return;
  await app.register(rateLimit, {
    // One app-level onRequest hook (below) rather than the plugin's per-route ones: app-level hooks run in the order
    // they are added, so it runs before the API key check (plugins/auth.ts) and wrong keys count too. Per route, it
    // ran after auth, and a client could try keys without limit.
    global: false,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_MS,
    // Everything but the API under /v1 is exempt.
    allowList: (request) => !requiresKey(request),
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new ProblemError(
        'ACT_ERR_RATE_LIMITED',
        `More than ${context.max} requests in ${config.RATE_LIMIT_WINDOW_MS} ms from this client (RATE_LIMIT_MAX); retry in ${seconds} s.`,
        { headers: { 'retry-after': String(seconds) } },
      );
    },
  });
  app.addHook('onRequest', app.rateLimit());
}

export default fp(rateLimitPlugin, { name: 'rate-limit' });
