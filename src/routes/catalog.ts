/** GET /v1/activations and /v1/activations/{name}: the catalog, from the registry. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { activations, getActivation } from '../core/activations/index.js';
import { CatalogEntrySchema, CatalogSchema, catalogEntry } from '../schemas/catalog.js';
import { problemResponses } from '../schemas/problem.js';
import { sendJson } from './send-json.js';
import { unknownActivation } from './suggest.js';

export default async function catalogRoutes(app: FastifyInstance): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  // Built once: the registry does not change while the process runs.
  const entries = activations.map(catalogEntry);
  const catalogJson = JSON.stringify({ count: entries.length, activations: entries });
  const entryJson = new Map(entries.map((e) => [e.name, JSON.stringify(e)]));

  typed.get(
    '/v1/activations',
    {
      schema: {
        tags: ['catalog'],
        operationId: 'list_activations',
        summary: 'List every activation',
        description: 'Each activation with its parameters, formula and derivative (TeX), output range, properties, pros and cons.',
        response: {
          200: { description: 'The catalog.', content: { 'application/json': { schema: CatalogSchema } } },
          // Load shedding and closing answer any /v1 route (plugins/load-shedding.ts, plugins/shutdown.ts).
          ...problemResponses(503),
        },
      },
    },
    async (_request, reply) => sendJson(reply, catalogJson),
  );

  typed.get(
    '/v1/activations/:name',
    {
      schema: {
        tags: ['catalog'],
        operationId: 'get_activation',
        summary: 'One activation',
        params: z.object({ name: z.string().describe('Activation name, e.g. gelu.').meta({ example: 'gelu' }) }),
        response: {
          200: { description: 'The catalog entry.', content: { 'application/json': { schema: CatalogEntrySchema } } },
          // 400: a name that is not valid percent-encoding; 414: a name over MAX_PARAM_LENGTH (plugins/error-handler.ts).
          ...problemResponses(400, 404, 414, 503),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (!getActivation(name)) throw unknownActivation(name);
      return sendJson(reply, entryJson.get(name)!);
    },
  );
}
