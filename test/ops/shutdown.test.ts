/**
 * Graceful shutdown of the REAL server process (`node --import tsx
 * src/server.ts`, no build needed): a burst of slow requests (big GELU
 * batches through a one-thread pool, so tasks queue), SIGTERM in the middle
 * of it. Every request the server had accepted gets a complete 200 with the
 * right numbers; a request after the signal is refused (connection refused,
 * or 503 problem+json), never half-answered; the process exits 0, well
 * within SHUTDOWN_TIMEOUT_MS.
 *
 * The same contract in-process: requests in flight finish when app.close()
 * begins, new connections are refused, and a request that still arrives on
 * an open connection gets 503 ACT_ERR_SHUTTING_DOWN with Connection: close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { build } from '../helpers/app.js';
import { SLEEP } from '../workers/faulty.worker.js';
import { parsePrometheus, value } from './prometheus.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  /** HTTP status, if a whole answer arrived. */
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  /** A connection error before any answer (refused, reset). */
  error?: string;
  /** Bytes of an answer that broke off: must never happen. */
  partial?: number;
}

/** One request on its own connection; reports a whole answer, or an error with how much of an answer came. */
function send(port: number, path: string, body: string, onFlushed?: () => void, agent: Agent | false = false): Promise<Outcome> {
  return new Promise((resolve) => {
    let received = 0;
    let gotHeaders = false;
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        gotHeaders = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          received += c.length;
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const length = Number(res.headers['content-length']);
          if (res.complete && (Number.isNaN(length) || Buffer.byteLength(text) === length)) resolve({ status: res.statusCode, headers: res.headers, body: text });
          else resolve({ error: 'incomplete answer', partial: received });
        });
        res.on('error', (e) => resolve({ error: e.message, partial: received }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve(gotHeaders ? { error: e.message, partial: received || 1 } : { error: e.code ?? e.message }));
    req.end(body, onFlushed);
  });
}

