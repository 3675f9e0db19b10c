/**
 * Reading the golden fixtures (test/fixtures/golden, copied from ../shared/golden)
 * and scoring results in ULP as their README defines it.
 */
import { readFileSync, existsSync } from 'node:fs';
import type { Dtype } from '../../src/core/batch.js';

export type GoldenNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export interface GoldenCase {
  activation: string;
  params: Record<string, unknown>;
  dtype: Dtype;
  x: GoldenNumber[][];
  y: GoldenNumber[][];
  dy?: GoldenNumber[][];
  dx: GoldenNumber[][];
  targets?: unknown;
  dloss?: GoldenNumber[];
  grad_params?: Record<string, unknown>;
}

const fixtureDir = new URL('../fixtures/golden/', import.meta.url);

export function hasGolden(activation: string): boolean {
  return existsSync(new URL(`${activation}.json`, fixtureDir));
}

export function loadGolden(activation: string): GoldenCase[] {
  return JSON.parse(readFileSync(new URL(`${activation}.json`, fixtureDir), 'utf8')) as GoldenCase[];
}

export function toNumber(v: GoldenNumber): number {
  return typeof v === 'number' ? v : Number(v);
}

export function flatten(m: GoldenNumber[][]): Float64Array {
  const cols = m[0].length;
  const out = new Float64Array(m.length * cols);
  m.forEach((row, r) => row.forEach((v, c) => (out[r * cols + c] = toNumber(v))));
  return out;
}

const MIN_SUBNORMAL = { float64: 2 ** -1074, float32: 2 ** -149 } as const;
const PRECISION = { float64: 53, float32: 24 } as const;

/** ulp(g) per the fixtures' README: never below the smallest subnormal. */
export function ulpOf(g: number, dtype: Dtype): number {
  if (g === 0) return MIN_SUBNORMAL[dtype];
  const e = Math.floor(Math.log2(Math.abs(g)));
  // log2 can be off by one just below a power of two; settle it exactly.
  const exp = 2 ** e > Math.abs(g) ? e - 1 : 2 ** (e + 1) <= Math.abs(g) ? e + 1 : e;
  return Math.max(2 ** (exp - PRECISION[dtype] + 1), MIN_SUBNORMAL[dtype]);
}

/** Error of `computed` against golden `g` in ULP of the dtype; Infinity for a NaN or infinity mismatch. */
export function ulpError(computed: number, g: number, dtype: Dtype): number {
  const c = dtype === 'float32' ? Math.fround(computed) : computed;
  if (Number.isNaN(g) || Number.isNaN(c)) return Number.isNaN(g) && Number.isNaN(c) ? 0 : Infinity;
  if (!Number.isFinite(g) || !Number.isFinite(c)) return g === c ? 0 : Infinity;
  if (c === g) return 0;
  return Math.abs(c - g) / ulpOf(g, dtype);
}

export interface UlpReport {
  max: number;
  /** Index of the worst element, for the failure message. */
  worst: number;
  over1: number;
}

export function compareUlp(computed: ArrayLike<number>, golden: ArrayLike<number>, dtype: Dtype): UlpReport {
  let max = 0;
  let worst = -1;
  let over1 = 0;
  for (let i = 0; i < golden.length; i++) {
    const e = ulpError(computed[i], golden[i], dtype);
    if (e > 1) over1++;
    if (e > max || (worst < 0 && e === max)) {
      max = e;
      worst = i;
    }
  }
  return { max, worst, over1 };
}

/** The bound the reference tests hold results to where no exact rounding is claimed (subnormal ends, near-ties). */
export const ULP_BOUND = { float64: 2, float32: 1 } as const;

/**
 * Golden cases whose results may be one ULP from the fixture, each for a
 * reason the catalog allows; every other case must match exactly (0 ULP).
 * Keyed by activation, case index in its file, and pass.
 */
const ONE_ULP_CASES: Record<string, string> = {
  // x = -7.2: x·Φ(x) lies 0.0017 ULP (2^-62 relative) from a midpoint, closer than Φ's pieces (2^-59) can settle.
  'gelu#0 forward': 'a near-tie',
  // float32 results are rounded once from the float64 result (ACTIVATIONS.md), and these float64 results lie
  // exactly on a float32 midpoint, so ties-to-even picks the other neighbour of the exact value.
  'glu#7 backward': 'float64 result on a float32 midpoint',
  'hardsigmoid#3 forward': 'float64 result on a float32 midpoint',
  'softmax_cross_entropy#3 backward': 'float64 result on a float32 midpoint',
};

/** The ULP bound for one golden case and pass: 0, or 1 for the cases above. */
export function goldenBound(activation: string, index: number, pass: 'forward' | 'backward'): number {
  return `${activation}#${index} ${pass}` in ONE_ULP_CASES ? 1 : 0;
}

/** The upstream gradient of a case: `dy`, or `dloss` as a [rows][1] batch (softmax_cross_entropy). */
export function gradOutputsOf(c: GoldenCase): GoldenNumber[][] {
  if (c.dy) return c.dy;
  if (c.dloss) return c.dloss.map((v) => [v]);
  throw new Error(`golden case of ${c.activation} has neither dy nor dloss`);
}

/** Extra top-level body fields of a case (softmax_cross_entropy's targets). */
export function bodyFieldsOf(c: GoldenCase): Record<string, unknown> {
  return c.targets !== undefined ? { targets: c.targets } : {};
}

/** Flattens a number or nested arrays of numbers, in row-major order. */
export function flattenDeep(value: unknown): number[] {
  if (Array.isArray(value)) return value.flatMap(flattenDeep);
  return [toNumber(value as GoldenNumber)];
}
