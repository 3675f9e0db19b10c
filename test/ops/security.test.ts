/**
 * Auth, rate limit, CORS, security headers (with Swagger UI still loading
 * under its CSP) and the explicit limits of the HTTP server: each answer an
 * error as application/problem+json through the one handler.
 */
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build } from '../helpers/app.js';

const API_KEY = 'correct-horse-battery-staple';
const compute = { method: 'POST' as const, url: '/v1/activations/relu/forward', payload: { inputs: [[-1, 2]] } };

function expectProblem(response: { statusCode: number; headers: Record<string, unknown>; json(): any }, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.json()).toMatchObject({ status, code, type: expect.stringContaining('/problems/'), title: expect.any(String), detail: expect.any(String) });
}

describe('API_KEY', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await build({ API_KEY });
  });
  afterAll(async () => {
    await app.close();
  });

  it('without a key: 401 problem+json with a Bearer challenge', async () => {
    const response = await app.inject(compute);
    expectProblem(response, 401, 'ACT_ERR_UNAUTHORIZED');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="activation-service"');
    expect(response.json()).toEqual({
      type: 'https://activation-service.dev/problems/unauthorized',
      title: 'Unauthorized',
      status: 401,
      detail: 'This route needs an API key: send `Authorization: Bearer <key>`.',
      code: 'ACT_ERR_UNAUTHORIZED',
    });
  });

  it('a wrong key, a key of another length, another scheme: 401 invalid_token or a challenge', async () => {
    for (const authorization of [`Bearer ${API_KEY.slice(0, -1)}x`, `Bearer ${API_KEY}${API_KEY}`, 'Bearer x', `Bearer ${API_KEY.toUpperCase()}`]) {
      const response = await app.inject({ ...compute, headers: { authorization } });
      expectProblem(response, 401, 'ACT_ERR_UNAUTHORIZED');
      expect(response.headers['www-authenticate']).toBe('Bearer realm="activation-service", error="invalid_token"');
      expect(response.json().detail).toBe('The API key is not valid.');
    }
    for (const authorization of [`Basic ${Buffer.from(`u:${API_KEY}`).toString('base64')}`, API_KEY, 'Bearer', `Bearer ${API_KEY} extra`]) {
      const response = await app.inject({ ...compute, headers: { authorization } });
      expectProblem(response, 401, 'ACT_ERR_UNAUTHORIZED');
      expect(response.headers['www-authenticate']).toBe('Bearer realm="activation-service"');
    }
  });

  it('the right key computes (the scheme name in any case)', async () => {
    for (const scheme of ['Bearer', 'bearer']) {
      const response = await app.inject({ ...compute, headers: { authorization: `${scheme} ${API_KEY}` } });
      expect(response.statusCode).toBe(200);
      expect(response.json().outputs).toEqual([[0, 2]]);
    }
  });

  it('guards all of /v1, also unknown names (no probing without a key), and the body is never read', async () => {
    expectProblem(await app.inject('/v1/activations'), 401, 'ACT_ERR_UNAUTHORIZED');
    expectProblem(await app.inject('/v1/activations/relu/plot.svg'), 401, 'ACT_ERR_UNAUTHORIZED');
    expectProblem(await app.inject({ ...compute, url: '/v1/activations/nosuch/forward' }), 401, 'ACT_ERR_UNAUTHORIZED');
    // Not JSON at all: refused for the key before the body is parsed.
    const garbage = await app.inject({ method: 'POST', url: compute.url, headers: { 'content-type': 'application/json' }, payload: '{not json' });
    expectProblem(garbage, 401, 'ACT_ERR_UNAUTHORIZED');
  });

  it('guards the models of /v2 too, answering in the protocol\'s error form; /v2 health stays open', async () => {
    const infer = {
      method: 'POST' as const,
      url: '/v2/models/relu/infer',
      payload: { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [-1, 2] }] },
    };
    const refused = await app.inject(infer);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(Object.keys(refused.json())).toEqual(['error']);
    expect((await app.inject('/v2/models/relu')).statusCode).toBe(401);
    const ok = await app.inject({ ...infer, headers: { authorization: `Bearer ${API_KEY}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().outputs[0].data).toEqual([0, 2]);
    for (const url of ['/v2', '/v2/health/live', '/v2/health/ready']) expect((await app.inject(url)).statusCode, url).toBe(200);
  });

  it('health, readiness, metrics, docs and the OpenAPI document stay open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/', '/docs/static/swagger-ui-bundle.js', '/openapi.json']) {
      expect((await app.inject(url)).statusCode, url).toBe(200);
    }
    // An unknown route is still a 404, not a 401.
    expectProblem(await app.inject('/nowhere'), 404, 'ACT_ERR_NOT_FOUND');
  });

  it('without API_KEY nothing needs a key', async () => {
    const open = await build();
    try {
      expect((await open.inject(compute)).statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('the OpenAPI document describes the optional bearer key on /v1 and /v2/models operations only', async () => {
    const doc = (await app.inject('/openapi.json')).json();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const op = doc.paths['/v1/activations/relu/forward'].post;
    expect(op.security).toEqual([{}, { apiKey: [] }]);
    expect(op.responses['401'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    expect(op.responses['429'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    expect(doc.paths['/v2/models/{name}/infer'].post.security).toEqual([{}, { apiKey: [] }]);
    expect(doc.paths['/v2/models/{name}/infer'].post.responses['401'].content['application/json'].schema.$ref).toBe('#/components/schemas/OipError');
    expect(doc.paths['/v2/health/live'].get.security).toBeUndefined();
    expect(doc.paths['/healthz'].get.security).toBeUndefined();
    expect(doc.paths['/metrics'].get.security).toBeUndefined();
  });
});

describe('rate limit', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('is off by default', async () => {
    app = await build();
    for (let i = 0; i < 30; i++) expect((await app.inject(compute)).statusCode).toBe(200);
    expect((await app.inject(compute)).headers['x-ratelimit-limit']).toBeUndefined();
  });

  it('RATE_LIMIT_MAX per window and client: then 429 problem+json with Retry-After; operations routes never limited', async () => {
    app = await build({ RATE_LIMIT_MAX: 3, RATE_LIMIT_WINDOW_MS: 60_000 });
    for (let i = 0; i < 3; i++) {
      const ok = await app.inject(compute);
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(2 - i));
    }
    const limited = await app.inject(compute);
    expectProblem(limited, 429, 'ACT_ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.json().detail).toMatch(/^More than 3 requests in 60000 ms from this client \(RATE_LIMIT_MAX\); retry in \d+ s\.$/);
    // Another client (address) has its own budget.
    expect((await app.inject({ ...compute, remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) {
      for (const url of ['/healthz', '/readyz', '/metrics']) expect((await app.inject(url)).statusCode, url).toBe(200);
    }
  });

  // The limiter ran after the key check, so wrong keys were never counted: guessing keys was unlimited (an audit).
  it('counts requests with a wrong or missing key too, so keys cannot be guessed without limit; /v2/models shares the budget', async () => {
    app = await build({ API_KEY, RATE_LIMIT_MAX: 3, RATE_LIMIT_WINDOW_MS: 60_000 });
    const withKey = (key?: string) => ({ ...compute, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
    expect((await app.inject(withKey('wrong-key-number-one'))).statusCode).toBe(401);
    expect((await app.inject(withKey())).statusCode).toBe(401);
    expect((await app.inject({ url: '/v2/models/relu', headers: { authorization: `Bearer ${API_KEY}` } })).statusCode).toBe(200);
    const limited = await app.inject(withKey(API_KEY));
    expectProblem(limited, 429, 'ACT_ERR_RATE_LIMITED');
    expect((await app.inject(withKey('wrong-key-number-two'))).statusCode).toBe(429);
  });

  it('counts per window: a short window lets the client back in', async () => {
    app = await build({ RATE_LIMIT_MAX: 1, RATE_LIMIT_WINDOW_MS: 300 });
    expect((await app.inject(compute)).statusCode).toBe(200);
    expect((await app.inject(compute)).statusCode).toBe(429);
    await new Promise((r) => setTimeout(r, 400));
    expect((await app.inject(compute)).statusCode).toBe(200);
  });
});

describe('CORS', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('is off by default: no Access-Control-* headers, no preflight route', async () => {
    app = await build();
    const response = await app.inject({ ...compute, headers: { origin: 'https://app.example' } });
    expect(response.statusCode).toBe(200);
    expect(Object.keys(response.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const preflight = await app.inject({ method: 'OPTIONS', url: compute.url, headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
    expect(preflight.statusCode).toBe(404);
  });

  it('CORS_ORIGINS allows exactly those origins, preflight included, and errors carry the headers too', async () => {
    app = await build({ CORS_ORIGINS: ['https://app.example'], API_KEY });
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: compute.url,
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(preflight.headers['access-control-allow-headers'])).toContain('authorization');
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');

    const ok = await app.inject({ ...compute, headers: { origin: 'https://app.example', authorization: `Bearer ${API_KEY}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(ok.headers['access-control-expose-headers'])).toContain('x-request-id');
    // Another origin may read what CORS lets it: the resource policy says so too.
    expect(ok.headers['cross-origin-resource-policy']).toBe('cross-origin');
    // A browser can read the 401 too.
    const denied = await app.inject({ ...compute, headers: { origin: 'https://app.example' } });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe('https://app.example');

    const other = await app.inject({ ...compute, headers: { origin: 'https://evil.example', authorization: `Bearer ${API_KEY}` } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('security headers', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await build();
  });
  afterAll(async () => {
    await app.close();
  });

  const csp = (header: unknown) =>
    Object.fromEntries(
      String(header)
        .split(';')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => {
          const [name, ...values] = d.split(/\s+/);
          return [name, values];
        }),
    ) as Record<string, string[]>;

  it("API answers, errors included, carry OWASP's API set: nothing may load or frame them, no sniffing", async () => {
    const answers = [
      await app.inject(compute),
      await app.inject('/healthz'),
      await app.inject('/nowhere'),
      await app.inject('/metrics'),
      await app.inject({ method: 'POST', url: '/v2/models/relu/infer', payload: '{"inputs": 1}' }),
      await app.inject('/docs/static/swagger-ui.css'),
    ];
    for (const response of answers) {
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(response.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
      expect(csp(response.headers['content-security-policy'])).toEqual({ 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] });
      // The document-only headers stay off answers no browser renders as a page.
      expect(response.headers['referrer-policy']).toBeUndefined();
      expect(response.headers['cross-origin-opener-policy']).toBeUndefined();
    }
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 404, 200, 400, 200]);
  });

  it("documents (Swagger UI's page, the SVG plots) carry helmet's full set", async () => {
    for (const url of ['/docs/', '/v1/activations/gelu/plot.svg']) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(response.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(csp(response.headers['content-security-policy'])['default-src']).toEqual(["'self'"]);
    }
  });

  it('the CSP allows what Swagger UI at /docs loads, and nothing from elsewhere', async () => {
    const page = await app.inject('/docs/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const policy = csp(page.headers['content-security-policy']);
    expect(policy['default-src']).toEqual(["'self'"]);
    expect(policy['script-src']).toContain("'self'");
    expect(policy['script-src']).not.toContain("'unsafe-inline'");
    expect(policy['object-src']).toEqual(["'none'"]);
    // Over plain http this would send the browser to https for every asset.
    expect(policy['upgrade-insecure-requests']).toBeUndefined();

    const html = page.body;
    // No inline script for the CSP to block: every <script> has a src.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="/);
      expect(body.trim()).toBe('');
    }
    // Every asset is same-origin, under /docs/static/, and is served.
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1], 'http://host/docs/').pathname);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      expect(asset.startsWith('/docs/static/'), asset).toBe(true);
      const response = await app.inject(asset);
      expect(response.statusCode, asset).toBe(200);
      expect(response.body.length, asset).toBeGreaterThan(0);
    }
    // The initializer fetches the document from this server; no validator badge from another host.
    const initializer = await app.inject('/docs/static/swagger-initializer.js');
    expect(initializer.body).toContain("resolveUrl('./json')");
    expect(initializer.body).toContain('validatorUrl: null');
    expect((await app.inject('/docs/json')).statusCode).toBe(200);
  });

  it('the redirect from /docs lands on the same page', async () => {
    const response = await app.inject('/docs');
    expect([200, 302]).toContain(response.statusCode);
  });
});

