/**
 * A real generated client: TypeScript types generated from the committed
 * openapi/openapi.json by openapi-typescript (`defaultNonNullable: false`,
 * so fields with defaults stay optional), a small program that uses them
 * with openapi-fetch, type-checked by the TypeScript compiler, then run with
 * tsx against the app listening on 127.0.0.1: forward, backward, the
 * catalog, a 404 and a 400 problem, compared with the core kernels. A second
 * program with mistakes in it must not type-check: the types constrain.
 *
 * Everything generated goes to test/client/.generated/ (gitignored; a dot
 * folder, so the project's own `tsc -p tsconfig.json` never sees it).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activationNames, getActivation } from '../../src/core/activations/index.js';
import { runBackward, runForward } from '../../src/core/batch.js';
import { build } from '../helpers/app.js';
import { contractViolations } from '../helpers/contract.js';

const execFileAsync = promisify(execFile);
const OUT = new URL('./.generated/', import.meta.url);
const file = (name: string) => fileURLToPath(new URL(name, OUT));

/** The client program: what a user of the generated types would write. */
const CLIENT = `
import createClient from 'openapi-fetch';
import type { components, paths } from './openapi.js';

type JsonNumber = components['schemas']['JsonNumber'];
type Problem = components['schemas']['Problem'];

const client = createClient<paths>({ baseUrl: process.env.BASE_URL });

const forward = await client.POST('/v1/activations/gelu/forward', {
  body: { inputs: [[-1.5, 0, 2.25], [3, -4, 'NaN']], params: { approximate: 'tanh' } },
});
if (!forward.data) throw new Error('gelu forward failed: ' + JSON.stringify(forward.error));
const outputs: JsonNumber[][] = forward.data.outputs;

const backward = await client.POST('/v1/activations/prelu/backward', {
  body: { inputs: [[-2, 0.5, -1]], grad_outputs: [[1, 2, 3]], params: { alpha: [0.1, 0.2, 0.3] }, dtype: 'float64' },
});
if (!backward.data) throw new Error('prelu backward failed: ' + JSON.stringify(backward.error));

const catalog = await client.GET('/v1/activations');
if (!catalog.data) throw new Error('catalog failed');
const names: string[] = catalog.data.activations.map((a) => a.name);

const entry = await client.GET('/v1/activations/{name}', { params: { path: { name: 'gelu' } } });

const unknown = await client.GET('/v1/activations/{name}', { params: { path: { name: 'gelux' } } });
const notFound: Problem | undefined = unknown.error;

const ragged = await client.POST('/v1/activations/relu/forward', { body: { inputs: [[1, 2], [3]] } });
const invalid: Problem | undefined = ragged.error;

console.log(JSON.stringify({
  forward: { status: forward.response.status, shape: forward.data.shape, outputs },
  backward: { status: backward.response.status, grad_inputs: backward.data.grad_inputs, grad_params: backward.data.grad_params },
  catalog: { status: catalog.response.status, count: catalog.data.count, names },
  entry: { status: entry.response.status, name: entry.data?.name, kind: entry.data?.kind },
  notFound: { status: unknown.response.status, code: notFound?.code, suggestions: notFound?.suggestions },
  invalid: { status: ragged.response.status, code: invalid?.code, errors: invalid?.errors },
}));
`;

/** Mistakes the generated types must catch, one per line (the line numbers are checked). */
const WRONG = `
import createClient from 'openapi-fetch';
import type { paths } from './openapi.js';
const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' });
export const a = client.POST('/v1/activations/gelu/forward', { body: { inputs: 'not a batch' } });
export const b = client.POST('/v1/activations/gelu/forward', { body: { inputs: [[1]], params: { approximate: 'cubic' } } });
export const c = client.POST('/v1/activations/gelu/forward', { body: { inputs: [[1]], dtype: 'float16' } });
export const d = client.POST('/v1/activations/relu/backward', { body: { inputs: [[1]] } });
export const e = client.GET('/v1/nowhere');
export const f = (await client.GET('/v1/activations')).data?.count.toUpperCase();
`;

const WRONG_LINES = [5, 6, 7, 8, 9, 10];

