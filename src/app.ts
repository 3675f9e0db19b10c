/**
 * buildApp(config): the whole service as a Fastify instance, not listening.
 * server.ts listens; tests use app.inject().
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import auth from './plugins/auth.js';
import compute from './plugins/compute.js';
import errorHandler, { clientErrorHandler, frameworkErrors, requireHost } from './plugins/error-handler.js';
import loadShedding from './plugins/load-shedding.js';
import metrics from './plugins/metrics.js';
import rateLimit from './plugins/rate-limit.js';
import abandoned from './plugins/abandoned.js';
import requestLog from './plugins/request-log.js';
import securityHeaders from './plugins/security-headers.js';
import shutdown from './plugins/shutdown.js';
import catalogRoutes from './routes/catalog.js';
import computeRoutes from './routes/compute.js';
import healthRoutes from './routes/health.js';
import metricsRoutes from './routes/metrics.js';
import plotRoutes from './routes/plot.js';
import oipRoutes from './routes/v2/index.js';
import { openapiInfo } from './openapi-info.js';
import { withApiSecurity } from './openapi-security.js';

/** A client's X-Request-Id worth keeping: printable ASCII, no spaces, at most 128 characters. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export interface BuildOptions {
  /** Worker module for the pool; tests swap in a faulty one. */
  workerFile?: URL;
  /** pino options or false; defaults to JSON logs at config.LOG_LEVEL. Ignored when logStream is given. */
  logger?: boolean | object;
  /** Where the JSON log lines go (default stdout), at config.LOG_LEVEL; tests pass a stream to read them. */
  logStream?: { write(line: string): void };
  /** How often load shedding samples the event-loop delay and heap, in ms (default 1000). */
  pressureSampleIntervalMs?: number;
}

/** Headers and other secrets that must never reach a log line, whatever logs a request. */
const REDACT = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'];

/** A hop count becomes the function Fastify would make of it (its types take no number). */
function trustProxy(value: Config['TRUST_PROXY']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof value === 'number' ? (_address, hop) => hop < value : value;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logger = options.logStream
    ? { level: config.LOG_LEVEL, stream: options.logStream, redact: REDACT }
    : (options.logger ?? { level: config.LOG_LEVEL, redact: REDACT });
  const app = Fastify({
    logger,
    // One line per request from plugins/request-log.ts instead of Fastify's pair.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT,
    // Time limits and sizes, explicit rather than Node's and Fastify's defaults (see config.ts).
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    connectionTimeout: config.CONNECTION_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    http: {
      maxHeaderSize: config.MAX_HEADER_SIZE,
      // Node answers an HTTP/1.1 request without Host with a bare 400 of its own; requireHost (below) says why, as problem+json.
      requireHostHeader: false,
      // Node requires headersTimeout <= requestTimeout.
      headersTimeout: config.REQUEST_TIMEOUT_MS > 0 ? Math.min(60_000, config.REQUEST_TIMEOUT_MS) : 60_000,
      // How often Node looks for requests past those limits (its default, 30 s, would let a short limit run long).
      connectionsCheckingInterval: config.REQUEST_TIMEOUT_MS > 0 ? Math.min(30_000, Math.max(100, Math.floor(config.REQUEST_TIMEOUT_MS / 4))) : 30_000,
    },
    routerOptions: { maxParamLength: config.MAX_PARAM_LENGTH },
    trustProxy: trustProxy(config.TRUST_PROXY),
    // Requests arriving while closing get a problem+json 503 from plugins/shutdown.ts, not Fastify's plain one.
    return503OnClosing: false,
    clientErrorHandler,
    // A malformed URL or an over-long path parameter, met while routing: problem+json too.
    frameworkErrors,
    // Request ids come back in a header so a client can quote them. A client's own id is kept when it is a
    // plausible id (printable ASCII, at most 128 characters), else replaced: it goes into every log line and
    // answer, and a 5000-character or tab-ridden one was echoed as sent.
    requestIdHeader: false,
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
    },
  });

  // Compute routes take JSON only; Fastify's built-in text/plain parser would turn text into a 400 instead of a 415.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Hooks on every request take Fastify's callback form: an async hook costs a promise and a microtask each.
  app.addHook('onSend', (request, reply, _payload, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  await app.register(errorHandler);
  app.addHook('onRequest', requireHost);
  // onRequest hooks run in registration order: the Host check, closing, shedding, the key and the rate limit (security headers go on in onSend).
  await app.register(shutdown);
  await app.register(compute, { config, workerFile: options.workerFile });
  // Both observe every response: registered before any route.
  await app.register(metrics);
  await app.register(requestLog);
  // Requests whose client left before the answer: counted and logged when the connection closes.
  await app.register(abandoned);
  await app.register(securityHeaders, { config });
  await app.register(loadShedding, { config, sampleIntervalMs: options.pressureSampleIntervalMs });
  // The limiter first: a request with a wrong key counts against its client too.
  await app.register(rateLimit, { config });
  await app.register(auth, { apiKey: config.API_KEY });

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
        { name: 'operations', description: 'Health, readiness and metrics.' },
        { name: 'open inference protocol', description: 'KServe v2 / Triton inference protocol, with the binary tensor data extension: every activation is a model.' },
      ],
    },
    transform: jsonSchemaTransform,
    // The optional API key (plugins/auth.ts) is documented on every /v1 operation, with its 401 and the rate limit's 429.
    transformObject: (input) => withApiSecurity(jsonSchemaTransformObject(input)),
  });
  // Swagger UI's default validatorUrl is null: no badge image from another host, which the CSP would block.
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(metricsRoutes);
  await app.register(catalogRoutes);
  await app.register(computeRoutes, { config });
  await app.register(plotRoutes);
  // Encapsulated: its catch-all body parser and {"error"} answers apply to /v2 only.
  await app.register(oipRoutes, { config });

  return app;
}
