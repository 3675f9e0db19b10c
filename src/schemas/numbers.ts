/**
 * Numbers in JSON bodies. JSON has no NaN or infinities, so requests and
 * responses spell them as strings (ACTIVATIONS.md).
 */
import { z } from 'zod';

export const NON_FINITE = ['NaN', 'Infinity', '-Infinity'] as const;

/** What a batch entry that is not a JSON number must be: the message of every such 400. */
export const JSON_NUMBER_EXPECTED = 'expected a finite number or one of the strings "NaN", "Infinity", "-Infinity"';

export const JsonNumberSchema = z
  .union([z.number(), z.enum(NON_FINITE)], { error: JSON_NUMBER_EXPECTED })
  .meta({
    id: 'JsonNumber',
    description: 'A number; NaN and infinities are written as the strings "NaN", "Infinity", "-Infinity".',
  });

export type JsonNumber = z.output<typeof JsonNumberSchema>;

export const RowSchema = z.array(JsonNumberSchema).min(1, 'a row must hold at least one number');

const count = (n: number) => `${n} number${n === 1 ? '' : 's'}`;

/** A non-empty rectangular batch: rows of equal, non-zero width. */
export const BatchSchema = z
  .array(RowSchema)
  .min(1, 'the batch must hold at least one row')
  .superRefine((rows, ctx) => {
    const width = rows[0]?.length ?? 0;
    const bad = rows.findIndex((row) => row.length !== width);
    if (bad > 0) {
      ctx.addIssue({
        code: 'custom',
        path: [bad],
        message: `ragged batch: row ${bad} has ${count(rows[bad].length)}, row 0 has ${count(width)}`,
      });
    }
  })
  .meta({
    id: 'Batch',
    description: 'A batch of vectors: an array of rows, each a non-empty array of numbers, all rows the same length.',
  });

export type Batch = JsonNumber[][];

/** Row-major Float64Array of a validated batch. */
export function batchToFloat64(batch: Batch): Float64Array {
  const rows = batch.length;
  const cols = batch[0].length;
  const out = new Float64Array(rows * cols);
  let k = 0;
  for (let r = 0; r < rows; r++) {
    const row = batch[r];
    for (let c = 0; c < cols; c++) {
      const v = row[c];
      out[k++] = typeof v === 'number' ? v : Number(v);
    }
  }
  return out;
}

function numberToJson(v: number): string {
  // String(v) is JSON's own number form (shortest round trip); -0 is written 0, as JSON.stringify does.
  if (v === v && v !== Infinity && v !== -Infinity) return v === 0 ? '0' : String(v);
  return v !== v ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

/** A non-finite number as JSON has to spell it (a string). */
function nonFiniteName(v: number): string {
  return v !== v ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * JSON text of a row-major matrix. The rows become plain arrays (non-finite
 * numbers as their strings) serialized by one JSON.stringify call: V8 writes
 * each number straight into its output, the same text as String(v) (the
 * shortest round trip; -0 as 0), where String(v) per number and a join would
 * allocate a string per number and go through the number-string cache. About
 * twice as fast on fresh outputs (docs/BENCHMARKS.md).
 */
export function matrixToJson(data: Float64Array, rows: number, cols: number): string {
  const matrix = new Array<(number | string)[]>(rows);
  for (let r = 0; r < rows; r++) {
    const row: (number | string)[] = [];
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = data[o + c];
      // v - v is 0 exactly for finite v, NaN for NaN and ±Infinity.
      row.push(v - v === 0 ? v : nonFiniteName(v));
    }
    matrix[r] = row;
  }
  return JSON.stringify(matrix);
}

/** A JSON value that may contain non-finite numbers (parameter gradients). */
export function valueToJson(value: unknown): string {
  if (typeof value === 'number') return numberToJson(value);
  if (Array.isArray(value)) return `[${value.map(valueToJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${valueToJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
