/**
 * Load shedding with @fastify/under-pressure: while the mean event-loop delay
 * (sampled every second) is over MAX_EVENT_LOOP_DELAY_MS or the V8 heap in
 * use is over MAX_HEAP_USED_BYTES, requests are answered 503 problem+json
 * (ACT_ERR_OVERLOADED) with Retry-After, and /readyz answers 503 so the
 * load balancer sends traffic elsewhere. A limit of 0 turns that check off.
 *
 * /healthz, /readyz and /metrics are never shed: a busy process is alive
 * (liveness must not restart it), /readyz tells the truth itself, and the
 * metrics are most wanted exactly then.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { Config } from '../config.js';
import { ProblemError } from '../errors.js';

export const RETRY_AFTER_SECONDS = 5;

const NEVER_SHED = new Set(['/healthz', '/readyz', '/metrics', '/v2/health/live', '/v2/health/ready']);

export interface LoadSheddingOptions {
  config: Config;
  /** How often the event-loop delay and heap are sampled (under-pressure's default, 1000 ms). */
  sampleIntervalMs?: number;
}

function describe(type: string, value: number | undefined, config: Config): string {
  if (type === underPressure.TYPE_EVENT_LOOP_DELAY) {
    return `the event-loop delay is ${Math.round(value ?? 0)} ms, over the limit of ${config.MAX_EVENT_LOOP_DELAY_MS} ms (MAX_EVENT_LOOP_DELAY_MS)`;
  }
  if (type === underPressure.TYPE_HEAP_USED_BYTES) {
    return `the heap in use is ${value ?? 0} bytes, over the limit of ${config.MAX_HEAP_USED_BYTES} bytes (MAX_HEAP_USED_BYTES)`;
  }
  return 'it is under pressure';
}

async function loadSheddingPlugin(app: FastifyInstance, { config, sampleIntervalMs }: LoadSheddingOptions): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedBytes: config.MAX_HEAP_USED_BYTES,
    sampleInterval: sampleIntervalMs,
    retryAfter: RETRY_AFTER_SECONDS,
    // A rejected promise goes to the one error handler as a problem; a resolved one lets the request through.
    pressureHandler: async (request: FastifyRequest, _reply, type, value) => {
      if (NEVER_SHED.has(request.routeOptions.url ?? '')) return;
      throw new ProblemError('ACT_ERR_OVERLOADED', `The server is overloaded: ${describe(type, value, config)}; retry shortly.`, {
        headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
      });
    },
  });
}

export default fp(loadSheddingPlugin, { name: 'load-shedding' });
