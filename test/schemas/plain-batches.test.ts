/**
 * withPlainBatches (schemas/compute-io.ts) checks plain batches by a loop and
 * lets zod see a one-number batch in their place. Both compute paths (the
 * route and the worker) validate through it, so comparing them cannot catch
 * a difference from zod: this compares it with zod itself, on valid bodies
 * and on bodies with one thing wrong, for every activation.
 */
import fc from 'fast-check';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { activations } from '../../src/core/activations/index.js';
import { computeSchemas } from '../../src/schemas/compute.js';
import { withPlainBatches, type BodyValidator } from '../../src/schemas/compute-io.js';
import { bodyArbitrary, mutatedBodyArbitrary, type Op } from '../fuzz/arbitraries.js';

const compile = (schema: unknown, url: string) => validatorCompiler({ schema, method: 'POST', url, httpPart: 'body' } as never) as BodyValidator;

describe('plain batches skip zod, with the same answer as zod', () => {
  for (const def of activations) {
    for (const op of ['forward', 'backward'] as Op[]) {
      it(`${def.name} ${op}`, () => {
        const schemas = computeSchemas(def);
        const zod = compile(op === 'forward' ? schemas.forwardBody : schemas.backwardBody, `/v1/activations/${def.name}/${op}`);
        const shortcut = withPlainBatches(zod);
        const bodies = fc.oneof(
          bodyArbitrary(def, op).map((b) => b.body),
          mutatedBodyArbitrary(def, op).map((m) => m.body),
        );
        fc.assert(
          fc.property(bodies, (body) => {
            const want = zod(structuredClone(body));
            const got = shortcut(structuredClone(body));
            expect(JSON.stringify(got.error)).toBe(JSON.stringify(want.error));
            expect(got.value).toEqual(want.value);
          }),
          { numRuns: 40 },
        );
      });
    }
  }

  it('keeps the answer for plain batches and a dtype, and no request can change it for the next', () => {
    const def = activations.find((a) => a.name === 'leaky_relu')!;
    const schema = computeSchemas(def).forwardBody;
    const zod = compile(schema, '/v1/activations/leaky_relu/forward');
    const validate = withPlainBatches(compile(schema, '/v1/activations/leaky_relu/forward'));
    for (const dtype of [undefined, 'float32', 'float64', undefined, 'float32']) {
      const body = { inputs: [[-1, 2]], ...(dtype ? { dtype } : {}) };
      const first = validate(structuredClone(body)).value as { params: Record<string, unknown>; dtype: string };
      expect(first).toEqual(zod(structuredClone(body)).value);
      // A handler that wrote into its body's params must not reach the next request (the kept answer is read-only).
      try {
        first.params.negative_slope = 99;
        first.dtype = 'float16';
      } catch {
        // a frozen object refuses the write in strict mode
      }
      expect(validate(structuredClone(body)).value).toEqual(zod(structuredClone(body)).value);
    }
    // A bad dtype is zod's error, every time (never kept).
    for (let i = 0; i < 2; i++) expect(validate({ inputs: [[1]], dtype: 'float16' }).error).toBeDefined();
  });

  it('a plain batch is taken as it is, not copied', () => {
    const def = activations.find((a) => a.name === 'sigmoid')!;
    const validate = withPlainBatches(compile(computeSchemas(def).forwardBody, '/v1/activations/sigmoid/forward'));
    const inputs = [
      [1, 2],
      [3, 4],
    ];
    expect((validate({ inputs }).value as { inputs: unknown }).inputs).toBe(inputs);
  });
});
