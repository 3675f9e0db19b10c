/**
 * Optional per-client rate limit (@fastify/rate-limit, in memory, per
 * instance): at most RATE_LIMIT_MAX requests to /v1 per RATE_LIMIT_WINDOW_MS
 * from one client IP address (behind a proxy, set TRUST_PROXY so the address
 * is the client's). Beyond it, 429 problem+json with Retry-After. Off when
 * RATE_LIMIT_MAX is 0. Operations routes are never limited, so probes and
 * scrapers keep working. Register before the routes: the limiter attaches
 * to each route as it is added.
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
    global: true,
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
}

export default fp(rateLimitPlugin, { name: 'rate-limit' });
