/**
 * Every activation of the registry through /v2, forward and backward, JSON
 * and binary, on the main thread and through the worker pool: the same
 * numbers as /v1 for the same inputs, parameters and dtype (bit for bit),
 * and within the stated ULP bound of the golden fixtures.
 *
 * JSON requests carry the extra fields (softmax_cross_entropy's targets) as
 * parameters; binary ones as input tensors (class indices as INT64 [rows],
 * probability rows as FP64 [rows, cols]). Binary backward asks for its
 * outputs with the request-level binary_data_output and no outputs listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { activations } from '../../src/core/activations/index.js';
import {
  goldenBound,
  bodyFieldsOf,
  compareUlp,
  flatten,
  flattenDeep,
  gradOutputsOf,
  hasGolden,
  loadGolden,
  type GoldenCase,
} from '../helpers/golden.js';
import { build, postJson } from '../helpers/app.js';
import { inferBinary, inferJson, num, sameBits, type TensorSpec } from './oip.js';

const paths = { inline: { INLINE_MAX_ELEMENTS: 1 << 30 }, pool: { INLINE_MAX_ELEMENTS: 0 } } as const;

/** Extra fields as input tensors, for the binary form. */
function fieldTensors(c: GoldenCase): TensorSpec[] {
  const targets = bodyFieldsOf(c).targets as number[] | number[][] | undefined;
  if (targets === undefined) return [];
  if (typeof targets[0] === 'number') return [{ name: 'targets', shape: [targets.length], datatype: 'INT64', values: targets as number[] }];
  const grid = targets as number[][];
  return [{ name: 'targets', shape: [grid.length, grid[0].length], datatype: 'FP64', values: grid.flat() }];
}

function expectUlp(got: ArrayLike<number | string>, want: Float64Array, c: GoldenCase, bound: number, label: string): void {
  const values = Float64Array.from(Array.from(got, num));
  expect(compareUlp(values, want, c.dtype).max, label).toBeLessThanOrEqual(bound);
}

for (const [path, overrides] of Object.entries(paths)) {
  describe(`golden cases over /v2 (${path})`, () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      app = await build(overrides);
    });
    afterAll(async () => {
      await app.close();
    });

    it('covers every activation of the registry', () => {
      expect(activations.filter((a) => !hasGolden(a.name)).map((a) => a.name)).toEqual([]);
    });

    for (const def of activations.filter((a) => hasGolden(a.name))) {
      for (const [index, c] of loadGolden(def.name).entries()) {
        const [forwardBound, backwardBound] = [goldenBound(def.name, index, 'forward'), goldenBound(def.name, index, 'backward')];
        const label = `${def.name} ${JSON.stringify(c.params)} ${c.dtype}`;
        it(`${label}: forward and backward, JSON and binary, as /v1`, async () => {
          const rows = c.x.length;
          const cols = c.x[0].length;
          const datatype = c.dtype === 'float32' ? 'FP32' : 'FP64';
          const fields = bodyFieldsOf(c);
          const v1Body = { inputs: c.x, params: c.params, dtype: c.dtype, ...fields };
          const v1Forward = await postJson(app, `/v1/activations/${def.name}/forward`, v1Body);
          const v1Backward = await postJson(app, `/v1/activations/${def.name}/backward`, { ...v1Body, grad_outputs: gradOutputsOf(c) });
          expect(v1Forward.status).toBe(200);
          expect(v1Backward.status).toBe(200);
          const y = v1Forward.body.outputs.flat();
          const dx = v1Backward.body.grad_inputs.flat();
          const dy = gradOutputsOf(c);
          const x = flatten(c.x);
          const parameters = { ...c.params, ...fields };

          // Forward, JSON: the same JSON numbers as /v1.
          const jsonForward = await inferJson(app, def.name, {
            inputs: [{ name: 'input', shape: [rows, cols], datatype, data: c.x.flat() }],
            parameters,
          });
          expect(jsonForward.status).toBe(200);
          expect(jsonForward.headers['content-type']).toBe('application/json; charset=utf-8');
          expect(jsonForward.outputs.output).toEqual({ shape: v1Forward.body.shape, datatype, values: y, binary: false });

          // Forward, binary in and out.
          const binForward = await inferBinary(app, def.name, [{ name: 'input', shape: [rows, cols], datatype, values: x }, ...fieldTensors(c)], {
            parameters: c.params,
            outputs: [{ name: 'output', parameters: { binary_data: true } }],
          });
          expect(binForward.status).toBe(200);
          expect(binForward.outputs.output.shape).toEqual(v1Forward.body.shape);
          expect(binForward.outputs.output.datatype).toBe(datatype);
          sameBits(binForward.outputs.output.values, y, `${label} forward`);
          expectUlp(binForward.outputs.output.values, flatten(c.y), c, forwardBound, 'forward against golden');

          // Backward, JSON.
          const backwardModel = `${def.name}.backward`;
          const width = dy[0].length;
          const jsonBackward = await inferJson(app, backwardModel, {
            inputs: [
              { name: 'input', shape: [rows, cols], datatype, data: c.x.flat() },
              { name: 'grad_output', shape: [rows, width], datatype, data: dy.flat() },
            ],
            parameters,
          });
          expect(jsonBackward.status).toBe(200);
          expect(jsonBackward.outputs.grad_input.values).toEqual(dx);
          expect(jsonBackward.outputs.grad_input.shape).toEqual([rows, cols]);

          // Backward, binary in and out (no outputs listed: all of them, binary).
          const binBackward = await inferBinary(
            app,
            backwardModel,
            [
              { name: 'input', shape: [rows, cols], datatype, values: x },
              { name: 'grad_output', shape: [rows, width], datatype, values: flatten(dy) },
              ...fieldTensors(c),
            ],
            { parameters: { ...c.params, binary_data_output: true } },
          );
          expect(binBackward.status).toBe(200);
          sameBits(binBackward.outputs.grad_input.values, dx, `${label} backward`);
          expectUlp(binBackward.outputs.grad_input.values, flatten(c.dx), c, backwardBound, 'backward against golden');

          // Learnable parameters: grad_<name>, in the parameter's shape, in both forms.
          const gradParams = (v1Backward.body.grad_params ?? {}) as Record<string, unknown>;
          const gradOutputs = Object.keys(binBackward.outputs).filter((n) => n.startsWith('grad_') && n !== 'grad_input');
          expect(gradOutputs.sort()).toEqual(Object.keys(gradParams).map((p) => `grad_${p}`).sort());
          for (const [p, v1Grad] of Object.entries(gradParams)) {
            const want = flattenDeep(v1Grad);
            sameBits(binBackward.outputs[`grad_${p}`].values, want, `${label} grad_${p}`);
            expect(jsonBackward.outputs[`grad_${p}`].values).toEqual(flattenDeep(v1Grad).map((v) => (Number.isFinite(v) ? v : String(v))));
            expect(binBackward.outputs[`grad_${p}`].shape).toEqual(Array.isArray(v1Grad) ? shapeOf(v1Grad) : [1]);
            const golden = c.grad_params?.[p];
            if (golden !== undefined) expectUlp(binBackward.outputs[`grad_${p}`].values, Float64Array.from(flattenDeep(golden)), c, backwardBound, `grad_${p} against golden`);
          }
        });
      }
    }
  });
}

function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}