describe('SIGTERM to the real server process in the middle of a burst', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('finishes every accepted request with a complete 200, refuses later ones, exits 0', async () => {
    const rows = 1;
    const cols = 500_000;
    const burst = 5;
    // The same numbers for every request; the expected answer comes from the registry's own kernel.
    const x = Float64Array.from({ length: cols }, (_, i) => ((i * 7919) % 4001) / 200 - 10);
    const gelu = getActivation('gelu')!;
    const expected = runForward(gelu, { x: x.slice(), rows, cols, params: { approximate: 'none' }, dtype: 'float64' }).out;
    const body = JSON.stringify({ inputs: [Array.from(x)] });

    const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        HOST: '127.0.0.1',
        WORKERS: '1',
        INLINE_MAX_ELEMENTS: '1000',
        LOG_LEVEL: 'info',
        // Keep shedding out of the way: this test keeps the main thread busy parsing on purpose.
        MAX_EVENT_LOOP_DELAY_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = server;
    let stdout = '';
    let stderr = '';
    server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close', not 'exit': the process may exit before its last log lines have been read from the pipe.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      server.once('close', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const waitFor = async (what: string, pattern: RegExp, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stdout)) {
        if (Date.now() > deadline || server.exitCode !== null) throw new Error(`no ${what} in the server output\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
        await sleep(20);
      }
      return pattern.exec(stdout)!;
    };

    const port = Number((await waitFor('listening line', /listening at http:\/\/127\.0\.0\.1:(\d+)/, 30_000))[1]);

    // The burst: each request on its own kept-alive connection (as a load balancer's).
    const agent = new Agent({ keepAlive: true, maxSockets: burst });
    const outcomes = Array.from({ length: burst }, () => send(port, '/v1/activations/gelu/forward', body, undefined, agent));

    // Signal as soon as the first batch is in the pool: the others are then still arriving, being parsed or queued.
    let doneAtSignal = 0;
    for (let i = 0; ; i++) {
      const samples = parsePrometheus(await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()));
      doneAtSignal = value(samples, 'activation_pool_tasks_completed_total');
      if (value(samples, 'activation_pool_tasks_running') >= 1) break;
      if (i > 1000) throw new Error('the burst never reached the pool');
      await sleep(10);
    }

    const signalledAt = Date.now();
    server.kill('SIGTERM');
    await waitFor('closing line', /"msg":"closing: refusing new connections/, 10_000);
    await sleep(100);

    // After the signal: refused, or a complete 503 problem; never a half answer, never computed.
    const late = await Promise.all(Array.from({ length: 3 }, () => send(port, '/v1/activations/relu/forward', '{"inputs":[[-1,1]]}')));
    for (const outcome of late) {
      expect(outcome.partial, JSON.stringify(outcome)).toBeUndefined();
      if (outcome.error) expect(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']).toContain(outcome.error);
      else {
        expect(outcome.status).toBe(503);
        expect(outcome.headers?.['content-type']).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(outcome.body!)).toMatchObject({ code: 'ACT_ERR_SHUTTING_DOWN' });
      }
    }

    const results = await Promise.all(outcomes);
    const exit = await exited;
    agent.destroy();
    expect(exit, `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalledAt).toBeLessThan(30_000);

    // Never half an answer: a burst request either got a complete 200 with the right numbers, or (if the
    // server had not yet read its headers at the signal) a connection error before any answer.
    // In the middle of the burst: a batch was on the worker, so not all were done.
    expect(doneAtSignal).toBeLessThan(burst);
    for (const result of results) expect(result.partial, JSON.stringify({ ...result, body: undefined })).toBeUndefined();
    const refusedBurst = results.filter((r) => r.error);
    for (const result of refusedBurst) expect(['ECONNRESET', 'EPIPE', 'ECONNREFUSED']).toContain(result.error);
    const answered = results.filter((r) => !r.error);
    console.info(`burst of ${burst}: ${doneAtSignal} done at the signal, ${answered.length} answered, ${refusedBurst.length} refused; exit ${exit.at - signalledAt} ms after it`);
    // At least the batch in the pool at the signal, and the ones queued behind it, were accepted and finished.
    expect(answered.length).toBeGreaterThanOrEqual(2);
    for (const result of answered) {
      expect(result.status).toBe(200);
      const answer = JSON.parse(result.body!) as { activation: string; shape: number[]; outputs: number[][] };
      expect(answer.activation).toBe('gelu');
      expect(answer.shape).toEqual([rows, cols]);
      const outputs = answer.outputs[0];
      expect(outputs).toHaveLength(cols);
      let mismatches = 0;
      for (let i = 0; i < cols; i++) if (outputs[i] !== expected[i]) mismatches++;
      expect(mismatches).toBe(0);
    }

    // The log agrees: the burst ran in the pool, all 200; the pool closed; nothing failed.
    const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const computed = lines.filter((l) => l.route === '/v1/activations/gelu/forward');
    expect(computed).toHaveLength(answered.length);
    for (const line of computed) expect(line).toMatchObject({ status: 200, placement: 'pool', shape: [rows, cols] });
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ msg: 'closed' });
  }, 120_000);
});

