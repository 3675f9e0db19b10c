/** GET /metrics: Prometheus text exposition of this app's registry, or of every server process's (plugins/metrics.ts). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../schemas/problem.js';

export default async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const { registry, text } = app.metrics;

  typed.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description:
          'Request counts and latency histograms per route, activation and status; numbers computed, inline and in the pool; ' +
          'pool threads, utilisation, queue depth, running and completed tasks; load shedding; event-loop delay and process metrics. ' +
          'Prometheus text format 0.0.4. Never shed, and open even when API_KEY is set. ' +
          'With HTTP_PROCESSES > 1, the sum over every server process; 503 (Retry-After) when one does not report within 5 s.',
        response: {
          200: {
            description: 'The metrics, in the Prometheus text format.',
            content: { 'text/plain': { schema: z.string() } },
          },
          // A request that arrives while the instance closes is answered 503 problem+json (plugins/shutdown.ts).
          ...problemResponses(503),
        },
      },
    },
    async (_request, reply) => {
      return reply.type(registry.contentType).send(await text());
    },
  );
}
