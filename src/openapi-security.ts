/**
 * The optional API key in the OpenAPI document: a bearer security scheme, and
 * on every operation under /v1 and /v2/models the choice "no key or the key" (`{}` means the
 * deployment may run without one; see API_KEY), with the 401 that a missing
 * or wrong key gets and the 429 of the optional rate limit. The document does
 * not depend on the configuration, so the committed file fits every
 * deployment; Swagger UI shows an Authorize button for the key.
 */
import { PROBLEM_CONTENT_TYPE } from './errors.js';

export const SECURITY_SCHEME = 'apiKey';

const problem = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** /v2 answers errors in the protocol's own form, `{"error": "..."}`. */
const oipError = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/OipError' } } },
});

type Json = Record<string, any>;

export function withApiSecurity<T>(document: T): T {
  const doc = document as Json;
  doc.components ??= {};
  doc.components.securitySchemes = {
    ...doc.components.securitySchemes,
    [SECURITY_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      description: 'The API key, when the deployment sets API_KEY: `Authorization: Bearer <API_KEY>`. Health, metrics and docs need none.',
    },
  };
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Json)) {
    const v2 = path.startsWith('/v2/models/');
    if (!path.startsWith('/v1/') && !v2) continue;
    const error = v2 ? oipError : problem;
    for (const operation of Object.values(item as Json) as Json[]) {
      if (typeof operation !== 'object' || operation === null || !operation.responses) continue;
      operation.security = [{}, { [SECURITY_SCHEME]: [] }];
      operation.responses = {
        ...operation.responses,
        401: operation.responses[401] ?? error('Unauthorized: API_KEY is set and the request has no key or a wrong one.'),
        429: operation.responses[429] ?? error('Too many requests: over the rate limit (RATE_LIMIT_MAX); Retry-After says when to retry.'),
      };
      operation.responses = Object.fromEntries(Object.entries(operation.responses as Json).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  return document;
}
