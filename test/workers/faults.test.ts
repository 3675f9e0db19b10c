/**
 * Worker threads killed while requests are in flight, again and again: only
 * the requests on the killed thread fail, each with a 500 problem
 * (ACT_ERR_WORKER_FAILED); requests on the other thread and requests waiting
 * in the queue complete; the pool refills to WORKERS threads; and a long run
 * of requests afterwards is all 200 and exact by the core kernels.
 *
 * Two ways to kill: a thread that exits by itself (the faulty worker's
 * 7777 input), and a thread terminated from outside
 * (`pool.threads[i].terminate()`) in the middle of a task.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { activations } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';
import { exampleBodies } from '../../src/schemas/compute.js';
import { build } from '../helpers/app.js';
import { CRASH, SLEEP } from './faulty.worker.js';

const faultyWorker = new URL('./faulty.worker.ts', import.meta.url);
const WORKERS = 2;
const ROUNDS = 3;

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function forward(name: string, inputs: unknown[][], params?: object) {
  const res = await app!.inject({ method: 'POST', url: `/v1/activations/${name}/forward`, payload: { inputs, ...(params ? { params } : {}) } });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

const WORKER_FAILED = {
  type: 'https://activation-service.dev/problems/worker-failed',
  title: 'Computation failed',
  status: 500,
  detail: 'The computation failed in a worker; the worker has been replaced. Retrying is safe.',
  code: 'ACT_ERR_WORKER_FAILED',
};

/** Waits until the pool has all its threads again. */
async function refilled(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (app!.compute.pool.threads.length === WORKERS) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the pool has ${app!.compute.pool.threads.length} threads, not ${WORKERS}`);
}

/** A long run afterwards: every element-wise activation's example through the pool, exact, nothing lost. */
async function longRunIsExact(): Promise<void> {
  const defs = activations.filter((d) => !d.resolveParams);
  const jobs = Array.from({ length: 72 }, (_, i) => defs[i % defs.length]);
  for (let i = 0; i < jobs.length; i += 12) {
    const results = await Promise.all(
      jobs.slice(i, i + 12).map(async (def) => {
        const { inputs, params } = def.example;
        const res = await app!.inject({ method: 'POST', url: `/v1/activations/${def.name}/forward`, payload: exampleBodies(def).forward });
        const p = { ...(def.params.parse(params ?? {}) as object), ...def.example.body };
        const want = runForward(def, { x: Float64Array.from(inputs.flat()), rows: inputs.length, cols: inputs[0].length, params: p, dtype: 'float64' });
        return { def, status: res.statusCode, outputs: res.json().outputs, want };
      }),
    );
    for (const { def, status, outputs, want } of results) {
      expect(status, def.name).toBe(200);
      const expected = Array.from({ length: want.rows }, (_, r) =>
        Array.from(want.out.subarray(r * want.cols, (r + 1) * want.cols), (v) => (v !== v ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v === 0 ? 0 : v)),
      );
      expect(outputs, def.name).toEqual(expected);
    }
  }
}

describe('worker threads die mid-request', () => {
  it('a thread that exits fails only its own request, round after round; queued requests complete', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS, QUEUE_LIMIT: 64 }, { workerFile: faultyWorker });
    for (let round = 0; round < ROUNDS; round++) {
      // In flight together: one crash, a slow request on the other thread, and six queued behind them.
      const crash = forward('sigmoid', [[CRASH, 1]]);
      const slow = forward('sigmoid', [[SLEEP, 150, 0]]);
      const queued = Array.from({ length: 6 }, (_, i) => forward('relu', [[-i, i, round]]));
      const [crashed, healthy, ...rest] = await Promise.all([crash, slow, ...queued]);
      expect(crashed).toEqual({ status: 500, body: WORKER_FAILED });
      expect(healthy.status).toBe(200);
      expect(healthy.body.outputs[0][2]).toBe(0.5);
      rest.forEach((r, i) => expect(r, `round ${round}, queued ${i}`).toEqual({ status: 200, body: expect.objectContaining({ outputs: [[0, i, round]] }) }));
      await refilled();
    }
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ok' });
    await longRunIsExact();
  });

  it('a thread terminated from outside in the middle of a task fails only the task on it', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS, QUEUE_LIMIT: 64 }, { workerFile: faultyWorker });
    let failed = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await refilled();
      // Both threads busy with a slow task each, and more waiting behind them.
      const slow = [forward('tanh', [[SLEEP, 400, 0]]), forward('tanh', [[SLEEP, 400, 0]])];
      const queued = Array.from({ length: 6 }, (_, i) => forward('relu', [[i, -i, round]]));
      // Kill one of the busy threads once both tasks have started.
      const deadline = Date.now() + 5_000;
      while (app.compute.running() < WORKERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      const victim = app.compute.pool.threads[round % WORKERS];
      await victim.terminate();
      const results = await Promise.all(slow);
      const rest = await Promise.all(queued);
      // Exactly the task on the terminated thread failed, with a 500 problem.
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, `round ${round}`).toEqual([200, 500]);
      for (const r of results) {
        if (r.status === 500) expect(r.body).toEqual(WORKER_FAILED);
        else expect(r.body.outputs).toEqual([[1, 1, 0]]);
      }
      failed += results.filter((r) => r.status === 500).length;
      rest.forEach((r, i) => expect(r, `round ${round}, queued ${i}`).toEqual({ status: 200, body: expect.objectContaining({ outputs: [[i, 0, round]] }) }));
    }
    expect(failed).toBe(ROUNDS);
    await refilled();
    expect(app.compute.pool.threads.length).toBe(WORKERS);
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ok' });
    await longRunIsExact();
  });
});
