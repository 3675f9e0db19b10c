/**
 * A client that closes its connection before the answer (while its batch is
 * computed in the pool, or with a reset before its body has all arrived) is
 * counted in http_requests_total and written to the request log once, with
 * status 499; a request answered in full and then closed counts once, as its
 * status; one the server answered on the socket itself as that status (a
 * body that stopped arriving, 408; one cut short by the end of the stream,
 * 400).
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, logCapture, type LogLine } from '../helpers/app.js';
import { SLEEP } from '../workers/faulty.worker.js';
import { parsePrometheus, value } from './prometheus.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Line extends LogLine {
  status?: number;
  route?: string;
  durationMs?: number;
}

describe('requests whose client leaves before the answer', () => {
  let app: FastifyInstance;
  let port: number;
  const { stream, linesOf } = logCapture<Line>();

  beforeAll(async () => {
    app = await build(
      { LOG_LEVEL: 'info', INLINE_MAX_ELEMENTS: 0, WORKERS: 1, REQUEST_TIMEOUT_MS: 1_000 },
      { workerFile: new URL('../workers/faulty.worker.ts', import.meta.url), logStream: stream },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app.close();
  });

  /**
   * Sends a request with `body` on a connection of its own and closes it (with a reset if `reset`) after
   * `closeAfterMs`, or once a whole JSON answer has come (`closeAfterMs` undefined); resolves to what came back.
   */
  const leave = (id: string, body: string, options: { closeAfterMs?: number; contentLength?: number; reset?: boolean } = {}) =>
    new Promise<string>((resolve, reject) => {
      const { closeAfterMs, contentLength = Buffer.byteLength(body), reset = false } = options;
      let received = '';
      const close = () => {
        if (reset) socket.resetAndDestroy();
        else socket.destroy();
        resolve(received);
      };
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `POST /v1/activations/relu/forward HTTP/1.1\r\nhost: 127.0.0.1\r\nx-request-id: ${id}\r\n` +
            `content-type: application/json\r\ncontent-length: ${contentLength}\r\n\r\n${body}`,
        );
        if (closeAfterMs !== undefined) setTimeout(close, closeAfterMs);
      });
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        if (closeAfterMs === undefined && /\r\n\r\n\{.*\}$/s.test(received)) close();
      });
      socket.on('error', reject);
    });

  const http = async () => parsePrometheus((await app.inject('/metrics')).body);
  const count = (samples: ReturnType<typeof parsePrometheus>, status: string) =>
    value(samples, 'http_requests_total', { method: 'POST', route: '/v1/activations/relu/forward', activation: 'relu', status });

  it('counts and logs a client gone while its batch is in the pool once, as 499, and not again when the batch is done', async () => {
    const before = await http();
    const answer = await leave('gone-while-computing', JSON.stringify({ inputs: [[SLEEP, 400]] }), { closeAfterMs: 100 });
    expect(answer).toBe('');
    await sleep(150);
    const [line] = linesOf('gone-while-computing');
    expect(line).toMatchObject({ status: 499, route: '/v1/activations/relu/forward', activation: 'relu', msg: 'client closed the connection before the answer' });
    // Until the client left (100 ms after it connected), not until the batch was done (400 ms).
    expect(line!.durationMs).toBeGreaterThan(50);
    expect(line!.durationMs).toBeLessThan(400);
    // The batch finishes on the worker after the client left: still one line, still one count.
    await sleep(500);
    expect(linesOf('gone-while-computing')).toHaveLength(1);
    const after = await http();
    expect(count(after, '499') - count(before, '499')).toBe(1);
    expect(count(after, '200') - count(before, '200')).toBe(0);
    const durations = (samples: ReturnType<typeof parsePrometheus>) =>
      value(samples, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/activations/relu/forward', activation: 'relu', status: '499' });
    expect(durations(after) - durations(before)).toBe(1);
  });

  it('counts and logs a client gone (reset) before its body had all arrived, as 499', async () => {
    const before = await http();
    await leave('gone-mid-body', '{"inputs":[[1,', { closeAfterMs: 100, contentLength: 200, reset: true });
    await sleep(100);
    expect(linesOf('gone-mid-body')).toEqual([expect.objectContaining({ status: 499, route: '/v1/activations/relu/forward', msg: 'client closed the connection before the answer' })]);
    expect(count(await http(), '499') - count(before, '499')).toBe(1);
  });

  it.each([
    // The end of the stream before the body's length is malformed HTTP, answered as such (whoever still reads).
    { body: 'cut short by its client closing', id: 'cut-short', closeAfterMs: 100, answer: /^$/, status: 400, code: 'ACT_ERR_VALIDATION' },
    { body: 'that stops arriving', id: 'timed-out-mid-body', closeAfterMs: 2_500, answer: /^HTTP\/1\.1 408 /, status: 408, code: 'ACT_ERR_REQUEST_TIMEOUT' },
  ])('counts a body $body as the $status the server answered, not as left by its client', async ({ id, closeAfterMs, answer, status, code }) => {
    const before = await http();
    expect(await leave(id, '{"inputs":[[1,', { closeAfterMs, contentLength: 200 })).toMatch(answer);
    await sleep(100);
    expect(linesOf(id)).toEqual([expect.objectContaining({ status, code, route: '/v1/activations/relu/forward' })]);
    const after = await http();
    expect(count(after, String(status)) - count(before, String(status))).toBe(1);
    expect(count(after, '499') - count(before, '499')).toBe(0);
  });

  it('counts a request answered in full and then closed once, as its status', async () => {
    const before = await http();
    const answer = await leave('answered-then-closed', JSON.stringify({ inputs: [[-1, 2]] }));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    await sleep(100);
    expect(linesOf('answered-then-closed')).toEqual([expect.objectContaining({ status: 200, msg: 'request completed' })]);
    const after = await http();
    expect(count(after, '200') - count(before, '200')).toBe(1);
    expect(count(after, '499') - count(before, '499')).toBe(0);
  });
});
