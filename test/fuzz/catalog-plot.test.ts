/**
 * Fuzzing the GET routes: activation names of every kind in the path
 * (registered, near misses, unicode, percent-encoding broken or not, over
 * MAX_PARAM_LENGTH), and plot.svg query strings (min and max spelled every
 * way, repeated keys, each activation's own parameters from its JSON Schema,
 * junk). Each answer is a 200 of the right kind or a 4xx problem; never a
 * 5xx or a hang; and every answer conforms to openapi/openapi.json.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activationNames, activations, getActivation } from '../../src/core/activations/index.js';
import { build } from '../helpers/app.js';
import { fromJsonSchema, junk, paramsJsonSchema } from './arbitraries.js';
import { checkProblem, injectWithin } from './oracle.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number) => ({ numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });

let app: FastifyInstance;
beforeAll(async () => {
  app = await build();
});
afterAll(async () => {
  await app?.close();
});

/** A path segment: a name as is, percent-encoded, or raw bytes the router must cope with. */
const segment = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...activationNames) },
  fc.constantFrom(...activationNames).map((n) => n.toUpperCase()),
  fc.constantFrom(...activationNames).map((n) => n.replace(/_/g, '-')),
  fc.constantFrom(...activationNames).map((n) => `${n}x`),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).map(encodeURIComponent),
  fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%00', '..', '.', '%2e%2e', '%2F', 'gelu%2Fforward', 'gelu%00', ' ', '%20gelu', 'gelu;x', 'gelu?', '%3F'),
  fc.integer({ min: 90, max: 400 }).map((n) => 'a'.repeat(n)),
);

describe('GET /v1/activations/{name}', () => {
  it('a registered name answers its entry; anything else a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(segment, async (name) => {
        const answer = await injectWithin(app, { method: 'GET', url: `/v1/activations/${name}` });
        if (answer.status === 200) {
          const entry = JSON.parse(answer.text);
          expect(activationNames).toContain(entry.name);
          // What the router sees: the path before any `?`, percent-decoded.
          expect(decodeURIComponent(name.split('?')[0])).toBe(entry.name);
          return;
        }
        const problem = checkProblem(answer);
        if (problem.code === 'ACT_ERR_UNKNOWN_ACTIVATION') {
          expect(problem.status).toBe(404);
          for (const s of problem.suggestions) expect(activationNames).toContain(s);
        }
        expect(activationNames.includes(name)).toBe(false);
      }),
      params(RUNS * 5),
    );
  });

  it('GET /v1/activations lists every activation, whatever the query string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 20 }).map(encodeURIComponent), fc.constantFrom('', '?', '?a=1', '?a=%zz', '?%', '?a[b]=1&a=2', '?__proto__[x]=1'), async (value, query) => {
        const answer = await injectWithin(app, { method: 'GET', url: `/v1/activations${query}${query.includes('?') ? '&' : '?'}q=${value}` });
        if (answer.status === 200) expect(JSON.parse(answer.text).count).toBe(activations.length);
        else checkProblem(answer);
      }),
      params(RUNS),
    );
  });
});

/** Query values for min and max. */
const bound = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -50, max: 50, noNaN: true }).map(String) },
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '1e6', '1000001', '-0', '0x10', '1e-400', 'abc', '[]', '{}', 'null', 'true', '%', '%zz', '1,2', '١'),
  junk.map((v) => encodeURIComponent(JSON.stringify(v) ?? '')),
);

/** A parameter as the plot takes it: a JSON value, or a bare string. */
const queryValue = (value: unknown) => encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value) ?? '');

const plotQuery = fc
  .record({
    name: fc.constantFrom(...activationNames),
    min: fc.option(bound, { nil: undefined }),
    max: fc.option(bound, { nil: undefined }),
    repeat: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    junkKey: fc.option(fc.tuple(fc.string({ maxLength: 8 }), junk), { nil: undefined, freq: 5 }),
  })
  .chain((q) =>
    fc.record({
      q: fc.constant(q),
      params: fc.oneof(
        { weight: 2, arbitrary: fc.constant(getActivation(q.name)!.example.params ?? {}) },
        fromJsonSchema(paramsJsonSchema(getActivation(q.name)!)) as fc.Arbitrary<Record<string, unknown>>,
        fc.constant(getActivation(q.name)!.example.params ?? {}),
        fc.dictionary(fc.constantFrom('alpha', 'beta', 'approximate', 'pieces', 'targets', 'lambd', 'seed', 'training'), junk, { maxKeys: 2 }),
      ),
    }),
  )
  .map(({ q, params: p }) => {
    const parts: string[] = [];
    if (q.min !== undefined) parts.push(`min=${q.min}`);
    if (q.max !== undefined) parts.push(`max=${q.max}`);
    if (q.repeat) parts.push('min=-1', 'max=1');
    for (const [k, v] of Object.entries(p)) parts.push(`${encodeURIComponent(k)}=${queryValue(v)}`);
    if (q.junkKey) parts.push(`${encodeURIComponent(q.junkKey[0])}=${queryValue(q.junkKey[1])}`);
    return { name: q.name, url: `/v1/activations/${q.name}/plot.svg${parts.length ? `?${parts.join('&')}` : ''}` };
  });

/**
 * A query the plot accepts: the example's parameters and min < max. Mixed in with plotQuery, whose min, max,
 * parameters and extra keys are each often invalid, so that every run draws SVGs as well as problems (plotQuery
 * alone drew none in 60 runs once).
 */
const validPlotQuery = fc
  .record({ name: fc.constantFrom(...activationNames), min: fc.double({ min: -50, max: 0, noNaN: true }), width: fc.double({ min: 0.5, max: 50, noNaN: true }) })
  .map(({ name, min, width }) => {
    const parts = [`min=${min}`, `max=${min + width}`];
    for (const [k, v] of Object.entries(getActivation(name)!.example.params ?? {})) parts.push(`${encodeURIComponent(k)}=${queryValue(v)}`);
    return { name, url: `/v1/activations/${name}/plot.svg?${parts.join('&')}` };
  });

describe('GET /v1/activations/{name}/plot.svg', () => {
  it('any query string: an SVG or a 4xx problem that points into the query', async () => {
    let svgs = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 4, arbitrary: plotQuery }, { weight: 1, arbitrary: validPlotQuery }), async ({ url }) => {
        const answer = await injectWithin(app, { method: 'GET', url });
        if (answer.status === 200) {
          expect(answer.contentType).toMatch(/^image\/svg\+xml/);
          expect(answer.text).toMatch(/^(<\?xml[^>]*>\s*)?<svg[\s>]/);
          expect(answer.text).not.toMatch(/NaN|undefined/);
          svgs++;
          return;
        }
        const problem = checkProblem(answer);
        if (problem.errors) for (const e of problem.errors) expect(e.path).toMatch(/^\/(querystring|params|targets|inputs)?/);
      }),
      params(RUNS * 3),
    );
    expect(svgs).toBeGreaterThan(0);
  });
});

describe('afterwards', () => {
  it('the app still serves the catalog and a plot', async () => {
    const list = await injectWithin(app, { method: 'GET', url: '/v1/activations' });
    expect(JSON.parse(list.text).count).toBe(activations.length);
    const plot = await injectWithin(app, { method: 'GET', url: '/v1/activations/gelu/plot.svg?min=-3&max=3' });
    expect(plot.status).toBe(200);
  });
});
