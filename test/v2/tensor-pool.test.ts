/**
 * The tensor pool (src/tensor-pool.ts): memory comes back only when a
 * request is over on both sides (answer written out, handler done), is kept
 * within its byte limit (the oldest let go first) and for 30 to 45 s
 * unused, and memory a stopped worker may still write is never handed out
 * again. Through the server: concurrent binary requests of one size, some
 * abandoned by their clients mid-computation, each get their own answer bit
 * for bit while memory is being reused.
 */
import { EventEmitter } from 'node:events';
import { request as httpRequest } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { getActivation } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';
import { MIN_POOLED_BYTES, RequestTensors, TensorPool, transferable } from '../../src/tensor-pool.js';
import { build } from '../helpers/app.js';
import { SLEEP } from '../workers/faulty.worker.js';
import { binaryBody, decodeBytes } from './oip.js';

const KB64 = MIN_POOLED_BYTES;

/** A response as RequestTensors sees it: 'close' once, `destroyed` after. */
function fakeResponse(): ServerResponse & { close(): void } {
  const emitter = new EventEmitter() as EventEmitter & { destroyed: boolean; close(): void };
  emitter.destroyed = false;
  emitter.close = () => {
    emitter.destroyed = true;
    emitter.emit('close');
  };
  return emitter as unknown as ServerResponse & { close(): void };
}

describe('TensorPool', () => {
  it('hands a released buffer to the next lease of its size, and only of its size', () => {
    const pool = new TensorPool(1 << 20);
    const a = pool.lease(KB64);
    pool.release(a);
    expect(pool.freeBytes).toBe(KB64);
    expect(pool.lease(2 * KB64)).not.toBe(a);
    expect(pool.lease(KB64)).toBe(a);
    expect(pool.freeBytes).toBe(0);
    expect(pool.lease(KB64)).not.toBe(a);
    pool.close();
  });

  it('keeps at most its limit, letting the oldest go first; a buffer over the limit is never kept', () => {
    const pool = new TensorPool(3 * KB64);
    const [a, b, c, d] = [KB64, KB64, 2 * KB64, KB64].map((n) => pool.lease(n));
    pool.release(a);
    pool.release(b);
    pool.release(c); // 4 × 64 KiB: a goes
    expect(pool.freeBytes).toBe(3 * KB64);
    pool.release(d); // b goes
    expect(pool.freeBytes).toBe(3 * KB64);
    expect(pool.lease(KB64)).toBe(d);
    expect(pool.lease(2 * KB64)).toBe(c);
    expect(pool.freeBytes).toBe(0);
    const big = pool.lease(4 * KB64);
    pool.release(big);
    expect(pool.freeBytes).toBe(0);
    pool.close();
  });

  it('lets buffers go at the first sweep (every 15 s) after 30 s unused', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    try {
      const pool = new TensorPool(1 << 20);
      const a = pool.lease(KB64);
      pool.release(a);
      vi.advanceTimersByTime(20_000);
      const b = pool.lease(2 * KB64);
      pool.release(b);
      expect(pool.freeBytes).toBe(3 * KB64);
      vi.advanceTimersByTime(10_000); // the sweep at 30 s: a idle 30 s, b 10 s
      expect(pool.freeBytes).toBe(3 * KB64);
      vi.advanceTimersByTime(15_000); // the sweep at 45 s: a idle 45 s, b 25 s
      expect(pool.freeBytes).toBe(2 * KB64);
      vi.advanceTimersByTime(15_000); // at 60 s: b idle 40 s
      expect(pool.freeBytes).toBe(0);
      // A buffer released again is kept again.
      pool.release(b);
      expect(pool.freeBytes).toBe(2 * KB64);
      pool.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps nothing released after it is closed (tasks still running when the app closes end later)', () => {
    const pool = new TensorPool(1 << 20);
    const a = pool.lease(KB64);
    pool.close();
    pool.release(a);
    expect(pool.freeBytes).toBe(0);
    expect(pool.lease(KB64)).not.toBe(a);
  });

  it('keeps nothing with a limit of 0', () => {
    const pool = new TensorPool(0);
    pool.release(pool.lease(KB64));
    expect(pool.freeBytes).toBe(0);
  });
});

describe('transferable', () => {
  it('lists the ArrayBuffers of arrays and buffers to move to or from a worker, never shared memory', () => {
    const own = new Float64Array(2);
    const shared = new Float64Array(new SharedArrayBuffer(16));
    const bytes = new ArrayBuffer(8);
    const moved = transferable([own, shared, undefined, bytes]);
    expect(moved).toHaveLength(2);
    expect(moved[0]).toBe(own.buffer);
    expect(moved[1]).toBe(bytes);
  });
});

