/**
 * Fuzzing the compute routes of every activation in the registry, forward and
 * backward, through app.inject(): random bodies of the schema (params from
 * each activation's JSON Schema or its example, numbers from ordinary to
 * 1e308, 5e-324, -0 and the strings "NaN", "Infinity", "-Infinity") must
 * answer exactly the core kernel's numbers, or, where the drawn params do not
 * fit together or fit the batch, or the pooled app's limits are passed, the
 * very refusal that calls for; the same bodies changed in one place
 * (junk values, dropped or unknown keys, ragged rows, wrapped values, a
 * whole body of junk) must answer a 2xx that is still exact or a 4xx problem
 * that names what is wrong. Never a 5xx, never a hang; every answer also
 * conforms to openapi/openapi.json (test/helpers/app.ts checks it).
 *
 * Half the requests go to an app that computes inline, half to one that
 * sends everything to the worker pool with small limits (MAX_ELEMENTS,
 * BODY_LIMIT). FUZZ_RUNS sets the runs per property (default 10); FUZZ_SEED
 * replays a failing run that fast-check printed.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activations, getActivation } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';
import type { ActivationDefinition } from '../../src/core/activation.js';
import { exampleBodies } from '../../src/schemas/compute.js';
import { build } from '../helpers/app.js';
import { bodyArbitrary, mutatedBodyArbitrary, toJsonText, type Op } from './arbitraries.js';
import { checkComputeAnswer, checkProblem, injectWithin, short } from './oracle.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number) => ({ numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });

/** The params checkShape sees for a body: its parsed params, and its extra fields (targets). */
function kernelParamsOf(def: ActivationDefinition, params: unknown, body: Record<string, unknown>): never {
  const fields = Object.fromEntries(Object.keys(def.bodyFields ?? {}).filter((k) => k in body).map((k) => [k, body[k]]));
  return { ...(params as object), ...fields } as never;
}

let inline: FastifyInstance;
let pooled: FastifyInstance;
const tally = { ok: 0, problem: 0 };
/** Per activation and operation: random valid bodies computed (2xx) and refused (4xx). */
const perActivation = new Map<string, { ok: number; problem: number }>();

beforeAll(async () => {
  inline = await build({ BODY_LIMIT: 256 * 1024 });
  // Everything through the pool, with limits small enough for the fuzz to cross them.
  pooled = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1, MAX_ELEMENTS: 16, BODY_LIMIT: 2048 });
});
afterAll(async () => {
  await inline?.close();
  await pooled?.close();
});

async function post(usePool: boolean, name: string, op: Op, text: string) {
  return injectWithin(usePool ? pooled : inline, {
    method: 'POST',
    url: `/v1/activations/${name}/${op}`,
    headers: { 'content-type': 'application/json' },
    payload: text,
  });
}

const ops: Op[] = ['forward', 'backward'];

