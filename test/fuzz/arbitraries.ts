/**
 * fast-check arbitraries for the fuzz tests: request bodies built from each
 * activation's own schema (its params' JSON Schema, from z.toJSONSchema) and
 * its example, the numbers that break things (NaN and the infinities as
 * strings, -0, 5e-324, 1e308), and mutations that turn a body invalid in one
 * place. Bodies are sent as text from `toJsonText`, which keeps -0 (JSON.stringify
 * writes it as 0).
 */
import fc from 'fast-check';
import { z } from 'zod';
import type { ActivationDefinition } from '../../src/core/activation.js';

type Json = Record<string, any>;
export type Op = 'forward' | 'backward';

/** Numbers as a client may send them: finite ones, or the strings of the three non-finite values. */
export const encodeNumber = (v: number): number | string => (v !== v ? 'NaN' : v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v);

const EXTREMES = [1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, -5e-324, -0, 0, 2.2250738585072014e-308, 1e-300, 709.78, -745.13, 2 ** 53 + 2, 0.1, -1];

/** Mostly ordinary numbers, often the extremes, sometimes NaN and the infinities (as strings). */
export const inputNumber: fc.Arbitrary<number | string> = fc
  .oneof(
    { weight: 6, arbitrary: fc.double({ min: -12, max: 12, noNaN: true }) },
    { weight: 2, arbitrary: fc.double() },
    { weight: 2, arbitrary: fc.constantFrom(...EXTREMES) },
    { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) },
  )
  .map(encodeNumber);

export function matrix(rows: number, cols: number, item: fc.Arbitrary<unknown> = inputNumber): fc.Arbitrary<unknown[][]> {
  return fc.array(fc.array(item, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows });
}

/** JSON text of a value; -0 stays -0. */
export function toJsonText(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJsonText(v))).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * An arbitrary of values valid by a JSON Schema (the subset zod emits):
 * types with bounds, enums, const, anyOf, arrays, objects with optional keys,
 * `$ref` into `root`. Numbers lean to small values, with the bounds and the
 * extremes mixed in.
 */
export function fromJsonSchema(schema: Json, root: Json = schema): fc.Arbitrary<unknown> {
  if (schema.$ref) {
    const target = (schema.$ref as string)
      .replace(/^#\//, '')
      .split('/')
      .reduce((node: Json, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], root);
    return fromJsonSchema(target, root);
  }
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...(schema.enum as unknown[]));
  const union = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (union) return fc.oneof(...union.map((s) => fromJsonSchema(s, root)));
  switch (schema.type) {
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.string({ maxLength: 8 });
    case 'integer': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -(2 ** 31));
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 2 ** 31 - 1);
      const small = fc.integer({ min: Math.max(min, -4), max: Math.max(Math.max(min, -4), Math.min(max, 8)) });
      const wide = fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) });
      return fc.oneof({ weight: 4, arbitrary: small }, { weight: 1, arbitrary: wide }, { weight: 1, arbitrary: fc.constantFrom(min, max) });
    }
    case 'number': {
      const lo = schema.minimum ?? schema.exclusiveMinimum ?? -Number.MAX_VALUE;
      const hi = schema.maximum ?? schema.exclusiveMaximum ?? Number.MAX_VALUE;
      const inRange = (v: number) =>
        (schema.exclusiveMinimum === undefined || v > schema.exclusiveMinimum) && (schema.exclusiveMaximum === undefined || v < schema.exclusiveMaximum);
      const clampLo = Math.max(lo, -4);
      const clampHi = Math.max(clampLo, Math.min(hi, 4));
      return fc
        .oneof(
          { weight: 5, arbitrary: fc.double({ min: clampLo, max: clampHi, noNaN: true, noDefaultInfinity: true }) },
          { weight: 1, arbitrary: fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }) },
          { weight: 1, arbitrary: fc.constantFrom(lo, hi, ...(schema.default !== undefined ? [schema.default] : [])) },
          { weight: 1, arbitrary: fc.constantFrom(...EXTREMES.filter((v) => v >= lo && v <= hi)) },
        )
        .filter(inRange);
    }
    case 'array': {
      const items = schema.items && typeof schema.items === 'object' ? fromJsonSchema(schema.items, root) : fc.jsonValue({ maxDepth: 1 });
      return fc.array(items, { minLength: schema.minItems ?? 0, maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)) });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Json;
      const record = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, fromJsonSchema(s, root)]));
      return fc.record(record, { requiredKeys: (schema.required ?? []) as string[] });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** The params' JSON Schema, as the catalog publishes it (input side: defaults are optional). */
