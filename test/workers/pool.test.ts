/**
 * The worker pool: transfer instead of clone, a full queue (503 at once), a
 * task past its time (504), a worker that really exits (500 for that request
 * only), and the pool closing with the app.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { testConfig } from '../../src/config.js';
import { createPool } from '../../src/plugins/compute.js';
import { build, postJson } from '../helpers/app.js';
import { CRASH, SLEEP } from './faulty.worker.js';

const faultyWorker = new URL('./faulty.worker.ts', import.meta.url);
const sigmoidOf = (v: number) => 1 / (1 + Math.exp(-v));

describe('typed arrays cross the thread boundary by transfer', () => {
  it('detaches the input buffers on the way in and hands back a transferred result', async () => {
    const pool = createPool(testConfig({ WORKERS: 1 }));
    try {
      const x = new Float64Array([-1, 0, 2]);
      const dy = new Float64Array([1, 1, 1]);
      const pending = pool.run(
        { activation: 'sigmoid', x, dy, rows: 1, cols: 3, params: {}, dtype: 'float64' },
        { name: 'backward', transferList: [x.buffer, dy.buffer] },
      );
      // Transferred, not cloned: the main thread's buffers are now detached.
      expect(x.buffer.byteLength).toBe(0);
      expect(dy.buffer.byteLength).toBe(0);
      const result = (await pending) as { dx: Float64Array };
      expect(result.dx).toBeInstanceOf(Float64Array);
      expect(result.dx[1]).toBe(0.25);
      expect(result.dx[0]).toBeCloseTo(sigmoidOf(-1) * sigmoidOf(1), 15);
    } finally {
      await pool.close();
    }
  });

  it('the app sends pooled batches by transfer too', async () => {
    const app = await build({ INLINE_MAX_ELEMENTS: 0 });
    try {
      const seen: number[] = [];
      const original = app.compute.pool.run.bind(app.compute.pool);
      app.compute.pool.run = ((task: { x: Float64Array }, options: object) => {
        const promise = original(task, options);
        seen.push(task.x.buffer.byteLength);
        return promise;
      }) as typeof app.compute.pool.run;
      const res = await postJson(app, '/v1/activations/relu/forward', { inputs: [[-1, 2]] });
      expect(res.body.outputs).toEqual([[0, 2]]);
      expect(seen).toEqual([0]);
    } finally {
      await app.close();
    }
  });
});

describe('worker priority', () => {
  /** Niceness of each thread of this process, from /proc (field 19 of stat, after the parenthesised name). */
  const niceness = () =>
    readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]));

  const ownNiceness = () => Number(readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')[16]);
  // Where this process already runs at niceness 13 or more, 7 more would hit the ceiling of 19.
  const canRenice = process.platform === 'linux' && ownNiceness() <= 12;

  it.runIf(canRenice)('workers run WORKER_NICE nicer than the main thread; the main thread keeps its own', async () => {
    const main = ownNiceness();
    const nicer = main + 7;
    expect(niceness().filter((n) => n === nicer)).toEqual([]);
    const pool = createPool(testConfig({ WORKERS: 2, WORKER_NICE: 7 }));
    try {
      // A task each makes sure both threads have loaded the worker module.
      await Promise.all([0, 1].map(() => pool.run({ activation: 'relu', x: new Float64Array([1]), rows: 1, cols: 1, params: {}, dtype: 'float64' }, { name: 'forward' })));
      await vi.waitFor(() => expect(niceness().filter((n) => n === nicer)).toHaveLength(2), { timeout: 10_000 });
      expect(ownNiceness()).toBe(main);
    } finally {
      await pool.close();
    }
  });
});