describe.each(ops)('fuzz %s', (op) => {
  for (const def of activations) {
    it(`${def.name}: the example and random valid bodies answer the core kernel's numbers, bit for bit`, async () => {
      if (op === 'forward') {
        // The example itself, always first.
        const exampleText = toJsonText(exampleBodies(def).forward);
        const first = await post(false, def.name, 'forward', exampleText);
        expect(checkComputeAnswer(def, 'forward', exampleText, first), short(first.text)).toBe('ok');
      }

      await fc.assert(
        fc.asyncProperty(bodyArbitrary(def, op), fc.boolean(), async ({ body }, usePool) => {
          const text = toJsonText(body);
          const answer = await post(usePool, def.name, op, text);
          const outcome = checkComputeAnswer(def, op, text, answer);
          // A drawn body is not always computable: the pooled app's limits are small, params are drawn one by one
          // (hardtanh's min_val < max_val, rrelu's lower ≤ upper may not hold) and apart from the batch shape
          // (prelu's per-column alpha, maxout's weights). Each refusal must be the one the body calls for; any
          // other is a fault (an audit: the oracle alone accepted a 400 for every body).
          const parsed = def.params.safeParse(body.params ?? {});
          const shapeIssue = parsed.success ? def.checkShape?.(kernelParamsOf(def, parsed.data, body), body.inputs.length, body.inputs[0].length) : undefined;
          if (usePool && answer.status === 413) {
            // the pooled app's MAX_ELEMENTS or BODY_LIMIT, checked first
          } else if (!parsed.success) {
            expect(answer.status, short(answer.text)).toBe(400);
            expect(JSON.parse(answer.text).errors[0].path).toMatch(/^\/params(\/|$)/);
          } else if (shapeIssue) {
            expect(answer.status, short(answer.text)).toBe(400);
            expect(JSON.parse(answer.text).errors[0].path).toBe(shapeIssue.path);
          } else {
            expect(outcome, `refused a computable body: ${short(answer.text)}`).toBe('ok');
          }
          tally[outcome]++;
          const key = `${def.name} ${op}`;
          const counts = perActivation.get(key) ?? { ok: 0, problem: 0 };
          counts[outcome]++;
          perActivation.set(key, counts);
        }),
        params(RUNS),
      );
    });

    it(`${def.name}: bodies changed in one place answer an exact 2xx or a 4xx problem naming what is wrong`, async () => {
      await fc.assert(
        fc.asyncProperty(mutatedBodyArbitrary(def, op), fc.boolean(), async (mutated, usePool) => {
          const text = toJsonText(mutated.body);
          const answer = await post(usePool, def.name, op, text);
          const outcome = checkComputeAnswer(def, op, text, answer);
          if (outcome === 'problem' && mutated.mutation === 'unknown-key' && mutated.path.length === 0 && answer.status === 400) {
            // An unknown top-level key is named (unless JSON itself or the size was the trouble).
            const problem = JSON.parse(answer.text);
            const key = Object.keys(mutated.body as object).find((k) => !(k in (bodyKeys(def, op) ?? {})));
            if (problem.code === 'ACT_ERR_VALIDATION' && key !== undefined) {
              expect(`${problem.detail} ${JSON.stringify(problem.errors)}`).toContain(JSON.stringify(key).slice(1, -1));
            }
          }
        }),
        params(RUNS),
      );
    });
  }
});

function bodyKeys(def: (typeof activations)[number], op: Op): Record<string, true> {
  const keys = ['inputs', 'params', 'dtype', ...Object.keys(def.bodyFields ?? {})];
  if (op === 'backward') keys.push('grad_outputs', ...Object.keys(def.backwardBodyFields ?? {}));
  return Object.fromEntries(keys.map((k) => [k, true as const]));
}

describe('limits', () => {
  it('over MAX_ELEMENTS or BODY_LIMIT: 413 problems that state the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...activations),
        fc.constantFrom<Op>('forward', 'backward'),
        fc.integer({ min: 17, max: 400 }),
        async (def, op, n) => {
          const inputs = [Array.from({ length: n }, (_, i) => i / 7)];
          const text = toJsonText({ inputs, ...(op === 'backward' ? { grad_outputs: inputs } : {}) });
          const answer = await post(true, def.name, op, text);
          const problem = checkProblem(answer, {});
          expect([413, 400]).toContain(answer.status);
          if (answer.status === 413) expect(problem.code).toMatch(/ACT_ERR_(TOO_MANY_ELEMENTS|BODY_TOO_LARGE)/);
        },
      ),
      params(RUNS * 3),
    );
  });
});

describe('afterwards', () => {
  it('both apps still answer a known request exactly', async () => {
    const gelu = getActivation('gelu')!;
    const inputs = [[-1.5, 0, 2.25]];
    const want = runForward(gelu, { x: Float64Array.from(inputs[0]), rows: 1, cols: 3, params: gelu.params.parse({}), dtype: 'float64' });
    for (const usePool of [false, true]) {
      const answer = await post(usePool, 'gelu', 'forward', JSON.stringify({ inputs }));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).outputs).toEqual([Array.from(want.out)]);
    }
    // Most random valid bodies were computed, not refused.
    if (process.env.FUZZ_VERBOSE) console.info(tally, Object.fromEntries(perActivation));
    expect(tally.ok).toBeGreaterThan(tally.problem);
  });
});
