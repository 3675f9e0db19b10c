/**
 * Security headers (helmet's) on every answer, and CORS
 * (@fastify/cors) when CORS_ORIGINS is set. Register before Swagger UI and
 * the routes: hooks apply to routes and plugins registered after them.
 *
 * Two sets, both worked out by helmet once at start-up:
 *
 * - Documents a browser renders (HTML: Swagger UI at /docs; SVG: the plots)
 *   get helmet's full set. Its Content-Security-Policy is helmet's default
 *   with two changes for the Swagger UI, which loads its scripts and styles
 *   from /docs/static/ ('self') and has no inline scripts in this version
 *   (its csp.json lists none; whatever it lists is allowed by hash, as
 *   @fastify/swagger-ui documents): no `upgrade-insecure-requests`, which
 *   would make a browser fetch /docs/static/* over https from a server that
 *   speaks plain http behind the load balancer; and `img-src` keeps `data:`
 *   for its inline icons.
 * - Everything else (JSON, problem+json, binary tensors, metrics, scripts and
 *   styles) gets the set OWASP's REST Security Cheat Sheet asks of API
 *   answers: a CSP that loads nothing and may not be framed, nosniff,
 *   X-Frame-Options DENY, HSTS, and the cross-origin resource policy. The
 *   other seven of helmet's headers (COOP, Origin-Agent-Cluster,
 *   Referrer-Policy, DNS prefetch, download options, cross-domain policies,
 *   XSS auditor) act on documents only, and each costs every small answer
 *   its share: all twelve were 12% of the server's instructions for a 1×8
 *   batch, the five are 5% (callgrind, docs/BENCHMARKS.md).
 */
import { createRequire } from 'node:module';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import cors from '@fastify/cors';
import type { Config } from '../config.js';

const require = createRequire(import.meta.url);
/** Hashes of Swagger UI's inline scripts and styles, as the package ships them. */
const swaggerCsp = require('@fastify/swagger-ui/static/csp.json') as { script: string[]; style: string[] };

const contentSecurityPolicyDirectives = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  fontSrc: ["'self'", 'https:', 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'", ...swaggerCsp.script],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", 'https:', "'unsafe-inline'", ...swaggerCsp.style],
  upgradeInsecureRequests: null,
};

/**
 * The headers helmet sets for these options, worked out once. @fastify/helmet
 * runs helmet anew on every request (it re-parses the whole policy each time:
 * 15% of the CPU of a small request in a profile); with no per-request nonces
 * the headers never change, so they are computed here and copied onto each reply.
 */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let done = false;
  helmet(options)({} as never, res as never, (error?: unknown) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return headers;
}

/** Answers a browser renders as a document, by content type: they get the full set. */
const DOCUMENT_TYPE = /^(?:text\/html|image\/svg\+xml)\b/i;

/** The two sets of headers (see the top of this file). */
function securityHeaderSets(corsOn: boolean): { documents: Record<string, string>; api: Record<string, string> } {
  // With CORS on, other origins may read the answers; otherwise same-origin only.
  const crossOriginResourcePolicy = { policy: corsOn ? ('cross-origin' as const) : ('same-origin' as const) };
  return {
    documents: helmetHeaders({
      contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicyDirectives },
      crossOriginResourcePolicy,
    }),
    api: helmetHeaders({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginResourcePolicy,
      xFrameOptions: { action: 'deny' },
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      referrerPolicy: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    }),
  };
}

async function securityHeadersPlugin(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const corsOn = config.CORS_ORIGINS.length > 0;
  const { documents, api } = securityHeaderSets(corsOn);
  // onSend: by then the answer's content type is set, whichever route or error handler wrote it.
  app.addHook('onSend', (_request, reply, _payload, done) => {
    const type = reply.getHeader('content-type');
    reply.headers(typeof type === 'string' && DOCUMENT_TYPE.test(type) ? documents : api);
    done();
  });
  if (corsOn) {
    await app.register(cors, {
      origin: config.CORS_ORIGINS.includes('*') ? '*' : config.CORS_ORIGINS,
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-request-id', 'inference-header-content-length', 'content-encoding'],
      exposedHeaders: ['x-request-id', 'inference-header-content-length', 'retry-after', 'www-authenticate', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
  }
}

export default fp(securityHeadersPlugin, { name: 'security-headers' });