/** The README's client example, pointed at the generated types and the test server; it prints what its comment says. */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const readmeSnippet = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Generated TypeScript client')))![1];
const README_CLIENT = readmeSnippet.replace("'./activation-api.js'", "'./openapi.js'").replace("'http://127.0.0.1:3000'", 'process.env.BASE_URL');
const README_PRINTS = /console\.log\(.*\); \/\/ (.*)$/m.exec(readmeSnippet)![1];

let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const ast = await openapiTS(new URL('../../openapi/openapi.json', import.meta.url), { defaultNonNullable: false });
  writeFileSync(file('openapi.d.ts'), astToString(ast));
  writeFileSync(file('client.ts'), CLIENT);
  writeFileSync(file('wrong.ts'), WRONG);
  writeFileSync(file('readme-example.ts'), README_CLIENT);
  app = await build();
  await app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}, 60_000);

afterAll(async () => {
  await app?.close();
});

describe('a TypeScript client generated from openapi/openapi.json', () => {
  it('type-checks, and its types reject wrong calls', () => {
    const program = ts.createProgram([file('client.ts'), file('readme-example.ts'), file('wrong.ts')], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    });
    const messages = (name: string) =>
      ts.getPreEmitDiagnostics(program, program.getSourceFile(file(name))).map((d) => {
        const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
        return { line, text: ts.flattenDiagnosticMessageText(d.messageText, '\n') };
      });
    expect(messages('client.ts')).toEqual([]);
    expect(messages('readme-example.ts')).toEqual([]);
    const wrong = messages('wrong.ts');
    expect([...new Set(wrong.map((m) => m.line))].sort((x, y) => x - y), JSON.stringify(wrong, null, 1)).toEqual(WRONG_LINES);
  }, 60_000);

  it("runs with tsx against the server and gets the core kernels' numbers", async () => {
    // Not spawnSync: the server answers from this very process.
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', file('client.ts')], {
      env: { ...process.env, BASE_URL: baseUrl },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(stderr).toBe('');
    const got = JSON.parse(stdout);

    const gelu = getActivation('gelu')!;
    const fwd = runForward(gelu, { x: Float64Array.from([-1.5, 0, 2.25, 3, -4, NaN]), rows: 2, cols: 3, params: gelu.params.parse({ approximate: 'tanh' }), dtype: 'float64' });
    const json = (v: number) => (v !== v ? 'NaN' : v);
    expect(got.forward).toEqual({ status: 200, shape: [2, 3], outputs: [Array.from(fwd.out.subarray(0, 3), json), Array.from(fwd.out.subarray(3), json)] });

    const prelu = getActivation('prelu')!;
    const bwd = runBackward(prelu, {
      x: Float64Array.from([-2, 0.5, -1]),
      dy: Float64Array.from([1, 2, 3]),
      rows: 1,
      cols: 3,
      params: prelu.params.parse({ alpha: [0.1, 0.2, 0.3] }),
      dtype: 'float64',
    });
    expect(got.backward).toEqual({ status: 200, grad_inputs: [Array.from(bwd.dx)], grad_params: bwd.gradParams });

    expect(got.catalog).toEqual({ status: 200, count: activationNames.length, names: [...activationNames] });
    expect(got.entry).toEqual({ status: 200, name: 'gelu', kind: 'elementwise' });
    expect(got.notFound).toEqual({ status: 404, code: 'ACT_ERR_UNKNOWN_ACTIVATION', suggestions: expect.arrayContaining(['gelu']) });
    expect(got.invalid).toEqual({
      status: 400,
      code: 'ACT_ERR_VALIDATION',
      errors: [{ path: '/inputs/1', message: 'ragged batch: row 1 has 1 number, row 0 has 2 numbers' }],
    });
    // Every answer the client got conforms to the document it was generated from.
    expect(contractViolations(app)).toEqual([]);
  }, 60_000);

  it('the README example runs and prints what its comment says', async () => {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', file('readme-example.ts')], {
      env: { ...process.env, BASE_URL: baseUrl },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe(README_PRINTS);
  }, 60_000);
});