export function paramsJsonSchema(def: ActivationDefinition): Json {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(def.params, { io: 'input' }) as Json;
  return schema;
}

/** Params from the schema, from the example, from the example with one value from the schema, or none. */
export function paramsArbitrary(def: ActivationDefinition): fc.Arbitrary<Json | undefined> {
  const schema = paramsJsonSchema(def);
  const fromSchema = fromJsonSchema(schema) as fc.Arbitrary<Json>;
  const example = def.example.params as Json | undefined;
  const choices: fc.Arbitrary<Json | undefined>[] = [fromSchema];
  if (example) {
    choices.push(fc.constant(example));
    // The example with one parameter redrawn from its schema.
    const keys = Object.keys(schema.properties ?? {});
    if (keys.length > 0) {
      choices.push(
        fc
          .record({ key: fc.constantFrom(...keys), params: fromSchema })
          .map(({ key, params }) => ({ ...example, ...(key in params ? { [key]: params[key] } : {}) })),
      );
    }
  }
  // Omitted params are valid only when nothing is required.
  if (!(schema.required?.length > 0)) choices.push(fc.constant(undefined));
  return fc.oneof(...choices);
}

/** The parsed params (defaults filled), or undefined when they do not parse. */
function parsedParams(def: ActivationDefinition, params: Json | undefined): Json | undefined {
  const parsed = def.params.safeParse(params ?? {});
  return parsed.success ? (parsed.data as Json) : undefined;
}

function widthOf(def: ActivationDefinition, cols: number, params: Json | undefined): number {
  const parsed = parsedParams(def, params);
  if (!def.outputCols || !parsed) return cols;
  try {
    const width = def.outputCols(cols, parsed as never);
    return Number.isInteger(width) && width > 0 && width <= 64 ? width : cols;
  } catch {
    return cols;
  }
}

/**
 * An extra body field "one per row", shaped after the example's value:
 * class indices (integers below cols), probability rows, or numbers.
 */
function perRowField(example: unknown, schema: z.ZodType, rows: number, cols: number): fc.Arbitrary<unknown> {
  if (Array.isArray(example) && example.length > 0) {
    if (Array.isArray(example[0])) {
      const probabilities = fc
        .array(fc.integer({ min: 0, max: 8 }), { minLength: cols, maxLength: cols })
        .map((w) => {
          const total = w.reduce((a, b) => a + b, 0);
          return total === 0 ? w.map((_, i) => (i === 0 ? 1 : 0)) : w.map((v) => v / total);
        });
      return fc.array(probabilities, { minLength: rows, maxLength: rows });
    }
    if (Number.isInteger(example[0])) {
      return fc.oneof(
        { weight: 4, arbitrary: fc.array(fc.integer({ min: 0, max: cols - 1 }), { minLength: rows, maxLength: rows }) },
        { weight: 1, arbitrary: perRowField([[1]], schema, rows, cols) },
      );
    }
  }
  const json = z.toJSONSchema(schema, { io: 'input' }) as Json;
  if (json.type === 'array') return fc.array(fromJsonSchema(json.items ?? {}, json), { minLength: rows, maxLength: rows });
  return fromJsonSchema(json);
}

export interface FuzzBody {
  body: Json;
}

