/**
 * The Piscina worker: named tasks `forward` and `backward` that run a
 * registered activation, and `json`, which takes a large request body as raw
 * bytes and answers the response bytes (workers/compute-json.ts). Typed
 * arrays and bytes arrive transferred and go back transferred, never cloned;
 * arrays over shared memory (/v2's pooled tensors) are written in place.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { Piscina, workerData } from 'piscina';
import { getActivation } from '../core/activations/index.js';
import { runBackward, runForward, type BackwardTask, type ForwardTask } from '../core/batch.js';
import { transferable } from '../tensor-pool.js';
import { computeJson, type JsonTask } from './compute-json.js';

export interface WorkerForwardTask extends ForwardTask {
  readonly activation: string;
}
export interface WorkerBackwardTask extends BackwardTask {
  readonly activation: string;
}

/** A result whose buffers move back to the main thread instead of being copied. */
class Transferred<T> {
  readonly #value: T;
  readonly #buffers: ArrayBuffer[];
  constructor(value: T, buffers: ArrayBuffer[]) {
    this.#value = value;
    this.#buffers = buffers;
  }
  get [Piscina.transferableSymbol](): ArrayBuffer[] {
    return this.#buffers;
  }
  get [Piscina.valueSymbol](): T {
    return this.#value;
  }
}

export interface KernelWorkerData {
  /** How much nicer than the main thread this thread runs (WORKER_NICE). */
  readonly nice: number;
  /** Under tsx: the .ts worker module the shim loads. */
  readonly tsWorker?: string;
}

/**
 * On Linux a thread is a task of its own with its own niceness: this one's id
 * comes from /proc/thread-self. Raising niceness needs no privilege. With the
 * workers nicer, a saturated pool takes only the CPU the event loop leaves, so
 * health checks and small requests stay quick (docs/BENCHMARKS.md). Elsewhere,
 * or where it fails, the thread keeps the main thread's priority.
 */
function lowerPriority(nice: number | undefined): void {
  if (!nice || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(19, getPriority(tid) + nice));
  } catch {
    // no procfs, or a sandbox that forbids it
  }
}
lowerPriority((workerData as KernelWorkerData | undefined)?.nice);

function lookup(name: string) {
  const def = getActivation(name);
  // Routes only dispatch registered names; reaching this is a programming error.
  if (!def) throw new Error(`unknown activation ${name}`);
  return def;
}

export function forward(task: WorkerForwardTask) {
  const result = runForward(lookup(task.activation), task);
  return Piscina.move(new Transferred(result, transferable([result.out])) as never);
}

export function backward(task: WorkerBackwardTask) {
  const result = runBackward(lookup(task.activation), task);
  return Piscina.move(new Transferred(result, transferable([result.dx])) as never);
}

export function json(task: JsonTask) {
  const outcome = computeJson(task);
  return outcome.ok ? Piscina.move(new Transferred(outcome, [outcome.json.buffer as ArrayBuffer]) as never) : outcome;
}
