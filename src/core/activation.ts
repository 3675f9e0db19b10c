/**
 * What an activation is: the one shape every file in `activations/` exports.
 *
 * Pure maths and metadata only: nothing here knows about HTTP or threads, so
 * the same definition serves the routes, the OpenAPI document, the worker and
 * the catalog endpoint.
 */
import type { z } from 'zod';

/** Element-wise functions act on every number; row functions on each row as a vector. */
export type ActivationKind = 'elementwise' | 'row';

/** A batch of `rows` vectors of `cols` numbers, row-major. */
export interface ForwardIO<P> {
  readonly x: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly params: P;
  /** Written by the kernel: `rows × outputCols(cols, params)` numbers. */
  readonly out: Float64Array;
}

export interface BackwardIO<P> {
  readonly x: Float64Array;
  /** Upstream gradient, shaped like the forward output. */
  readonly dy: Float64Array;
  readonly rows: number;
  readonly cols: number;
  readonly params: P;
  /** Written by the kernel: dL/dx, shaped like `x`. */
  readonly dx: Float64Array;
}

/** Gradients of learnable parameters, summed over the batch, in the parameter's shape. */
export type ParamGradients = Record<string, number | number[] | number[][] | number[][][]>;

/** A params value that does not fit the batch: `path` is a JSON Pointer into the body. */
export interface ShapeIssue {
  readonly path: string;
  readonly message: string;
}

/** A bound of the output range; JSON has no infinities, so they are spelled out. */
export type RangeBound = number | 'Infinity' | '-Infinity';

export interface ActivationMetadata {
  /** Output range for default parameters, as [lower, upper]. */
  readonly range: readonly [RangeBound, RangeBound];
  readonly zeroCentred: boolean;
  readonly monotonic: boolean;
  readonly smooth: boolean;
  readonly bounded: boolean;
  /** The gradient convention where the function has kinks (or "none"). */
  readonly kinks: string;
  /** What a practitioner weighs, in a sentence each. */
  readonly pros: readonly string[];
  readonly cons: readonly string[];
  readonly references: readonly { readonly title: string; readonly url: string }[];
}

export interface ActivationDefinition<S extends z.ZodObject = z.ZodObject> {
  /** The id in the API, the catalog's snake_case name (`leaky_relu`). */
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly kind: ActivationKind;
  /** Strict zod object: defaults and descriptions here reach the OpenAPI document. */
  readonly params: S;
  /** Names of parameters whose gradients backward returns. */
  readonly learnable: readonly string[];
  /** TeX. */
  readonly formula: string;
  readonly derivative: string;
  readonly metadata: ActivationMetadata;
  /** A request body that shows the activation off in the OpenAPI examples. */
  readonly example: {
    readonly inputs: number[][];
    readonly params?: Partial<z.input<S>>;
    /** Values of `bodyFields`, if any. */
    readonly body?: Record<string, unknown>;
  };
  /** Width of an output row; element-wise functions keep `cols`. */
  outputCols?(cols: number, params: z.output<S>): number;
  /**
   * Checks params against the batch shape (a per-column alpha must have `cols`
   * entries, say). Returns what is wrong, for a 400, or undefined.
   */
  checkShape?(params: z.output<S>, rows: number, cols: number): ShapeIssue | undefined;
  /**
   * Extra top-level body fields (e.g. `targets`), validated by these schemas and
   * handed to the kernels inside `params` under the same names.
   */
  readonly bodyFields?: z.ZodRawShape;
  /** Extra top-level fields of the backward body only (e.g. `grad_loss`). */
  readonly backwardBodyFields?: z.ZodRawShape;
  /** When true, backward may omit `grad_outputs`; the kernel then sees ones. */
  readonly gradOutputsOptional?: boolean;
  /**
   * Fills in params chosen at request time (a random seed), on the main thread
   * before dispatch, so forward and backward can be reproduced.
   */
  resolveParams?(params: z.output<S>): z.output<S>;
  /** Fields added to forward and backward responses (e.g. the seed used): their schemas and values. */
  readonly responseFields?: {
    readonly shape: z.ZodRawShape;
    values(params: z.output<S>): Record<string, unknown>;
  };
  forward(io: ForwardIO<z.output<S>>): void;
  /**
   * Optional, for float32 requests: `x` holds float32 values, and `out` gets
   * exactly `Math.fround` of what `forward` writes, bit for bit (a faster way
   * to the same float32 results where forward's extra precision rarely decides).
   */
  forwardFloat32?(io: ForwardIO<z.output<S>>): void;
  /** Writes dx; returns the gradients of learnable parameters, if any. */
  backward(io: BackwardIO<z.output<S>>): ParamGradients | undefined;
}

/** Keeps the params type of each definition while checking it against the shape. */
export function defineActivation<S extends z.ZodObject>(
  definition: ActivationDefinition<S>,
): ActivationDefinition<S> {
  return definition;
}