describe('RequestTensors', () => {
  it('returns its memory only once the answer is closed and the handler done, in either order', () => {
    for (const order of [['close', 'handler'], ['handler', 'close']]) {
      const pool = new TensorPool(1 << 20);
      const response = fakeResponse();
      const tensors = new RequestTensors(pool, response);
      const x = tensors.arrayLike(new Float64Array(0), KB64 / 8);
      const out = tensors.arrayLike(new Float32Array(0), KB64 / 4);
      expect(x.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
      for (const step of order) {
        expect(pool.freeBytes).toBe(0);
        if (step === 'close') response.close();
        else tensors.handlerDone();
      }
      expect(pool.freeBytes).toBe(2 * KB64);
      expect(pool.lease(KB64)).toBe(out.buffer);
      pool.close();
    }
  });

  it('gives small tensors, and tensors of a closed response, plain memory that never enters the pool', () => {
    const pool = new TensorPool(1 << 20);
    const response = fakeResponse();
    const tensors = new RequestTensors(pool, response);
    const small = tensors.arrayLike(new Float64Array(0), KB64 / 8 - 1);
    expect(small.buffer).toBeInstanceOf(ArrayBuffer);
    expect(small.every((v) => v === 0)).toBe(true);
    response.close();
    expect(tensors.arrayLike(new Float64Array(0), KB64).buffer).toBeInstanceOf(ArrayBuffer);
    tensors.handlerDone();
    expect(pool.freeBytes).toBe(0);
    pool.close();
  });
});

/** Posts a binary FP64 request to a listening app; `abandon` closes the connection once the body is sent. */
function postBinary(port: number, model: string, rows: number, cols: number, values: Float64Array, abandon = false): Promise<Buffer | undefined> {
  const body = binaryBody([{ name: 'input', shape: [rows, cols], datatype: 'FP64', values }], { parameters: { binary_data_output: true } });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path: `/v2/models/${model}/infer`, headers: { ...body.headers, 'content-length': body.payload.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          if (res.statusCode !== 200) return reject(new Error(`${res.statusCode}: ${raw.toString().slice(0, 200)}`));
          const headerLength = Number(res.headers['inference-header-content-length']);
          resolve(raw.subarray(headerLength));
        });
      },
    );
    req.on('error', (error) => (abandon ? resolve(undefined) : reject(error)));
    req.end(body.payload, () => {
      if (abandon) setTimeout(() => req.destroy(), 5);
    });
  });
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await app?.close();
  app = undefined;
});

async function listen(overrides: Parameters<typeof build>[0], options: Parameters<typeof build>[1] = {}): Promise<number> {
  app = await build(overrides, options);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

/** Every buffer the pool hands out, in order. */
function recordLeases(): SharedArrayBuffer[] {
  const leased: SharedArrayBuffer[] = [];
  const lease = TensorPool.prototype.lease;
  vi.spyOn(TensorPool.prototype, 'lease').mockImplementation(function (this: TensorPool, n: number) {
    const buffer = lease.call(this, n);
    leased.push(buffer);
    return buffer;
  });
  return leased;
}

describe('reused tensor memory through the server', () => {
  it('concurrent requests of one size, some abandoned mid-computation, each get their own answer', async () => {
    const port = await listen({ WORKERS: 2, INLINE_MAX_ELEMENTS: 4096 });
    const leased = recordLeases();
    const sigmoid = getActivation('sigmoid')!;
    const rows = 16;
    const cols = 1024; // 128 KiB of FP64: pooled, and computed in a worker
    let seed = 1;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 30;
    for (let round = 0; round < 6; round++) {
      const batches = Array.from({ length: 6 }, () => Float64Array.from({ length: rows * cols }, next));
      const answers = await Promise.all(batches.map((x, i) => postBinary(port, 'sigmoid', rows, cols, x, i % 3 === 2)));
      answers.forEach((bytes, i) => {
        if (i % 3 === 2) return;
        const want = runForward(sigmoid, { x: batches[i].slice(), rows, cols, params: {}, dtype: 'float64' }).out;
        const got = decodeBytes('FP64', bytes!);
        expect(got.length).toBe(want.length);
        for (let k = 0; k < want.length; k++) if (!Object.is(got[k], want[k])) expect({ round, request: i, k, got: got[k] }).toEqual({ round, request: i, k, got: want[k] });
      });
    }
    // Memory was reused: far fewer distinct buffers than leases.
    expect(leased.length).toBe(6 * 6 * 2);
    expect(new Set(leased).size).toBeLessThan(leased.length / 2);
  });

  it('with TENSOR_POOL_BYTES=0 every tensor is allocated afresh, and answers are the same', async () => {
    const port = await listen({ WORKERS: 1, INLINE_MAX_ELEMENTS: 0, TENSOR_POOL_BYTES: 0 });
    const leased = recordLeases();
    expect(app!.compute.tensorPool).toBeUndefined();
    const n = KB64 / 8;
    const x = Float64Array.from({ length: n }, (_, i) => (i % 7) - 3.5);
    for (let i = 0; i < 2; i++) expect(decodeBytes('FP64', (await postBinary(port, 'relu', 1, n, x))!)).toEqual(Array.from(x, (v) => Math.max(v, 0)));
    expect(leased).toEqual([]);
    const metrics = await app!.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^activation_tensor_pool_free_bytes 0$/m);
  });

  it('memory of a task that timed out on its worker is never handed out again', async () => {
    // The time limit leaves room for the replacement worker to start (under tsx, about a second).
    const port = await listen({ WORKERS: 1, INLINE_MAX_ELEMENTS: 0, TASK_TIMEOUT_MS: 2000 }, { workerFile: new URL('../workers/faulty.worker.ts', import.meta.url) });
    const leased = recordLeases();
    const n = KB64 / 8;
    const slow = new Float64Array(n);
    slow[0] = SLEEP;
    slow[1] = 20_000;
    await expect(postBinary(port, 'relu', 1, n, slow)).rejects.toThrow(/^504/);
    const timedOut = new Set(leased.splice(0));
    expect(timedOut.size).toBe(2);
    const ok = Float64Array.from({ length: n }, (_, i) => i - n / 2);
    for (let i = 0; i < 3; i++) {
      const bytes = await postBinary(port, 'relu', 1, n, ok);
      expect(decodeBytes('FP64', bytes!)).toEqual(Array.from(ok, (v) => Math.max(v, 0)));
    }
    for (const buffer of leased) expect(timedOut.has(buffer)).toBe(false);
    // ... while the memory of requests that went well is reused, and /metrics reports it kept.
    expect(new Set(leased).size).toBe(2);
    const metrics = await app!.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(new RegExp(`^activation_tensor_pool_free_bytes ${2 * KB64}$`, 'm'));
  });
});
