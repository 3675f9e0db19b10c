/**
 * The response validator of test/helpers/contract.ts, which every build()
 * app uses: it reads the committed openapi/openapi.json, and it catches an
 * undocumented status, content type or body, through inject() and on real
 * sockets alike.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { ContractViolation, contractViolations, enforceContract, loadContract } from '../helpers/contract.js';

const contract = loadContract();
const problem = (status: number) =>
  JSON.stringify({ type: 'https://activation-service.dev/problems/validation', title: 'Invalid request', status, detail: 'x', code: 'ACT_ERR_VALIDATION' });
const PROBLEM = 'application/problem+json; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const forward = (body: string, status = 200, contentType = JSON_TYPE) => ({ method: 'POST', url: '/v1/activations/gelu/forward', status, contentType, body });

describe('Contract.check', () => {
  it('passes what the document describes', () => {
    expect(contract.check(forward('{"activation":"gelu","dtype":"float64","shape":[1,2],"outputs":[[0.5,"NaN"]]}'))).toEqual([]);
    expect(contract.check(forward(problem(400), 400, PROBLEM))).toEqual([]);
    expect(contract.check({ method: 'GET', url: '/v1/activations/gelu?x=1', status: 404, contentType: PROBLEM, body: problem(404).replace('ACT_ERR_VALIDATION', 'ACT_ERR_UNKNOWN_ACTIVATION') })).toEqual([]);
    expect(contract.check({ method: 'GET', url: '/metrics', status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# HELP x\n' })).toEqual([]);
  });

  it('catches a body that breaks the schema', () => {
    expect(contract.check(forward('{"activation":"relu","dtype":"float64","shape":[1,1],"outputs":[[1]]}')).join()).toMatch(/const/);
    expect(contract.check(forward('{"activation":"gelu","dtype":"float64","shape":[1,1]}')).join()).toMatch(/outputs/);
    expect(contract.check(forward('{"activation":"gelu","dtype":"float64","shape":[1,1],"outputs":[[null]]}'))).not.toEqual([]);
    expect(contract.check(forward('{"activation":"gelu","dtype":"float64","shape":[1,1],"outputs":[[1]],"extra":1}'))).not.toEqual([]);
    expect(contract.check(forward('not json'))).not.toEqual([]);
  });

  it('catches an undocumented status or content type', () => {
    expect(contract.check(forward(problem(418), 418, PROBLEM)).join()).toMatch(/status 418 is not documented/);
    expect(contract.check(forward('{}', 200, 'text/html')).join()).toMatch(/content type/);
    expect(contract.check(forward(problem(400), 400, JSON_TYPE)).join()).toMatch(/content type/);
  });

  it('catches a problem whose status field disagrees with the status line', () => {
    expect(contract.check(forward(problem(413), 400, PROBLEM)).join()).toMatch(/status 413 but the HTTP status is 400/);
  });

  it('outside the documented operations, only problems may come back', () => {
    expect(contract.check({ method: 'GET', url: '/nowhere', status: 404, contentType: PROBLEM, body: problem(404) })).toEqual([]);
    expect(contract.check({ method: 'GET', url: '/nowhere', status: 200, contentType: JSON_TYPE, body: '{}' })).not.toEqual([]);
    expect(contract.check({ method: 'DELETE', url: '/v1/activations', status: 404, contentType: 'text/plain', body: 'no' })).not.toEqual([]);
    // Swagger UI and the served document are not operations of the API.
    expect(contract.check({ method: 'GET', url: '/docs/static/index.html', status: 200, contentType: 'text/html', body: '<html>' })).toEqual([]);
  });
});

describe('enforceContract', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close().catch(() => undefined);
    app = undefined;
  });

  /** An app whose catalog answer is broken on purpose after the fact. */
  async function brokenApp(): Promise<FastifyInstance> {
    const a = await buildApp(testConfig({ WORKERS: 1 }), { logger: false });
    a.addHook('onSend', async (request, _reply, payload) => (request.url === '/v1/activations' ? '{"count":"many"}' : payload));
    enforceContract(a);
    await a.ready();
    return a;
  }

  it('makes inject() throw on a response that breaks the document', async () => {
    app = await brokenApp();
    await expect(app.inject({ method: 'GET', url: '/v1/activations' })).rejects.toThrow(ContractViolation);
    // Conforming answers go through untouched.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('records answers on real sockets, and close() fails with them', async () => {
    app = await brokenApp();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/v1/activations`);
    expect(await res.text()).toBe('{"count":"many"}');
    expect(contractViolations(app).join()).toMatch(/GET \/v1\/activations → 200/);
    const closing = app.close();
    app = undefined;
    await expect(closing).rejects.toThrow(ContractViolation);
  });
});
