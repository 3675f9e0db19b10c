/**
 * The compute engine: small batches run inline on the main thread, larger
 * ones in the Piscina pool (one pool per app). Large request bodies skip the
 * main thread altogether: `json()` hands their raw bytes to a worker, which
 * parses, validates, computes and serializes (workers/compute-json.ts), and
 * answers bytes. Pool failures become problems: a full queue 503 at once, a
 * task past its time 504, a crashed worker 500 for that request only (Piscina
 * replaces the thread). A task whose client closes the connection while it
 * waits for a worker is dropped before it starts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fp from 'fastify-plugin';
import { errorCodes, type FastifyInstance, type FastifyReply } from 'fastify';
import { Piscina } from 'piscina';
import type { Config } from '../config.js';
import type { ActivationDefinition } from '../core/activation.js';
import {
  outputCols,
  runBackward,
  runForward,
  type BackwardResult,
  type BackwardTask,
  type Floats,
  type ForwardResult,
  type ForwardTask,
} from '../core/batch.js';
import { ClientClosedError, ProblemError } from '../errors.js';
import type { JsonFailure, JsonOutcome, JsonTask, Operation } from '../workers/compute-json.js';
import type { KernelWorkerData } from '../workers/kernels.worker.js';
import { retireShared, TensorPool, transferable, type TaskMemory } from '../tensor-pool.js';

/** Where a batch runs: on the main thread, or in the worker pool. */
export type Placement = 'inline' | 'pool';

/** One finished computation, as observers (metrics) see it. */
export interface Computation {
  activation: string;
  operation: 'forward' | 'backward';
  placement: Placement;
  /** Numbers in `inputs` (rows × cols). */
  elements: number;
}

/**
 * A request body left unparsed, for the worker: what the compute routes'
 * content-type parser gives for bodies of at least RAW_BODY_MIN_BYTES. Once the
 * worker has seen it, it knows the batch shape (for the request log and metrics).
 */
export class RawJsonBody {
  /** [rows, cols] of `inputs`, once the worker has parsed the body. */
  shape?: [number, number];
  #bytes: Buffer | undefined;
  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }
  get byteLength(): number {
    return this.#bytes?.byteLength ?? 0;
  }
  /** The bytes as an ArrayBuffer of their own, to transfer; once only. */
  take(): ArrayBuffer {
    const bytes = this.#bytes;
    if (!bytes) throw new Error('the raw body was already handed over');
    this.#bytes = undefined;
    // Fastify concatenates a body into a fresh Buffer, alone on its ArrayBuffer above 4 KiB; a pooled one is copied.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : Uint8Array.prototype.slice.call(bytes);
    return own.buffer as ArrayBuffer;
  }
}

/** A worker's failure as the error the inline path would have thrown, for the one error handler. */
function failureToError(failure: JsonFailure): Error {
  switch (failure.kind) {
    case 'fastify':
      return new errorCodes[failure.code]();
    case 'validation':
      // The shape Fastify gives a failed schema validation (error.validation, error.validationContext).
      return Object.assign(new Error('body validation failed'), {
        statusCode: 400,
        validation: failure.issues,
        validationTotal: failure.total,
        validationContext: 'body',
      });
    case 'problem':
      return new ProblemError(failure.code, failure.detail, failure.errors ? { errors: failure.errors } : {});
  }
}

/**
 * The reply a computation is for. A pooled task whose client closes the
 * connection while the task waits for a worker is dropped: it rejects with
 * ClientClosedError and never runs.
 */
export type ForReply = Pick<FastifyReply, 'raw' | 'log'>;

export interface ComputeEngine {
  /** Packed float32 inputs (a Float32Array) get packed results, widened and narrowed where the batch runs. */
  forward<A extends Floats>(def: ActivationDefinition, task: ForwardTask<A>, reply?: ForReply): Promise<ForwardResult<A>>;
  backward<A extends Floats>(def: ActivationDefinition, task: BackwardTask<A>, reply?: ForReply): Promise<BackwardResult<A>>;
  /**
   * A whole request from its raw JSON body to the response JSON bytes, in a
   * worker. Failures reject with the error the inline path would have thrown.
   */
  json(def: ActivationDefinition, operation: Operation, body: RawJsonBody, reply?: ForReply): Promise<Buffer>;
  readonly pool: Piscina;
  /** Reused shared memory for large tensors (TENSOR_POOL_BYTES); undefined when it is 0. */
  readonly tensorPool: TensorPool | undefined;
  /** True while the pool is up and can take another task. */
  isReady(): boolean;
  /** Pooled tasks waiting for a worker. */
  queueDepth(): number;
  /** Throws the 503 problem (Retry-After) when every worker and queue slot is taken. */
  refuseWhenFull(): void;
  /** Pooled tasks on a worker now. */
  running(): number;
  /** Pooled tasks dropped before they started because their client had gone, since the pool started. */
  dropped(): number;
  /** Where a batch of this many numbers runs (the one rule, also used by the request log). */
  placement(elements: number): Placement;
  /** Calls `listener` after every successful computation. */
  onComputed(listener: (computation: Computation) => void): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    compute: ComputeEngine;
  }
}

