/**
 * Failures of the compute engine come out in the protocol's error format:
 * a full queue is 503 `{"error"}` with Retry-After, a task past its time 504,
 * a crashed worker 500 that says nothing internal; the pool keeps serving.
 * The faulty worker sleeps when the first input is 8888 and exits on 7777.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { CRASH, SLEEP } from '../workers/faulty.worker.js';
import { build } from '../helpers/app.js';
import { binaryBody, readAnswer } from './oip.js';

const faultyWorker = new URL('../workers/faulty.worker.ts', import.meta.url);

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function request(values: number[]) {
  const body = binaryBody([{ name: 'input', shape: [1, values.length], datatype: 'FP64', values }], { parameters: { binary_data_output: true } });
  return app!.inject({ method: 'POST', url: '/v2/models/relu/infer', headers: body.headers, payload: body.payload });
}

describe('compute failures as {"error"}', () => {
  it('a full queue: 503 with Retry-After at once; then served again', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1, QUEUE_LIMIT: 1 }, { workerFile: faultyWorker });
    const responses = await Promise.all(Array.from({ length: 4 }, () => request([SLEEP, 300])));
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 200, 503, 503]);
    for (const r of responses.filter((r) => r.statusCode === 503)) {
      expect(r.headers['retry-after']).toBe('1');
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(r.json()).toEqual({ error: 'All 1 workers are busy and 1 tasks are waiting (QUEUE_LIMIT); retry shortly.' });
    }
    const after = readAnswer(await request([-1, 2]));
    expect(after.outputs.output.values).toEqual([0, 2]);
  });

  it('a task past TASK_TIMEOUT_MS: 504', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, TASK_TIMEOUT_MS: 2000 }, { workerFile: faultyWorker });
    const slow = await request([SLEEP, 20_000]);
    expect(slow.statusCode).toBe(504);
    expect(slow.json()).toEqual({ error: 'The computation ran past its time limit of 2000 ms.' });
    expect(readAnswer(await request([-3, 3])).outputs.output.values).toEqual([0, 3]);
  });

  it('a worker that exits: 500 for that request only, nothing internal', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1 }, { workerFile: faultyWorker });
    const crashed = await request([CRASH, 0]);
    expect(crashed.statusCode).toBe(500);
    expect(crashed.json()).toEqual({ error: 'The computation failed in a worker; the worker has been replaced. Retrying is safe.' });
    expect(readAnswer(await request([-1, 1])).outputs.output.values).toEqual([0, 1]);
  });
});
