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
  /** Where to write the outputs (rows × output cols); a new array when absent. */
  readonly out?: Float64Array;
}

export interface BackwardTask<A extends Floats = Float64Array> extends Omit<ForwardTask<A>, 'out'> {
  /** dL/dy; packed or not independently of x. */
  readonly dy: Floats;
  /** Where to write the gradients (rows × cols); a new array when absent. */
  readonly dx?: Float64Array;
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

/** float64 values the kernel may read: packed float32 widened (exact, nothing to round), float64 rounded in place if asked. */
function kernelInput(values: Floats, dtype: Dtype): Float64Array {
  if (values instanceof Float32Array) return new Float64Array(values);
  if (dtype === 'float32') roundToFloat32(values);
  return values;
}

/**
 * Results as the inputs came: packed into a Float32Array when they came packed
 * (narrowing is the one rounding), else rounded to float32 in place when
 * `round` (float32 values not rounded yet).
 */
function kernelOutput<A extends Floats>(values: Float64Array, like: A, round: boolean): A {
  if (like instanceof Float32Array) return new Float32Array(values) as A;
  if (round) roundToFloat32(values);
  return values as A;
}

/** `task.x` may be rounded in place for float32; callers hand over ownership. */
export function runForward<A extends Floats>(def: ActivationDefinition, task: ForwardTask<A>): ForwardResult<A> {
  const { rows, cols, params, dtype } = task;
  const x = kernelInput(task.x, dtype);
  const width = outputCols(def, cols, params);
  const out = task.out?.subarray(0, rows * width) ?? new Float64Array(rows * width);
  const io = { x, rows, cols, params: params as never, out };
  if (dtype === 'float32' && def.forwardFloat32) {
    def.forwardFloat32(io);
    // float32 values already: nothing left to round.
    return { out: kernelOutput(out, task.x, false), rows, cols: width };
  }
  def.forward(io);
  return { out: kernelOutput(out, task.x, dtype === 'float32'), rows, cols: width };
}

/** `task.x` and `task.dy` may be rounded in place for float32. */
export function runBackward<A extends Floats>(def: ActivationDefinition, task: BackwardTask<A>): BackwardResult<A> {
  const { rows, cols, params, dtype } = task;
  const x = kernelInput(task.x, dtype);
  const dy = kernelInput(task.dy, dtype);
  const dx = task.dx?.subarray(0, rows * cols) ?? new Float64Array(rows * cols);
  const grads = def.backward({ x, dy, rows, cols, params: params as never, dx });
  const packed = kernelOutput(dx, task.x, dtype === 'float32');
  if (!grads) return { dx: packed };
  return { dx: packed, gradParams: dtype === 'float32' ? roundParamGradients(grads) : grads };
}
