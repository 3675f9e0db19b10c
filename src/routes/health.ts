/** Liveness and readiness for load balancers and orchestrators. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

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
        response: { 200: HealthSchema.describe('The process answers.') },
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
          503: HealthSchema.describe('Not ready: the pool is down or its queue is full, requests are being shed, or the instance is closing.'),
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
