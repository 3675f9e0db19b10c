/**
 * Runs a registered activation over a batch: the dtype policy and the buffer
 * bookkeeping every kernel shares, so kernels only see float64 loops.
 *
 * float32 requests: inputs are rounded to float32, the kernel computes in
 * float64 and the results are rounded to float32 once (ACTIVATIONS.md).
 * float32 data may also come packed, as a Float32Array (binary /v2 tensors):
 * then it is widened here and the result comes back packed, so a worker does
 * both passes and the main thread only moves bytes.
 */
import type { ActivationDefinition, ParamGradients } from './activation.js';

export type Dtype = 'float64' | 'float32';

/** The arrays a batch travels in: float64, or float32 values packed (dtype float32 only). */
export type Floats = Float64Array | Float32Array;

export interface ForwardTask<A extends Floats = Float64Array> {
  /** Row-major inputs; a Float32Array gets its outputs as a Float32Array too. */
  readonly x: A;
  readonly rows: number;
  readonly cols: number;
  readonly params: unknown;
  readonly dtype: Dtype;
  /**
   * Where to write the outputs (rows × output cols), of x's type: a new array
   * when absent. Its old contents are overwritten (reused memory is fine).
   */
  readonly out?: A;
}

export interface BackwardTask<A extends Floats = Float64Array> extends Omit<ForwardTask<A>, 'out'> {
  /** dL/dy; packed or not independently of x. */
  readonly dy: Floats;
  /** Where to write the gradients (rows × cols), of x's type: a new array when absent; old contents are overwritten. */
  readonly dx?: A;
}

export interface ForwardResult<A extends Floats = Float64Array> {
  readonly out: A;
  readonly rows: number;
  readonly cols: number;
}

export interface BackwardResult<A extends Floats = Float64Array> {
  readonly dx: A;
  readonly gradParams?: ParamGradients;
}

/** Rounds every element to the nearest float32, in place. */
export function roundToFloat32(values: Float64Array): void {
  for (let i = 0; i < values.length; i++) values[i] = Math.fround(values[i]);
}

function roundParamGradients(grads: ParamGradients): ParamGradients {
  const round = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(round) : typeof v === 'number' ? Math.fround(v) : v;
  return Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, round(v)])) as ParamGradients;
}

export function outputCols(def: ActivationDefinition, cols: number, params: unknown): number {
  return def.outputCols ? def.outputCols(cols, params as never) : cols;
}

/**
 * Float64 work arrays of this thread for packed batches (the widened inputs,
 * and the results before narrowing), kept between calls: they never leave a
 * call. A worker allocating two to three fresh 8 MB arrays per 1024×1024 FP32
 * task spent more time in those allocations than in relu itself (25 and 18
 * ms a task in a CPU profile, against 1 for the kernel), the allocator handing
 * the memory back to the system and faulting it in again each time.
 * Batches over SCRATCH_MAX_ELEMENTS get arrays of their own, so that a thread
 * keeps at most 3 × 8 MB.
 */
const SCRATCH_MAX_ELEMENTS = 1 << 20;
const scratch: Float64Array[] = [new Float64Array(0), new Float64Array(0), new Float64Array(0)];
/** Which work array: the widened x, the widened dy, the result. */
type Slot = 0 | 1 | 2;
const X_SLOT = 0;
const DY_SLOT = 1;
const RESULT_SLOT = 2;

function workArray(slot: Slot, length: number): Float64Array {
  if (length > SCRATCH_MAX_ELEMENTS) return new Float64Array(length);
  if (scratch[slot].length < length) scratch[slot] = new Float64Array(Math.min(SCRATCH_MAX_ELEMENTS, Math.max(length, 2 * scratch[slot].length)));
  return scratch[slot].subarray(0, length);
}

/** float64 values the kernel may read: packed float32 widened (exact, nothing to round), float64 rounded in place if asked. */
function kernelInput(values: Floats, dtype: Dtype, slot: Slot): Float64Array {
  if (values instanceof Float32Array) {
    const wide = workArray(slot, values.length);
    for (let i = 0; i < values.length; i++) wide[i] = values[i];
    return wide;
  }
  if (dtype === 'float32') roundToFloat32(values);
  return values;
}

/**
 * Where the kernel writes: the caller's array when it is float64; for packed
 * results a work array, narrowed after; else a new one. Old contents are
 * overwritten: every kernel writes every element of its output.
 */
function kernelDestination(dest: Floats | undefined, packed: boolean, length: number): Float64Array {
  if (dest instanceof Float64Array) return dest.subarray(0, length);
  return packed ? workArray(RESULT_SLOT, length) : new Float64Array(length);
}

/**
 * Results as the inputs came: packed into a Float32Array (`dest` when given)
 * when they came packed (narrowing is the one rounding), else rounded to
 * float32 in place when `round` (float32 values not rounded yet).
 */
function kernelOutput<A extends Floats>(values: Float64Array, like: A, round: boolean, dest: A | undefined): A {
  if (like instanceof Float32Array) {
    if (!dest) return new Float32Array(values) as A;
    const packed = dest.subarray(0, values.length) as A;
    packed.set(values);
    return packed;
  }
  if (round) roundToFloat32(values);
  return values as A;
}

/** A caller's destination must be of x's type and long enough: anything else is a programming error, not a request's. */
function checkDestination(dest: Floats | undefined, x: Floats, length: number, what: string): void {
  if (dest === undefined) return;
  if (dest.constructor !== x.constructor || dest.length < length) {
    throw new TypeError(`${what} must be a ${x.constructor.name} of at least ${length} elements, got a ${dest.constructor.name} of ${dest.length}`);
  }
}

/** `task.x` may be rounded in place for float32; callers hand over ownership. */
export function runForward<A extends Floats>(def: ActivationDefinition, task: ForwardTask<A>): ForwardResult<A> {
  const { rows, cols, params, dtype } = task;
  const width = outputCols(def, cols, params);
  checkDestination(task.out, task.x, rows * width, 'out');
  const x = kernelInput(task.x, dtype, X_SLOT);
  const out = kernelDestination(task.out, task.x instanceof Float32Array, rows * width);
  const io = { x, rows, cols, params: params as never, out };
  if (dtype === 'float32' && def.forwardFloat32) {
    def.forwardFloat32(io);
    // float32 values already: nothing left to round.
    return { out: kernelOutput(out, task.x, false, task.out), rows, cols: width };
  }
  def.forward(io);
  return { out: kernelOutput(out, task.x, dtype === 'float32', task.out), rows, cols: width };
}

/** `task.x` and `task.dy` may be rounded in place for float32. */
export function runBackward<A extends Floats>(def: ActivationDefinition, task: BackwardTask<A>): BackwardResult<A> {
  const { rows, cols, params, dtype } = task;
  checkDestination(task.dx, task.x, rows * cols, 'dx');
  const x = kernelInput(task.x, dtype, X_SLOT);
  const dy = kernelInput(task.dy, dtype, DY_SLOT);
  const dx = kernelDestination(task.dx, task.x instanceof Float32Array, rows * cols);
  const grads = def.backward({ x, dy, rows, cols, params: params as never, dx });
  const packed = kernelOutput(dx, task.x, dtype === 'float32', task.dx);
  if (!grads) return { dx: packed };
  return { dx: packed, gradParams: dtype === 'float32' ? roundParamGradients(grads) : grads };
}