describe('pool failures become problems', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('a full queue answers 503 with Retry-After at once, and nothing else fails', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1, QUEUE_LIMIT: 1 }, { workerFile: faultyWorker });
    const slow = { inputs: [[SLEEP, 400]] };
    const completionOrder: number[] = [];
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        app!.inject({ method: 'POST', url: '/v1/activations/relu/forward', payload: slow }).then((r) => {
          completionOrder.push(r.statusCode);
          return r;
        }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    // "At once": every refusal arrives before the running task has finished its sleep.
    expect(completionOrder).toEqual([503, 503, 503, 200, 200]);
    // One runs, one waits in the queue, the rest are turned away.
    expect(statuses).toEqual([200, 200, 503, 503, 503]);
    for (const r of responses.filter((r) => r.statusCode === 503)) {
      expect(r.headers['retry-after']).toBe('1');
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.json()).toMatchObject({ status: 503, code: 'ACT_ERR_QUEUE_FULL', title: 'Server busy' });
    }
    for (const r of responses.filter((r) => r.statusCode === 200)) expect(r.json().outputs).toEqual([[SLEEP, 400]]);
    // The queue drained: ready again, and a new request is served.
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    const after = await postJson(app, '/v1/activations/relu/forward', { inputs: [[-1, 1]] });
    expect(after.body.outputs).toEqual([[0, 1]]);
  });

  it('with the pool full, a body bound for a worker gets its 503 from the headers, before its bytes arrive', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1, QUEUE_LIMIT: 0, RAW_BODY_MIN_BYTES: 1024 }, { workerFile: faultyWorker });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const running = app.inject({ method: 'POST', url: '/v1/activations/relu/forward', payload: { inputs: [[SLEEP, 1500]] } });
    await new Promise((r) => setTimeout(r, 200));
    // Announce 100 000 bytes and send none of them: only a refusal from the headers can answer.
    const socket = connect(port, '127.0.0.1');
    socket.write('POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n');
    let text = '';
    socket.setEncoding('utf8');
    const head = await new Promise<string>((resolve, reject) => {
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer before the body; got ${JSON.stringify(text)}`)), 1000);
    });
    socket.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head.toLowerCase()).toContain('retry-after: 1');
    expect((await running).json().outputs).toEqual([[SLEEP, 1500]]);
  });

  it('a task past TASK_TIMEOUT_MS answers 504, and the pool keeps serving', async () => {
    // Generous enough for a replacement worker to start within the limit on a slow machine.
    app = await build({ INLINE_MAX_ELEMENTS: 0, TASK_TIMEOUT_MS: 2000 }, { workerFile: faultyWorker });
    const slow = await postJson(app, '/v1/activations/relu/forward', { inputs: [[SLEEP, 20_000]] });
    expect(slow.status).toBe(504);
    expect(slow.body).toEqual({
      type: 'https://activation-service.dev/problems/timeout',
      title: 'Computation timed out',
      status: 504,
      detail: 'The computation ran past its time limit of 2000 ms.',
      code: 'ACT_ERR_TIMEOUT',
    });
    const next = await postJson(app, '/v1/activations/relu/forward', { inputs: [[-3, 3]] });
    expect(next.status).toBe(200);
    expect(next.body.outputs).toEqual([[0, 3]]);
  });

  it('a worker that exits fails only its own request with a 500 problem; the next succeeds', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 2 }, { workerFile: faultyWorker });
    const [crashed, healthy] = await Promise.all([
      postJson(app, '/v1/activations/sigmoid/forward', { inputs: [[CRASH, 0]] }),
      postJson(app, '/v1/activations/sigmoid/forward', { inputs: [[SLEEP, 100, 0]] }),
    ]);
    expect(crashed.status).toBe(500);
    expect(crashed.body).toEqual({
      type: 'https://activation-service.dev/problems/worker-failed',
      title: 'Computation failed',
      status: 500,
      detail: 'The computation failed in a worker; the worker has been replaced. Retrying is safe.',
      code: 'ACT_ERR_WORKER_FAILED',
    });
    expect(JSON.stringify(crashed.body)).not.toMatch(/exit|stack|at \w+ \(/i);
    expect(healthy.status).toBe(200);
    expect(healthy.body.outputs[0][2]).toBe(0.5);
    for (let i = 0; i < 3; i++) {
      const next = await postJson(app, '/v1/activations/sigmoid/forward', { inputs: [[0, 0]] });
      expect(next.status).toBe(200);
      expect(next.body.outputs).toEqual([[0.5, 0.5]]);
    }
  });

  it('a task waiting for a worker answers 504 at its own time limit, even while the worker stays busy', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1, TASK_TIMEOUT_MS: 300 });
    // A worker that never answers and ignores its abort: only the queue's own deadline can end the second task.
    let release!: () => void;
    const stuck = new Promise<never>((_, reject) => {
      release = () => reject(new Error('released'));
    });
    const calls: string[] = [];
    app.compute.pool.run = ((task: { activation: string }) => {
      calls.push(task.activation);
      return stuck;
    }) as unknown as typeof app.compute.pool.run;
    const first = app.inject({ method: 'POST', url: '/v1/activations/relu/forward', payload: { inputs: [[1]] } });
    const started = Date.now();
    const waiting = await postJson(app, '/v1/activations/sigmoid/forward', { inputs: [[1]] });
    expect(waiting.status).toBe(504);
    expect(waiting.body.code).toBe('ACT_ERR_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // It never reached the pool, and nothing waits any more.
    expect(calls).toEqual(['relu']);
    expect(app.compute.queueDepth()).toBe(0);
    release();
    expect((await first).statusCode).toBe(500);
  });

  const leavers = [
    { label: '/v1', url: '/v1/activations/relu/forward', leaving: [-5, 5, 7] },
    // A body big enough to go to a worker unparsed (RAW_BODY_MIN_BYTES below).
    { label: '/v1, a raw JSON body', url: '/v1/activations/relu/forward', leaving: Array.from({ length: 400 }, (_, i) => i - 200) },
    { label: '/v2', url: '/v2/models/relu/infer', leaving: [-5, 5, 7] },
  ];
  for (const { label, url, leaving: leavingInputs } of leavers) {
    it(`${label}: a task whose client closes the connection while it waits for a worker is dropped before it starts`, async () => {
      const lines: Record<string, unknown>[] = [];
      app = await build(
        { INLINE_MAX_ELEMENTS: 0, WORKERS: 1, LOG_LEVEL: 'info', RAW_BODY_MIN_BYTES: 1024 },
        { workerFile: faultyWorker, logStream: { write: (line: string) => void lines.push(JSON.parse(line)) } },
      );
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const ran: number[][] = [];
      const original = app.compute.pool.run.bind(app.compute.pool);
      app.compute.pool.run = ((task: { x: Float64Array }, options: object) => {
        ran.push([...task.x]);
        return original(task, options);
      }) as typeof app.compute.pool.run;
      const waitFor = async (what: string, condition: () => boolean) => {
        const deadline = Date.now() + 10_000;
        while (!condition()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      const body = url.startsWith('/v2')
        ? (x: number[]) => ({ inputs: [{ name: 'input', shape: [1, x.length], datatype: 'FP64', data: x }] })
        : (x: number[]) => ({ inputs: [x] });

      const busy = app.inject({ method: 'POST', url, payload: body([SLEEP, 600]) });
      await waitFor('the first task on the worker', () => app!.compute.running() === 1);
      // A real connection, so that it can really close: its request waits behind the busy worker.
      const leaving = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: url, headers: { 'content-type': 'application/json' } });
      leaving.on('error', () => {});
      leaving.end(JSON.stringify(body(leavingInputs)));
      await waitFor('the second task to queue', () => app!.compute.queueDepth() === 1);
      leaving.destroy();
      await waitFor('the task to be dropped', () => app!.compute.dropped() === 1);
      expect(app.compute.queueDepth()).toBe(0);

      // The busy request and the next one are served; the dropped task never reached a worker.
      expect((await busy).statusCode).toBe(200);
      const next = await app.inject({ method: 'POST', url, payload: body([-2, 2]) });
      expect(next.statusCode).toBe(200);
      expect(ran).toEqual([
        [SLEEP, 600],
        [-2, 2],
      ]);
      const metrics = (await app.inject('/metrics')).body;
      expect(metrics).toMatch(/^activation_pool_tasks_dropped_total 1$/m);
      const dropped = lines.filter((l) => l.msg === 'client closed the connection; its task was dropped before it started');
      expect(dropped).toHaveLength(1);
      expect(dropped[0]).toMatchObject({ level: 30, activation: 'relu', operation: 'forward' });
      expect(typeof dropped[0].reqId).toBe('string');
      // Nothing was answered or logged as an error for it.
      expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    });
  }

  it('the pool closes with the app', async () => {
    app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 2 });
    const pool = app.compute.pool;
    expect(pool.threads.length).toBe(2);
    await app.close();
    app = undefined;
    expect(pool.threads.length).toBe(0);
    await expect(pool.run({}, { name: 'forward' })).rejects.toThrow();
  });
});
