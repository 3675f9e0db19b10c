/**
 * JSON.parse as Fastify's own JSON parser does it (secure-json-parse, with
 * Fastify's defaults: a `__proto__` or `constructor.prototype` key is an
 * error), for bodies read outside Fastify's parser: large /v1 bodies in a
 * worker, /v2 headers.
 */
import { createRequire } from 'node:module';

/** Resolved through Fastify, so it is Fastify's own copy. */
const secureJson = createRequire(createRequire(import.meta.url).resolve('fastify'))('secure-json-parse') as {
  parse(text: string, reviver?: null, options?: { protoAction?: string; constructorAction?: string }): unknown;
};
/** Fastify's defaults for onProtoPoisoning and onConstructorPoisoning (app.ts sets neither). */
const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const;

/**
 * secure-json-parse: JSON.parse, then two regex scans of the whole text for
 * __proto__ and constructor keys (0.6 ms for a 64×1024 body). Each regex
 * needs a quote followed by `_`, `c` or a `\u` escape; a text with none of
 * the three cannot match, so JSON.parse alone gives the same answer.
 */
export function parseJsonSecure(text: string): unknown {
  if (!text.includes('"_') && !text.includes('"c') && !text.includes('"\\u')) return JSON.parse(text);
  return secureJson.parse(text, null, PARSE_OPTIONS);
}
