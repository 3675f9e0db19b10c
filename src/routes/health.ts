/** Liveness and readiness for load balancers and orchestrators. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE } from '../errors.js';
import { ProblemSchema, problemResponses } from '../schemas/problem.js';

const HealthSchema = z.object({ status: z.enum(['ok', 'unready']) }).meta({ id: 'Health' });

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'healthz',
        summary: 'Liveness: the process answers',
        response: {
          200: HealthSchema.describe('The process answers.'),
          // A request that arrives while the instance closes is answered 503 problem+json (plugins/shutdown.ts).
          ...problemResponses(503),
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  typed.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'readyz',
        summary: 'Readiness: the worker pool is up, its queue is not full and the process is not overloaded',
        response: {
          200: HealthSchema.describe('Ready for traffic.'),
          // While closing, plugins/shutdown.ts answers before this handler runs: a problem, not a Health body.
          503: {
            description: 'Not ready: the pool is down or its queue is full, or requests are being shed (Health); or the instance is closing (Problem).',
            content: { 'application/json': { schema: HealthSchema }, [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
          },
        },
      },
    },
    async (_request, reply) => {
      // Unready exactly while load shedding answers 503 (plugins/load-shedding.ts).
      const overloaded = app.hasDecorator('isUnderPressure') && app.isUnderPressure();
      const closing = app.hasDecorator('isClosing') && app.isClosing();
      const ready = app.compute.isReady() && !overloaded && !closing;
      return reply.code(ready ? 200 : 503).send({ status: ready ? ('ok' as const) : ('unready' as const) });
    },
  );
}
