/** GET /v1/activations/{name}/plot.svg: a standalone chart of f and f′. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { activations } from '../../src/core/activations/index.js';
import { build } from '../helpers/app.js';

let app: FastifyInstance;
beforeAll(async () => {
  app = await build();
});
afterAll(async () => {
  await app.close();
});

const pathPoints = (d: string) => d.split(/[ML]/).filter(Boolean).map((p) => p.split(',').map(Number));

describe('plot.svg', () => {
  it('draws gelu with the parameters in the title, axes, ticks and a legend', async () => {
    const res = await app.inject('/v1/activations/gelu/plot.svg?min=-4&max=3&approximate=tanh');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    const svg = res.body;
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toMatch(/href=|url\((?!#)|<image|<script/);
    expect(svg).toContain('approximate = &quot;tanh&quot;');
    expect(svg).toContain('x from -4 to 3');
    expect(svg).toContain('>gelu(x)<');
    expect(svg).toContain('>gelu′(x)<');
    // Tick labels along x from -4 to 3.
    for (const t of ['-4', '-2', '0', '2', '3']) expect(svg).toContain(`>${t}</text>`);
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1]);
    expect(paths).toHaveLength(2);
    for (const d of paths) expect(pathPoints(d)).toHaveLength(401);
  });

  it('an x range a few subnormals wide is drawn, its ends as the only ticks (d3 has no tick step that small)', async () => {
    // Found by the plot fuzz test (seed -478395939): a 500 before.
    const res = await app.inject('/v1/activations/celu/plot.svg?min=5e-324&max=1e-323&alpha=2');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect(res.body).toContain('>5e-324</text>');
    expect(res.body).toContain('>1e-323</text>');
    const paths = [...res.body.matchAll(/<path d="([^"]+)"/g)].map((m) => pathPoints(m[1]));
    expect(paths).toHaveLength(2);
    for (const points of paths) for (const p of points) expect(p.every(Number.isFinite)).toBe(true);
  });

  it('values of both signs near ±1.8e308 are drawn, with ticks labelled in range', async () => {
    // Found by the plot fuzz test (seed 1146023034): y1="NaN" for the axis, then a 500 once padded.
    for (const url of [
      '/v1/activations/prelu/plot.svg?min=-1.7411910785082233e-141&max=-3.0175792799510896e-214&alpha=%5B-1.7976931348623157e%2B308%5D',
      '/v1/activations/prelu/plot.svg?min=-1&max=1&alpha=%5B-1.7976931348623157e%2B308%5D',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toMatch(/NaN|Infinity|undefined/);
      const paths = [...res.body.matchAll(/<path d="([^"]+)"/g)].map((m) => pathPoints(m[1]));
      expect(paths).toHaveLength(2);
      for (const points of paths) for (const p of points) expect(p.every(Number.isFinite)).toBe(true);
    }
    // The derivative (−1.8e308 for x < 0) sits at the bottom edge, the forward's top end at the top edge.
    const svg = (await app.inject('/v1/activations/prelu/plot.svg?min=-1&max=1&alpha=%5B-1.7976931348623157e%2B308%5D')).body;
    const [f, df] = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => pathPoints(m[1]));
    expect(df[0][1]).toBeGreaterThan(f[0][1]);
  });

  it('the curves go where the function goes: relu is flat, then rises', async () => {
    const svg = (await app.inject('/v1/activations/relu/plot.svg?min=-1&max=1')).body;
    const [f, df] = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => pathPoints(m[1]));
    // SVG y grows downwards: left half flat, right half rising.
    expect(f[0][1]).toBeCloseTo(f[150][1], 6);
    expect(f[400][1]).toBeLessThan(f[250][1]);
    // The derivative steps from 0 to 1: two levels only.
    expect(new Set(df.map(([, y]) => y.toFixed(3))).size).toBe(2);
  });

  it('draws every activation of the registry', async () => {
    for (const def of activations) {
      const query = new URLSearchParams(
        Object.entries(def.example.params ?? {}).map(([k, v]): [string, string] => [k, typeof v === "string" ? v : JSON.stringify(v)]),
      );
      const res = await app.inject(`/v1/activations/${def.name}/plot.svg?${query}`);
      expect(res.statusCode, `${def.name}: ${res.body.slice(0, 200)}`).toBe(200);
      // Both curves, every sample on the chart (a finite point), in the function's own name.
      const curves = [...res.body.matchAll(/<path d="([^"]+)"/g)].map((m) => pathPoints(m[1]));
      expect(curves.map((c) => c.length), def.name).toEqual([401, 401]);
      for (const c of curves) expect(c.flat().every(Number.isFinite), def.name).toBe(true);
      expect(res.body).toContain(`>${def.name}′(x)<`);
    }
  });

  it('bad ranges and parameters are 400 problems; unknown names 404', async () => {
    const range = await app.inject('/v1/activations/gelu/plot.svg?min=3&max=1');
    expect(range.statusCode).toBe(400);
    expect(range.json().errors).toEqual([{ path: '/querystring/min', message: 'min must be less than max' }]);
    // Decimal numbers only: z.coerce read an empty min as 0 and 0x10 as 16.
    for (const bad of ['min=', 'min=0x10', 'max=1,5', 'max=six']) {
      const res = await app.inject(`/v1/activations/gelu/plot.svg?${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().errors[0]).toEqual({ path: `/querystring/${bad.split('=')[0]}`, message: 'must be a decimal number' });
    }
    expect((await app.inject('/v1/activations/gelu/plot.svg?min=-1e1&max=.5')).body).toContain('x from -10 to 0.5');
    const param = await app.inject('/v1/activations/gelu/plot.svg?approximate=erf');
    expect(param.statusCode).toBe(400);
    expect(param.json().errors[0].path).toBe('/querystring/approximate');
    const unknown = await app.inject('/v1/activations/gelux/plot.svg');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().suggestions).toContain('gelu');
  });

  // From an audit: the query's targets skipped their schema (null was a 500, -1 and 0.5 drew charts), a repeated
  // or "__proto__" key was dropped unseen, and the batch-shape checks pointed into a body the client never sent.
  it('query values are validated as the body fields and params they stand for, and errors point into the query', async () => {
    const errorsOf = async (query: string) => {
      const res = await app.inject(`/v1/activations/${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      return res.json().errors as { path: string; message: string }[];
    };
    for (const targets of ['null', '-1', '0.5', '[%221%22,0]', '[null,1]', `${'['.repeat(7000)}0${']'.repeat(7000)}`]) {
      const [first] = await errorsOf(`softmax_cross_entropy/plot.svg?targets=${targets}`);
      expect(first.path, targets).toBe('/querystring/targets');
    }
    for (const targets of ['1', '[0.25,0.75]']) {
      expect((await app.inject(`/v1/activations/softmax_cross_entropy/plot.svg?targets=${targets}`)).statusCode).toBe(200);
    }
    expect(await errorsOf('gelu/plot.svg?approximate=tanh&approximate=none')).toEqual([{ path: '/querystring/approximate', message: 'is given more than once' }]);
    expect((await errorsOf('gelu/plot.svg?__proto__=%7B%22approximate%22:%22tanh%22%7D'))[0].message).toBe('Unrecognized key: "__proto__"');
    expect(await errorsOf('maxout/plot.svg?pieces=3')).toEqual([
      { path: '/querystring', message: 'without weights the row width must be divisible by pieces = 3; it is 2 (the chart computes 401 rows)' },
    ]);
    expect((await errorsOf('prelu/plot.svg?alpha=[[1]]'))[0].path).toBe('/querystring/alpha');
  });
});