describe('limits of the HTTP server', () => {
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    app = await build({ MAX_HEADER_SIZE: 2048, REQUEST_TIMEOUT_MS: 600, MAX_PARAM_LENGTH: 32 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app.close();
  });

  /** Writes raw bytes, returns everything the server sends until it closes. */
  function raw(chunks: string[], pauseMs = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (d) => (received += d.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(received));
      socket.on('connect', async () => {
        for (const chunk of chunks) {
          socket.write(chunk);
          if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        }
      });
      setTimeout(() => socket.destroy(), 10_000);
    });
  }

  function parse(response: string) {
    const [head, body] = response.split('\r\n\r\n');
    const status = Number(head.split(' ')[1]);
    return { status, head: head.toLowerCase(), body: JSON.parse(body) as Record<string, unknown> };
  }

  it('headers over MAX_HEADER_SIZE: 431 problem+json', async () => {
    const answer = parse(await raw([`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`]));
    expect(answer.status).toBe(431);
    expect(answer.head).toContain('content-type: application/problem+json');
    expect(answer.body).toMatchObject({ status: 431, code: 'ACT_ERR_HEADERS_TOO_LARGE' });
  });

  it('a request still arriving after REQUEST_TIMEOUT_MS: 408 problem+json', async () => {
    const started = Date.now();
    // Headers promise 100 bytes of body; only a few come.
    const answer = parse(
      await raw([`POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`, '{"inp'], 50),
    );
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({ status: 408, code: 'ACT_ERR_REQUEST_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('bytes that are not HTTP: 400 problem+json', async () => {
    const answer = parse(await raw(['NOT HTTP AT ALL\r\n\r\n']));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 400, code: 'ACT_ERR_VALIDATION' });
  });

  it('a path parameter over MAX_PARAM_LENGTH: 414 problem+json; a URL that does not decode: 400', async () => {
    const long = await fetch(`http://127.0.0.1:${port}/v1/activations/${'x'.repeat(64)}/forward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":[[1]]}',
    });
    expect(long.status).toBe(414);
    expect(long.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(long.headers.get('x-request-id')).toBeTruthy();
    expect(await long.json()).toMatchObject({ status: 414, code: 'ACT_ERR_URI_TOO_LONG' });
    const bad = await fetch(`http://127.0.0.1:${port}/v1/activations/%E0%A4%A/forward`, { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await bad.json()).toMatchObject({ status: 400, code: 'ACT_ERR_VALIDATION' });
  });

  it('the server options are the configured ones', () => {
    expect(app.server.requestTimeout).toBe(600);
    expect(app.server.headersTimeout).toBeLessThanOrEqual(600);
    expect(app.server.keepAliveTimeout).toBe(72_000);
    expect(app.server.timeout).toBe(120_000);
    expect(app.initialConfig.bodyLimit).toBe(64 * 1024 * 1024);
  });
});
