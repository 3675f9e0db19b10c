/**
 * Reused memory for /v2's large binary tensors.
 *
 * Without it a 1024×1024 FP64 request allocated a fresh 8 MB array for its
 * input on the main thread and one for its output in a worker: each zeroed and
 * faulted in page by page (about 1 ms, against 0.3 ms to copy into memory
 * already mapped), and each counted by V8 as external memory, which made it
 * collect the event loop's heap every few requests (docs/BENCHMARKS.md). A
 * SharedArrayBuffer is not detached when a worker uses it, so a request's
 * input and output tensors can come from here and go back once the request is
 * over, for the next request of the same size.
 *
 * A buffer goes back only when the answer has been written out (or the
 * connection has closed) and the handler is done with it, so no task of the
 * request can still be running on it. One that a worker may still write (its
 * task timed out or its worker failed: the worker is stopped, but not at once)
 * is never handed out again (the compute engine marks it). The compute
 * engine owns the pool (app.compute.tensorPool); /v2's routes lease from it
 * and /metrics reports what it keeps. Tensors under MIN_POOLED_BYTES are
 * ordinary arrays: cheap to allocate, and computed inline anyway.
 */
import type { ServerResponse } from 'node:http';

export const MIN_POOLED_BYTES = 64 * 1024;

/**
 * Shared memory whose task failed on a worker (timed out, or the worker died):
 * the worker is stopped but may still write it for a moment, so it is never
 * handed out again.
 */
const unsafeToReuse = new WeakSet<SharedArrayBuffer>();

/** What a task carries to or from a worker: typed arrays, and raw bytes as an ArrayBuffer. */
export type TaskMemory = ArrayBufferView | ArrayBuffer | undefined;

const memoryOf = (item: TaskMemory): ArrayBufferLike | undefined => (item instanceof ArrayBuffer ? item : item?.buffer);

/** The memory of a task's items to transfer: ArrayBuffers; SharedArrayBuffers are shared as they are. */
export function transferable(items: readonly TaskMemory[]): ArrayBuffer[] {
  return items.map(memoryOf).filter((memory): memory is ArrayBuffer => memory instanceof ArrayBuffer);
}

/** Marks the shared memory of a task that failed on a worker (plugins/compute.ts). */
export function retireShared(items: readonly TaskMemory[]): void {
  for (const memory of items.map(memoryOf)) if (memory instanceof SharedArrayBuffer) unsafeToReuse.add(memory);
}

/** Free buffers unused this long are let go at the next sweep (every IDLE_MS / 2), so memory taken in a burst goes back after it. */
const IDLE_MS = 30_000;

interface FreeBuffer {
  readonly buffer: SharedArrayBuffer;
  readonly since: number;
}

export class TensorPool {
  readonly #maxFreeBytes: number;
  /** By byte length; each list oldest first, taken from its end. */
  readonly #free = new Map<number, FreeBuffer[]>();
  #freeBytes = 0;
  #sweeper: NodeJS.Timeout | undefined;
  /** After close(), released buffers are let go: tasks still running when the app closes end later. */
  #closed = false;

  /** `maxFreeBytes`: most memory kept while not in use (TENSOR_POOL_BYTES; 0: nothing is kept). */
  constructor(maxFreeBytes: number) {
    this.#maxFreeBytes = maxFreeBytes;
  }

  /** Bytes kept for reuse now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of exactly `byteLength` bytes, reused when one is free (its old contents still in it). */
  lease(byteLength: number): SharedArrayBuffer {
    const list = this.#free.get(byteLength);
    const entry = list?.pop();
    if (!entry) return new SharedArrayBuffer(byteLength);
    if (list!.length === 0) this.#free.delete(byteLength);
    this.#freeBytes -= byteLength;
    return entry.buffer;
  }

  release(buffer: SharedArrayBuffer): void {
    const size = buffer.byteLength;
    if (this.#closed || unsafeToReuse.has(buffer) || size > this.#maxFreeBytes) return;
    while (this.#freeBytes + size > this.#maxFreeBytes) this.#dropOldest();
    const list = this.#free.get(size);
    if (list) list.push({ buffer, since: performance.now() });
    else this.#free.set(size, [{ buffer, since: performance.now() }]);
    this.#freeBytes += size;
    this.#sweeper ??= setInterval(() => this.#sweep(), IDLE_MS / 2).unref();
  }

  /** Lets every free buffer go, and every buffer released from now on; stops the timer. */
  close(): void {
    this.#closed = true;
    this.#free.clear();
    this.#freeBytes = 0;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #dropOldest(): void {
    let oldest: [number, FreeBuffer[]] | undefined;
    for (const entry of this.#free) if (!oldest || entry[1][0].since < oldest[1][0].since) oldest = entry;
    const [size, list] = oldest!;
    list.shift();
    if (list.length === 0) this.#free.delete(size);
    this.#freeBytes -= size;
  }

  #sweep(): void {
    const cutoff = performance.now() - IDLE_MS;
    for (const [size, list] of this.#free) {
      const keep = list.filter((entry) => entry.since >= cutoff);
      this.#freeBytes -= (list.length - keep.length) * size;
      if (keep.length === 0) this.#free.delete(size);
      else this.#free.set(size, keep);
    }
    if (this.#free.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}

/** The tensors of one request: leased from the pool, returned when both its answer and its handler are done. */
export class RequestTensors {
  readonly #pool: TensorPool | undefined;
  readonly #response: ServerResponse;
  readonly #leased: SharedArrayBuffer[] = [];
  #responseClosed = false;
  #handlerDone = false;

  constructor(pool: TensorPool | undefined, response: ServerResponse) {
    this.#pool = pool;
    this.#response = response;
  }

  /** Memory for a tensor of `byteLength` bytes: pooled when large, its old contents still in it; else new and zeroed. */
  memory(byteLength: number): ArrayBuffer | SharedArrayBuffer {
    // Once the response has closed its 'close' will not come again: nothing is leased for it.
    if (!this.#pool || byteLength < MIN_POOLED_BYTES || this.#response.destroyed) return new ArrayBuffer(byteLength);
    if (this.#leased.length === 0) this.#response.once('close', () => this.#closed());
    const buffer = this.#pool.lease(byteLength);
    this.#leased.push(buffer);
    return buffer;
  }

  /** An array of `like`'s type and `length` elements in this request's memory (a result beside its input). */
  arrayLike<A extends Float64Array | Float32Array>(like: A, length: number): A {
    const memory = this.memory(length * like.BYTES_PER_ELEMENT);
    return (like instanceof Float32Array ? new Float32Array(memory) : new Float64Array(memory)) as A;
  }

  /** The handler will not touch these tensors again, nor start a task on them (called once it has settled, or when it will never run). */
  handlerDone(): void {
    this.#handlerDone = true;
    this.#returnIfDone();
  }

  #closed(): void {
    this.#responseClosed = true;
    this.#returnIfDone();
  }

  #returnIfDone(): void {
    if (!this.#responseClosed || !this.#handlerDone) return;
    for (const buffer of this.#leased) this.#pool!.release(buffer);
    this.#leased.length = 0;
  }
}
