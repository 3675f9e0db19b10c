/**
 * buildApp(config): the whole service as a Fastify instance, not listening.
 * server.ts listens; tests use app.inject().
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import compute from './plugins/compute.js';
import errorHandler from './plugins/error-handler.js';
import catalogRoutes from './routes/catalog.js';
import computeRoutes from './routes/compute.js';
import healthRoutes from './routes/health.js';
import plotRoutes from './routes/plot.js';
import { openapiInfo } from './openapi-info.js';

export interface BuildOptions {
  /** Worker module for the pool; tests swap in a faulty one. */
  workerFile?: URL;
  /** pino options or false; defaults to JSON logs at config.LOG_LEVEL. */
  logger?: boolean | object;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { level: config.LOG_LEVEL },
    bodyLimit: config.BODY_LIMIT,
    // Request ids come back in a header so a client can quote them.
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
  });

  // Compute routes take JSON only; Fastify's built-in text/plain parser would turn text into a 400 instead of a 415.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(errorHandler);
  await app.register(compute, { config, workerFile: options.workerFile });

  // Swagger must be registered before any route, or the routes are missing from the document (fastify-swagger#890).
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: openapiInfo,
      // A relative server keeps Swagger UI on whatever host and port served it.
      servers: [{ url: '/' }],
      tags: [
        { name: 'compute', description: 'Forward and backward passes over batches of vectors.' },
        { name: 'catalog', description: 'What each activation is, with its parameters and properties.' },
        { name: 'operations', description: 'Health and readiness.' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(catalogRoutes);
  await app.register(computeRoutes, { config });
  await app.register(plotRoutes);

  return app;
}