export interface ComputeOptions {
  config: Config;
  /** The worker module; tests swap in one that misbehaves on purpose. */
  workerFile?: URL;
}

const defaultWorkerFile = (): URL => {
  // Under tsx and vitest this module is .ts; in dist/ it is .js.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`../workers/kernels.worker.${ext}`, import.meta.url);
};

export function createPool(config: Config, workerFile: URL = defaultWorkerFile()): Piscina {
  const isTs = workerFile.pathname.endsWith('.ts');
  return new Piscina({
    // A .ts worker cannot load by itself in a worker thread; the shim loads it through tsx.
    filename: isTs ? new URL('../workers/tsx-shim.mjs', import.meta.url).href : workerFile.href,
    workerData: { nice: config.WORKER_NICE, ...(isTs ? { tsWorker: workerFile.href } : {}) } satisfies KernelWorkerData,
    minThreads: config.WORKERS,
    maxThreads: config.WORKERS,
    // Admission is ours (see `admit` below): Piscina does not count tasks that carry an
    // AbortSignal against maxQueue, and every task here carries its timeout signal.
  });
}

function queueFull(config: Config): ProblemError {
  return new ProblemError(
    'ACT_ERR_QUEUE_FULL',
    `All ${config.WORKERS} workers are busy and ${config.QUEUE_LIMIT} tasks are waiting (QUEUE_LIMIT); retry shortly.`,
    { headers: { 'retry-after': '1' } },
  );
}

function timedOut(config: Config): ProblemError {
  return new ProblemError('ACT_ERR_TIMEOUT', `The computation ran past its time limit of ${config.TASK_TIMEOUT_MS} ms.`);
}

function toProblem(error: unknown, config: Config): ProblemError {
  const err = error as Error;
  if (err?.name === 'AbortError') return timedOut(config);
  return new ProblemError('ACT_ERR_WORKER_FAILED', 'The computation failed in a worker; the worker has been replaced. Retrying is safe.');
}