/** A request body that is valid or nearly so: shapes consistent, params from the schema or the example. */
export function bodyArbitrary(def: ActivationDefinition, op: Op): fc.Arbitrary<FuzzBody> {
  const exampleCols = def.example.inputs[0].length;
  return fc
    .record({
      rows: fc.integer({ min: 1, max: 4 }),
      cols: fc.oneof({ weight: 3, arbitrary: fc.constant(exampleCols) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }),
      params: paramsArbitrary(def),
      dtype: fc.constantFrom(undefined, 'float64', 'float32'),
    })
    .chain(({ rows, cols, params, dtype }) => {
      const fields: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, schema] of Object.entries(def.bodyFields ?? {})) {
        fields[key] = perRowField(def.example.body?.[key], schema as z.ZodType, rows, cols);
      }
      if (op === 'backward') {
        for (const [key, schema] of Object.entries(def.backwardBodyFields ?? {})) {
          fields[key] = fc.option(perRowField(undefined, schema as z.ZodType, rows, cols), { nil: undefined });
        }
        const width = widthOf(def, cols, params);
        fields.grad_outputs = def.gradOutputsOptional ? fc.option(matrix(rows, width), { nil: undefined }) : matrix(rows, width);
      }
      return fc.record({ inputs: matrix(rows, cols), ...fields }).map((rest) => ({
        body: { ...rest, ...(params !== undefined ? { params } : {}), ...(dtype !== undefined ? { dtype } : {}) },
      }));
    });
}

/** Values that do not belong where they land. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('NaN', 'Infinity', '-Infinity', 'nan', 'NAN', 'inf', '-inf', '+Infinity', 'Infinity ', ' NaN', '', ' ', '1', '0x10', '1e400', 'null', 'true', '\u0000', '𝟘', '١٢', '\u202e1'),
  fc.constantFrom(1e308, -1e308, 5e-324, -0, 0, 1e-320, 2 ** 53, -(2 ** 63), 1.5, -1, 1e21, 4294967297),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 300 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  fc.array(fc.array(inputNumber, { maxLength: 4 }), { maxLength: 4 }),
);

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function parentOf(root: Json, path: Path): any {
  return path.slice(0, -1).reduce((node: any, key) => node?.[key], root);
}

export type Mutation = 'replace' | 'delete' | 'unknown-key' | 'ragged' | 'wrap' | 'whole';

export interface Mutated {
  body: unknown;
  mutation: Mutation;
  path: Path;
}

/** A body changed in one place: a value replaced by junk, a key dropped or added, a row made ragged, a value wrapped. */
export function mutatedBodyArbitrary(def: ActivationDefinition, op: Op): fc.Arbitrary<Mutated> {
  return fc
    .record({
      base: bodyArbitrary(def, op),
      pick: fc.nat(),
      mutation: fc.constantFrom<Mutation>('replace', 'replace', 'replace', 'delete', 'unknown-key', 'ragged', 'wrap', 'whole'),
      value: junk,
      key: fc.oneof(fc.constantFrom('inputz', 'Inputs', 'extra', 'grad_output', 'param', '', ' inputs', 'dtype ', '\u0000'), fc.string({ maxLength: 8 })),
    })
    .map(({ base, pick, mutation, value, key }) => {
      const body = structuredClone(base.body) as Json;
      const all = paths(body).filter((p) => p.length > 0);
      let path = all[pick % all.length];
      switch (mutation) {
        case 'whole':
          return { body: value, mutation, path: [] };
        case 'replace':
          parentOf(body, path)[path[path.length - 1]] = value;
          break;
        case 'wrap': {
          const parent = parentOf(body, path);
          parent[path[path.length - 1]] = [parent[path[path.length - 1]]];
          break;
        }
        case 'delete': {
          const parent = parentOf(body, path);
          if (Array.isArray(parent)) parent.splice(Number(path[path.length - 1]), 1);
          else delete parent[path[path.length - 1]];
          break;
        }
        case 'unknown-key': {
          const objects = paths(body).filter((p) => {
            const node = p.reduce((n: any, k) => n?.[k], body);
            return node && typeof node === 'object' && !Array.isArray(node);
          });
          path = objects[pick % objects.length];
          const target = path.reduce((n: any, k) => n[k], body);
          // A key the schema knows would not be unknown.
          target[key in target ? `${key}_x` : key] = value;
          break;
        }
        case 'ragged': {
          const rows = Array.isArray(body.inputs) && body.inputs.length > 1 ? body.inputs : undefined;
          if (rows) {
            const r = 1 + (pick % (rows.length - 1));
            if (Array.isArray(rows[r])) rows[r] = pick % 2 === 0 ? [...rows[r], 1] : rows[r].slice(1);
            path = ['inputs', r];
          } else {
            body.inputs = [[1, 2], [3]];
            path = ['inputs', 1];
          }
          break;
        }
      }
      return { body, mutation, path };
    });
}
