/**
 * Runs a registered activation over a batch: the dtype policy and the buffer
 * bookkeeping every kernel shares, so kernels only see float64 loops.
 *
 * float32 requests: inputs are rounded to float32, the kernel computes in
 * float64 and the results are rounded to float32 once (ACTIVATIONS.md).
 */
import type { ActivationDefinition, ParamGradients } from './activation.js';

export type Dtype = 'float64' | 'float32';

export interface ForwardTask {
  readonly x: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly params: unknown;
  readonly dtype: Dtype;
  /** Where to write the outputs (rows × output cols); a new array when absent. */
  readonly out?: Float64Array;
}

export interface BackwardTask extends Omit<ForwardTask, 'out'> {
  readonly dy: Float64Array;
  /** Where to write the gradients (rows × cols); a new array when absent. */
  readonly dx?: Float64Array;
}

export interface ForwardResult {
  readonly out: Float64Array;
  readonly rows: number;
  readonly cols: number;
}

export interface BackwardResult {
  readonly dx: Float64Array;
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

/** `task.x` may be rounded in place for float32; callers hand over ownership. */
export function runForward(def: ActivationDefinition, task: ForwardTask): ForwardResult {
  const { x, rows, cols, params, dtype } = task;
  if (dtype === 'float32') roundToFloat32(x);
  const width = outputCols(def, cols, params);
  const out = task.out?.subarray(0, rows * width) ?? new Float64Array(rows * width);
  def.forward({ x, rows, cols, params: params as never, out });
  if (dtype === 'float32') roundToFloat32(out);
  return { out, rows, cols: width };
}

/** `task.x` and `task.dy` may be rounded in place for float32. */
export function runBackward(def: ActivationDefinition, task: BackwardTask): BackwardResult {
  const { x, dy, rows, cols, params, dtype } = task;
  if (dtype === 'float32') {
    roundToFloat32(x);
    roundToFloat32(dy);
  }
  const dx = task.dx?.subarray(0, rows * cols) ?? new Float64Array(rows * cols);
  const grads = def.backward({ x, dy, rows, cols, params: params as never, dx });
  if (dtype === 'float32') roundToFloat32(dx);
  if (!grads) return { dx };
  return { dx, gradParams: dtype === 'float32' ? roundParamGradients(grads) : grads };
}