async function computePlugin(app: FastifyInstance, options: ComputeOptions): Promise<void> {
  const { config } = options;
  const pool = createPool(config, options.workerFile);
  // A worker that dies is replaced by Piscina; without a listener its 'error' would crash the process.
  pool.on('error', (error: unknown) => app.log.error({ err: error }, 'worker thread error'));

  // Tasks wait for a worker here, not in Piscina's queue, so that a task whose client has gone can be
  // dropped before it starts. Piscina could abort a task in its queue, but aborting one that has started
  // terminates its worker, and Piscina does not tell which of the two a task is. Piscina hands a worker its
  // next task from the main thread as well, so queueing here costs no idle time.
  const waiting: (() => void)[] = [];
  /** Tasks handed to Piscina and not yet settled: at most WORKERS. */
  let started = 0;
  let dropped = 0;
  /** Tasks accepted and not yet settled: on a worker, or waiting for one. */
  const inFlight = (): number => started + waiting.length;
  const capacity = config.WORKERS + config.QUEUE_LIMIT;
  const refuseWhenFull = (): void => {
    if (inFlight() >= capacity) throw queueFull(config);
  };

  /** Resolves when a worker is free for this task; rejects when its time runs out or its client goes first. */
  const workerSlot = (deadline: AbortSignal, reply: ForReply | undefined): Promise<void> => {
    if (started < config.WORKERS) {
      started++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const res = reply?.raw;
      const settle = () => {
        deadline.removeEventListener('abort', onTimeout);
        res?.off('close', onClose);
      };
      const start = () => {
        settle();
        started++;
        resolve();
      };
      const leave = (error: Error) => {
        waiting.splice(waiting.indexOf(start), 1);
        settle();
        reject(error);
      };
      const onTimeout = () => leave(timedOut(config));
      // 'close' before 'finish': the connection closed with no answer sent.
      const onClose = () => {
        if (!res!.writableFinished) leave(new ClientClosedError('the client closed the connection'));
      };
      if (res?.destroyed) return reject(new ClientClosedError('the client closed the connection'));
      deadline.addEventListener('abort', onTimeout, { once: true });
      res?.once('close', onClose);
      waiting.push(start);
    });
  };
  const releaseSlot = (): void => {
    started--;
    waiting.shift()?.();
  };

  const runInPool = async <T>(
    name: 'forward' | 'backward' | 'json',
    task: { activation: string; operation?: Operation },
    arrays: readonly TaskMemory[],
    reply?: ForReply,
  ): Promise<T> => {
    // Refused before anything is transferred or started: a 503 leaves nothing half done.
    refuseWhenFull();
    // The time limit runs from submission, so time spent waiting for a worker counts.
    const deadline = AbortSignal.timeout(config.TASK_TIMEOUT_MS);
    try {
      await workerSlot(deadline, reply);
      try {
        return (await pool.run(task, { name, transferList: transferable(arrays), signal: deadline })) as T;
      } catch (error) {
        // The worker is stopped but may still write shared memory for a moment: it is never reused.
        retireShared(arrays);
        throw error;
      } finally {
        releaseSlot();
      }
    } catch (error) {
      if (error instanceof ClientClosedError) {
        dropped++;
        const operation = task.operation ?? name;
        reply?.log.info({ activation: task.activation, operation }, 'client closed the connection; its task was dropped before it started');
        throw error;
      }
      if (error instanceof ProblemError) throw error;
      const problem = toProblem(error, config);
      if (problem.code === 'ACT_ERR_WORKER_FAILED') app.log.error({ err: error }, 'worker task failed');
      throw problem;
    }
  };

  const placement = (elements: number): Placement => (elements <= config.INLINE_MAX_ELEMENTS ? 'inline' : 'pool');

  const listeners: ((computation: Computation) => void)[] = [];
  const computed = (def: ActivationDefinition, operation: Computation['operation'], where: Placement, elements: number) => {
    for (const listener of listeners) listener({ activation: def.name, operation, placement: where, elements });
  };

  const engine: ComputeEngine = {
    pool,
    tensorPool: config.TENSOR_POOL_BYTES > 0 ? new TensorPool(config.TENSOR_POOL_BYTES) : undefined,
    async forward(def, task, reply) {
      // Read before the pool detaches the buffer. Placed by the larger of inputs and outputs (maxout's answer can be
      // the larger); counted by inputs, as the worker's JSON path counts.
      const elements = task.x.length;
      const where = placement(Math.max(elements, task.rows * outputCols(def, task.cols, task.params)));
      const result =
        where === 'inline'
          ? runForward(def, task)
          : await runInPool<ForwardResult<typeof task.x>>('forward', { ...task, activation: def.name }, [task.x, task.out], reply);
      computed(def, 'forward', where, elements);
      return result;
    },
    async backward(def, task, reply) {
      const elements = task.x.length;
      const where = placement(Math.max(elements, task.dy.length));
      const result =
        where === 'inline'
          ? runBackward(def, task)
          : await runInPool<BackwardResult<typeof task.x>>(
              'backward',
              { ...task, activation: def.name },
              [task.x, task.dy, task.dx],
              reply,
            );
      computed(def, 'backward', where, elements);
      return result;
    },
    async json(def, operation, body, reply) {
      // Admission before the bytes move: a 503 leaves the body where it was.
      refuseWhenFull();
      const bytes = body.take();
      const task: JsonTask = { activation: def.name, operation, body: bytes, maxElements: config.MAX_ELEMENTS };
      const outcome = await runInPool<JsonOutcome>('json', task, [bytes], reply);
      body.shape = outcome.shape;
      if (!outcome.ok) throw failureToError(outcome.failure);
      computed(def, operation, 'pool', outcome.elements);
      return Buffer.from(outcome.json.buffer, outcome.json.byteOffset, outcome.json.byteLength);
    },
    placement,
    onComputed(listener) {
      listeners.push(listener);
    },
    running() {
      return started;
    },
    dropped() {
      return dropped;
    },
    isReady() {
      return pool.threads.length > 0 && inFlight() < capacity;
    },
    queueDepth() {
      return waiting.length;
    },
    refuseWhenFull,
  };

  app.decorate('compute', engine);
  app.addHook('onClose', async () => {
    // Tasks already accepted finish first, those of clients that have gone away too. Piscina's own close()
    // waits for the running tasks but not reliably for the queued ones (it counts a worker done the first
    // time it is idle) and then fails the rest; every task has its time limit, so this wait ends.
    while (inFlight() > 0) await sleep(10);
    await pool.close();
    engine.tensorPool?.close();
  });
}

export default fp(computePlugin, { name: 'compute' });
