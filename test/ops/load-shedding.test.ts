/**
 * Load shedding: over the event-loop delay or heap limit, requests get 503
 * problem+json ACT_ERR_OVERLOADED with Retry-After and /readyz turns unready
 * at the same time; /healthz and /metrics keep answering; when the pressure
 * is gone, everything serves again. A limit of 0 turns the check off.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build } from '../helpers/app.js';
import { parsePrometheus, value } from './prometheus.js';

const compute = { method: 'POST' as const, url: '/v1/activations/relu/forward', payload: { inputs: [[-1, 2]] } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Keeps the event loop busy, as a synchronous computation on the main thread would. */
function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

/**
 * Blocks the loop for `ms` again and again with short gaps between, until
 * stopped: every sample sees a lagging loop (under-pressure looks at the mean
 * delay over a sample), while requests still get through in the gaps.
 */
function keepLagging(ms: number): () => void {
  let running = true;
  const tick = () => {
    if (!running) return;
    blockEventLoop(ms);
    setTimeout(tick, 2);
  };
  setTimeout(tick, 0);
  return () => {
    running = false;
  };
}

describe('load shedding', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('sheds requests and turns unready while the event loop lags, and recovers', async () => {
    app = await build({ MAX_EVENT_LOOP_DELAY_MS: 30 }, { pressureSampleIntervalMs: 200 });
    // Building the app kept the loop busy too: start once a sample has seen it calm.
    await sleep(450);
    await until('a calm start', () => !app!.isUnderPressure());
    expect((await app.inject(compute)).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);

    const stop = keepLagging(80);
    try {
      await until('the lag to be seen', () => app!.isUnderPressure());
      await checkShedding(app);
    } finally {
      stop();
    }

    // The next samples see a calm loop: ready and serving again.
    await until('the pressure to pass', () => !app!.isUnderPressure());
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    const served = await app.inject(compute);
    expect(served.statusCode).toBe(200);
    expect(served.json().outputs).toEqual([[0, 2]]);
  }, 60_000);

  async function checkShedding(app: FastifyInstance): Promise<void> {

    const shed = await app.inject(compute);
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(shed.headers['retry-after']).toBe('5');
    const body = shed.json();
    expect(body).toMatchObject({
      type: 'https://activation-service.dev/problems/overloaded',
      title: 'Server overloaded',
      status: 503,
      code: 'ACT_ERR_OVERLOADED',
    });
    expect(body.detail).toMatch(/^The server is overloaded: the event-loop delay is \d+ ms, over the limit of 30 ms \(MAX_EVENT_LOOP_DELAY_MS\); retry shortly\.$/);

    // At the same time: unready, but alive, and the metrics say so.
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'unready' });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const metrics = await app.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(value(parsePrometheus(metrics.body), 'activation_overloaded')).toBe(1);
  }

  it('sheds while the heap in use is over MAX_HEAP_USED_BYTES', async () => {
    // One byte: always over, once the first sample is taken.
    app = await build({ MAX_HEAP_USED_BYTES: 1, MAX_EVENT_LOOP_DELAY_MS: 0 }, { pressureSampleIntervalMs: 100 });
    await until('the heap sample', () => app!.isUnderPressure());
    const shed = await app.inject(compute);
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('5');
    expect(shed.json()).toMatchObject({ code: 'ACT_ERR_OVERLOADED' });
    expect(shed.json().detail).toMatch(/the heap in use is \d+ bytes, over the limit of 1 bytes \(MAX_HEAP_USED_BYTES\)/);
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    // Everything the load balancer and the orchestrator ask is still answered.
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/metrics')).statusCode).toBe(200);
    // The catalog and the docs are shed like compute.
    expect((await app.inject('/v1/activations')).statusCode).toBe(503);
  });

  it('a limit of 0 turns the check off', async () => {
    app = await build({ MAX_EVENT_LOOP_DELAY_MS: 0, MAX_HEAP_USED_BYTES: 0 }, { pressureSampleIntervalMs: 100 });
    blockEventLoop(300);
    await sleep(250);
    expect(app.isUnderPressure()).toBe(false);
    expect((await app.inject(compute)).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });
});
