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

/** A decimal number as written in a query: z.coerce would read "" as 0 and "0x10" as 16. */
const asDecimal = (value: unknown) =>
  typeof value === 'string' ? (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value) ? Number(value) : Number.NaN) : value;
const end = (what: string, fallback: number) =>
  z
    .preprocess(asDecimal, z.number({ error: 'must be a decimal number' }).min(-LIMIT).max(LIMIT).default(fallback))
    .describe(what);

const PlotQuerySchema = z
  .looseObject({
    min: end('Left end of the x range.', -6),
    max: end('Right end of the x range.', 6),
  })
  .refine((q) => q.min < q.max, { message: 'min must be less than max', path: ['min'] })
  .describe('min and max, and any parameter of the activation as a query value (e.g. approximate=tanh).');

const invalidQuery = (path: string, message: string) =>
  new ProblemError('ACT_ERR_VALIDATION', `${path}: ${message}`, { errors: [{ path, message }] });

/**
 * The activation's parameters from the query, read from the URL itself: the
 * parsed query object has lost a "__proto__" key (and kept only the last of a
 * repeated one) before it gets here.
 */
function queryParams(url: string): Record<string, unknown> {
  const q = url.indexOf('?');
  const entries: [string, unknown][] = [];
  const seen = new Set<string>();
  for (const [key, raw] of new URLSearchParams(q < 0 ? '' : url.slice(q + 1))) {
    if (key === 'min' || key === 'max') continue;
    if (seen.has(key)) throw invalidQuery(`/querystring/${key}`, 'is given more than once');
    seen.add(key);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    entries.push([key, value]);
  }
  // Own keys, "__proto__" too, so the strict schema refuses it (an assignment would set the prototype instead).
  return Object.fromEntries(entries);
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
  for (const [key, schema] of Object.entries(def.bodyFields ?? {})) {
    const example = def.example.body?.[key];
    const value = Object.hasOwn(raw, key) ? raw[key] : Array.isArray(example) ? example[0] : example;
    if (value === undefined) continue;
    // Validated as the body field is (targets=null was a 500, targets=-1 a chart); every sample has the same value,
    // so an issue is the query value's whatever its row.
    const parsed = (schema as z.ZodType).safeParse(Array.from({ length: SAMPLES }, () => value));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidQuery(`/querystring/${[key, ...issue.path.slice(1).map(String)].join('/')}`, issue.message);
    }
    fields[key] = parsed.data;
  }
  return fields;
}

/** A checkShape pointer into a request body (/params/alpha, /targets/3, /inputs), as a pointer into this route's query. */
function queryPointer(path: string): string {
  const name = /^\/(?:params\/)?([a-z_]+)/.exec(path)?.[1];
  return name && name !== 'inputs' ? `/querystring/${name}` : '/querystring';
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
      const raw = queryParams(request.url);
      const fields = bodyFieldsPerSample(def, raw);
      // The activation's own parameters: the query's values but the body fields (targets).
      const parsed = def.params.safeParse(Object.fromEntries(Object.entries(raw).filter(([key]) => !Object.hasOwn(fields, key))));
      if (!parsed.success) {
        const errors = parsed.error.issues.map((i) => ({ path: `/querystring/${i.path.join('/')}`, message: i.message }));
        throw new ProblemError('ACT_ERR_VALIDATION', `Invalid parameters for ${def.name}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, {
          errors,
        });
      }
      const withFields = { ...parsed.data, ...fields };
      const issue = def.checkShape?.(withFields as never, SAMPLES, def.kind === 'row' ? 2 : 1);
      // The chart's batch is its own (SAMPLES rows, one or two columns): a per-row parameter must match that.
      if (issue) throw invalidQuery(queryPointer(issue.path), `${issue.message} (the chart computes ${SAMPLES} rows)`);
      const params = def.resolveParams ? def.resolveParams(withFields as never) : withFields;
      const { x, y, dydx } = sample(def, params, min, max);
      const along = def.kind === 'row' ? ' (first output, for the row [x, 0])' : '';
      const svg = renderChart({
        title: `${def.name}: ${def.title}`,
        subtitle: `${describeParams(raw)}${along}; x from ${min} to ${max}`,
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
