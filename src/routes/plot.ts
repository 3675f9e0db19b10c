/**
 * GET /v1/activations/{name}/plot.svg?min=-6&max=6&<param>=<value>: the
 * function and its derivative, drawn server-side. Parameters come as query
 * values (JSON where they parse as JSON, strings otherwise) and are validated
 * by the activation's own schema.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getActivation } from '../core/activations/index.js';
import type { ActivationDefinition } from '../core/activation.js';
import { outputCols, runBackward, runForward } from '../core/batch.js';
import { ProblemError } from '../errors.js';
import { renderChart } from '../plot/svg.js';
import { problemResponses } from '../schemas/problem.js';
import { unknownActivation } from './suggest.js';

const SAMPLES = 401;
const LIMIT = 1e6;

const PlotQuerySchema = z
  .looseObject({
    min: z.coerce.number().min(-LIMIT).max(LIMIT).default(-6).describe('Left end of the x range.'),
    max: z.coerce.number().min(-LIMIT).max(LIMIT).default(6).describe('Right end of the x range.'),
  })
  .refine((q) => q.min < q.max, { message: 'min must be less than max', path: ['min'] })
  .describe('min and max, and any parameter of the activation as a query value (e.g. approximate=tanh).');

function queryParams(query: Record<string, unknown>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(query)) {
    if (key === 'min' || key === 'max' || typeof raw !== 'string') continue;
    try {
      params[key] = JSON.parse(raw);
    } catch {
      params[key] = raw;
    }
  }
  return params;
}

/**
 * Samples f and f′ over [min, max]. Element-wise functions take x itself; a row
 * function is shown along its first input, for the row [x, 0].
 */
function sample(def: ActivationDefinition, params: unknown, min: number, max: number) {
  const x = Float64Array.from({ length: SAMPLES }, (_, i) => min + ((max - min) * i) / (SAMPLES - 1));
  const cols = def.kind === 'row' ? 2 : 1;
  const batch = new Float64Array(SAMPLES * cols);
  for (let i = 0; i < SAMPLES; i++) batch[i * cols] = x[i];
  const width = outputCols(def, cols, params);
  const { out } = runForward(def, { x: batch.slice(), rows: SAMPLES, cols, params, dtype: 'float64' });
  const dy = new Float64Array(SAMPLES * width);
  for (let i = 0; i < SAMPLES; i++) dy[i * width] = 1;
  const { dx } = runBackward(def, { x: batch.slice(), dy, rows: SAMPLES, cols, params, dtype: 'float64' });
  const y = Float64Array.from({ length: SAMPLES }, (_, i) => out[i * width]);
  const dydx = Float64Array.from({ length: SAMPLES }, (_, i) => dx[i * cols]);
  return { x, y, dydx };
}

/**
 * Values for an activation's extra body fields (softmax_cross_entropy's
 * targets): one per sampled row. A query value, or the first row's value of
 * the activation's example, is repeated for every sample.
 */
function bodyFieldsPerSample(def: ActivationDefinition, raw: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(def.bodyFields ?? {})) {
    const example = def.example.body?.[key];
    const value = key in raw ? raw[key] : Array.isArray(example) ? example[0] : example;
    if (value === undefined) continue;
    fields[key] = Array.from({ length: SAMPLES }, () => value);
    delete raw[key];
  }
  return fields;
}

function describeParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined);
  return entries.length ? entries.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ') : 'default parameters';
}

export default async function plotRoutes(app: FastifyInstance): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/activations/:name/plot.svg',
    {
      schema: {
        tags: ['catalog'],
        operationId: 'plot_activation',
        summary: 'A chart of the function and its derivative (SVG)',
        params: z.object({ name: z.string().describe('Activation name, e.g. gelu.').meta({ example: 'gelu' }) }),
        querystring: PlotQuerySchema,
        response: {
          200: { description: 'An SVG image.', content: { 'image/svg+xml': { schema: z.string() } } },
          ...problemResponses(400, 404, 414, 503),
        },
      },
    },
    async (request, reply) => {
      const def = getActivation(request.params.name);
      if (!def) throw unknownActivation(request.params.name);
      const { min, max } = request.query;
      const raw = queryParams(request.query as Record<string, unknown>);
      const fields = bodyFieldsPerSample(def, raw);
      const parsed = def.params.safeParse(raw);
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => ({ path: `/querystring/${i.path.join('/')}`, message: i.message }));
        throw new ProblemError('ACT_ERR_VALIDATION', `Invalid parameters for ${def.name}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
          errors,
        });
      }
      const withFields = { ...parsed.data, ...fields };
      const issue = def.checkShape?.(withFields as never, SAMPLES, def.kind === 'row' ? 2 : 1);
      if (issue) throw new ProblemError('ACT_ERR_VALIDATION', `${issue.path}: ${issue.message}`, { errors: [{ ...issue }] });
      const params = def.resolveParams ? def.resolveParams(withFields as never) : withFields;
      const { x, y, dydx } = sample(def, params, min, max);
      const along = def.kind === 'row' ? ' (first output, for the row [x, 0])' : '';
      const svg = renderChart({
        title: `${def.name}: ${def.title}`,
        subtitle: `${describeParams(queryParams(request.query as Record<string, unknown>))}${along}; x from ${min} to ${max}`,
        x,
        series: [
          { label: `${def.name}(x)`, color: '#1f6feb', y },
          { label: `${def.name}′(x)`, color: '#d1495b', dash: '6 4', y: dydx },
        ],
      });
      return reply.type('image/svg+xml; charset=utf-8').send(svg);
    },
  );
}