describe('closing in-process', () => {
  it('finishes pooled requests in flight (kept-alive too), refuses new connections, drops a pipelined request unanswered', async () => {
    const app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1 }, { workerFile: new URL('../workers/faulty.worker.ts', import.meta.url) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;

    // Slow pooled requests, and on one more connection a slow request with a second one pipelined behind it.
    const slow = JSON.stringify({ inputs: [[SLEEP, 400]] });
    const keepAlive = new Agent({ keepAlive: true });
    const inFlight = [
      ...Array.from({ length: 2 }, () => send(port, '/v1/activations/relu/forward', slow)),
      // A kept-alive connection must not hold the close up until its keep-alive timeout.
      send(port, '/v1/activations/relu/forward', slow, undefined, keepAlive),
    ];
    const pipelined = new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      const post = (b: string) => `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
      socket.on('connect', () => {
        socket.write(post(slow));
        // The second request arrives once closing has begun.
        setTimeout(() => socket.write(post('{"inputs":[[-1,1]]}')), 200);
      });
    });
    while (app.compute.queueDepth() + app.compute.running() < 4) await sleep(10);

    const closeStarted = Date.now();
    const closed = app.close();
    await sleep(50);
    expect(app.isClosing()).toBe(true);
    const refused = await send(port, '/v1/activations/relu/forward', '{"inputs":[[1]]}');
    expect(refused.error).toBe('ECONNREFUSED');

    const results = await Promise.all(inFlight);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body!).outputs).toEqual([[SLEEP, 400]]);
      // Answered after closing began: the connection ends with this answer.
      expect(r.headers?.connection).toBe('close');
    }
    // The pipelined connection: one whole answer to the first request, then the end; the second was never started.
    const text = await pipelined;
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.toLowerCase()).toContain('connection: close');
    const [, pipelinedBody] = text.split('\r\n\r\n');
    expect(JSON.parse(pipelinedBody).outputs).toEqual([[SLEEP, 400]]);

    await closed;
    expect(Date.now() - closeStarted).toBeLessThan(5_000);
    expect(app.compute.pool.threads.length).toBe(0);
    keepAlive.destroy();
  });

  it('an answer still being written out when closing begins is not cut off', async () => {
    const app = await build({ INLINE_MAX_ELEMENTS: 4_000_000, WORKERS: 1 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const cols = 1_500_000;
    const body = JSON.stringify({ inputs: [Array.from({ length: cols }, (_, i) => (i % 2 ? 1 : -1) * (1 + i / 3))] });

    // A client that reads slowly on a kept-alive connection: the server has ended the answer (all of it
    // handed to the socket) long before the client has read it.
    const keepAlive = new Agent({ keepAlive: true });
    let resume: () => void = () => {};
    let seen: () => void = () => {};
    const headersSeen = new Promise<void>((resolve) => (seen = resolve));
    const pending = new Promise<Outcome>((resolve) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/v1/activations/relu/forward', method: 'POST', agent: keepAlive, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.pause();
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
          res.on('error', (e) => resolve({ error: e.message, partial: chunks.reduce((n, c) => n + c.length, 0) }));
          resume = () => res.resume();
          seen();
        },
      );
      req.on('error', (e) => resolve({ error: e.message }));
      req.end(body);
    });
    await headersSeen;
    await sleep(100);

    const closed = app.close();
    await sleep(200);
    resume();
    const result = await pending;
    expect(result.error, JSON.stringify(result)).toBeUndefined();
    expect(result.status).toBe(200);
    const answer = JSON.parse(result.body!) as { shape: number[]; outputs: number[][] };
    expect(answer.shape).toEqual([1, cols]);
    expect(answer.outputs[0]).toHaveLength(cols);
    expect(answer.outputs[0][cols - 1]).toBe(1 + (cols - 1) / 3);
    await closed;
    keepAlive.destroy();
  });

  it('an answer streaming when closing begins (a static file, a slow reader) finishes, and its kept-alive connection does not hold the close up', async () => {
    const app = await build();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const keepAlive = new Agent({ keepAlive: true });
    let resume: () => void = () => {};
    let seen: () => void = () => {};
    const headersSeen = new Promise<void>((resolve) => (seen = resolve));
    const pending = new Promise<{ length: number; expected: number; connection?: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/docs/static/swagger-ui-bundle.js', agent: keepAlive }, (res) => {
        res.pause();
        let length = 0;
        res.on('data', (c: Buffer) => (length += c.length));
        res.on('end', () => resolve({ length, expected: Number(res.headers['content-length']), connection: res.headers.connection }));
        res.on('error', reject);
        resume = () => res.resume();
        seen();
      });
      req.on('error', reject);
      req.end();
    });
    await headersSeen;
    const closeStarted = Date.now();
    const closed = app.close();
    await sleep(200);
    resume();
    const result = await pending;
    expect(result.expected).toBeGreaterThan(100_000);
    expect(result.length).toBe(result.expected);
    // Its headers went out before closing began, so they said keep-alive; the server closes it anyway.
    expect(result.connection).toBe('keep-alive');
    await closed;
    expect(Date.now() - closeStarted).toBeLessThan(5_000);
    keepAlive.destroy();
  });

  it('a request that still reaches the server once closing has begun gets 503 problem+json, not a computation', async () => {
    const app = await buildApp(testConfig({ WORKERS: 1 }), { logger: false });
    // Holds the listener open a little after closing begins (hooks run in order; the app's own comes first).
    app.addHook('preClose', async () => {
      await sleep(500);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;

    const closed = app.close();
    await sleep(100);
    const late = await send(port, '/v1/activations/relu/forward', '{"inputs":[[-1,1]]}');
    expect(late.status).toBe(503);
    expect(late.headers?.['content-type']).toMatch(/^application\/problem\+json/);
    expect(late.headers?.connection).toBe('close');
    expect(late.headers?.['retry-after']).toBe('1');
    expect(JSON.parse(late.body!)).toEqual({
      type: 'https://activation-service.dev/problems/shutting-down',
      title: 'Shutting down',
      status: 503,
      detail: 'This instance is shutting down; retry, and another instance will answer.',
      code: 'ACT_ERR_SHUTTING_DOWN',
    });
    await closed;
  });
});
