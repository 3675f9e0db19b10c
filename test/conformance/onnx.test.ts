/**
 * The ONNX project's own backend test vectors for its activation operators
 * (test/fixtures/onnx, see its README): every case, mapped onto the catalog
 * as the table at the end of ACTIVATIONS.md says, within ONNX's tolerance
 * |actual − expected| ≤ atol + rtol·|expected|. N-D tensors: the op's axis
 * becomes the row. float16/bfloat16 cases: the result is rounded to that
 * dtype before comparing. No case is skipped.
 */
import { readFileSync } from 'node:fs';
import { f16round } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';

interface Tensor {
  name: string;
  dtype: 'float32' | 'float16' | 'bfloat16';
  shape: number[];
  data: (number | string)[];
}
interface OnnxCase {
  op: string;
  attributes: Record<string, number | string>;
  inputs: Tensor[];
  outputs: Tensor[];
}
interface Index {
  tolerance: { rtol: number; atol: number };
  count: number;
  cases: { case: string; file: string }[];
}

const dir = new URL('../fixtures/onnx/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8')) as Index;
const load = (file: string) => JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as OnnxCase;
const values = (t: Tensor) => Float64Array.from(t.data, Number);

/** bfloat16 is the top half of a float32: round the float32 to nearest, ties to even, on bit 16. */
function bfloat16Round(x: number): number {
  const f = new Float32Array([x]);
  const bits = new Uint32Array(f.buffer);
  if (Number.isNaN(x)) return x;
  const lsb = (bits[0] >>> 16) & 1;
  bits[0] = ((bits[0] + 0x7fff + lsb) >>> 16) << 16;
  return f[0];
}

const roundTo = { float32: Math.fround, float16: f16round, bfloat16: bfloat16Round } as const;

/** A tensor as rows along `axis` (negative counts from the end), and the way back. */
function alongAxis(data: Float64Array, shape: number[], axisAttr: number) {
  const axis = axisAttr < 0 ? shape.length + axisAttr : axisAttr;
  const cols = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const rows = outer * inner;
  const index = (r: number, c: number) => Math.floor(r / inner) * cols * inner + c * inner + (r % inner);
  const x = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) x[r * cols + c] = data[index(r, c)];
  const back = (out: Float64Array) => {
    const y = new Float64Array(data.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) y[index(r, c)] = out[r * cols + c];
    return y;
  };
  return { x, rows, cols, back };
}

interface Mapped {
  activation: string;
  params: Record<string, unknown>;
  x: Float64Array;
  rows: number;
  cols: number;
  back?: (out: Float64Array) => Float64Array;
}

/** The mapping of ACTIVATIONS.md ("The same functions elsewhere"). */
function mapCase(c: OnnxCase): Mapped {
  const a = c.attributes;
  const x = values(c.inputs[0]);
  const flat = (activation: string, params: Record<string, unknown> = {}): Mapped => ({ activation, params, x, rows: 1, cols: x.length });
  const rowOp = (activation: string): Mapped => ({ activation, params: {}, ...alongAxis(x, c.inputs[0].shape, Number(a.axis)) });
  switch (c.op) {
    case 'Celu':
      return flat('celu', { alpha: a.alpha });
    case 'Elu':
      return flat('elu', { alpha: a.alpha });
    case 'Gelu':
      return flat('gelu', { approximate: a.approximate });
    case 'HardSigmoid':
      return flat('hardsigmoid', { alpha: a.alpha, beta: a.beta });
    case 'HardSwish':
      return flat('hardswish');
    case 'LeakyRelu':
      return flat('leaky_relu', { negative_slope: a.alpha });
    case 'Mish':
      return flat('mish');
    case 'Relu':
      return flat('relu');
    case 'Selu':
      return flat('selu', { alpha: a.alpha, scale: a.gamma });
    case 'Sigmoid':
      return flat('sigmoid');
    case 'Softplus':
      return flat('softplus');
    case 'Softsign':
      return flat('softsign');
    case 'Tanh':
      return flat('tanh');
    case 'Swish':
      return flat('swish', { beta: a.alpha });
    case 'ThresholdedRelu':
      return flat('threshold', { threshold: a.alpha, value: 0 });
    case 'Shrink':
      if (a.bias === 0) return flat('hardshrink', { lambd: a.lambd });
      if (a.bias === a.lambd) return flat('softshrink', { lambd: a.lambd });
      throw new Error(`Shrink with bias ${a.bias} and lambd ${a.lambd} has no catalog equivalent`);
    case 'Softmax':
      return rowOp('softmax');
    case 'LogSoftmax':
      return rowOp('log_softmax');
    case 'Hardmax':
      return rowOp('hardmax');
    case 'PRelu': {
      // The last dimension is the column; a slope of that length is per column, a full slope per element.
      const shape = c.inputs[0].shape;
      const cols = shape[shape.length - 1];
      const rows = x.length / cols;
      const slope = Array.from(values(c.inputs[1]));
      const alpha =
        slope.length === 1 ? slope[0] : slope.length === cols ? slope : Array.from({ length: rows }, (_, r) => slope.slice(r * cols, (r + 1) * cols));
      return { activation: 'prelu', params: { alpha }, x, rows, cols };
    }
    case 'SwiGLU': {
      // Y = A·σ(αA)·B; the catalog's row is [B | A] with the second half activated.
      const gate = x;
      const other = values(c.inputs[1]);
      const pairs = new Float64Array(gate.length * 2);
      for (let i = 0; i < gate.length; i++) {
        pairs[2 * i] = other[i];
        pairs[2 * i + 1] = gate[i];
      }
      return { activation: 'glu', params: { activation: 'swish', beta: a.alpha }, x: pairs, rows: gate.length, cols: 2 };
    }
    default:
      throw new Error(`no mapping for ONNX op ${c.op}`);
  }
}

describe('ONNX backend node tests', () => {
  it('the fixture set is complete', () => {
    expect(index.cases.length).toBe(index.count);
    expect(index.count).toBe(62);
  });

  const { rtol, atol } = index.tolerance;
  for (const entry of index.cases) {
    it(entry.case, () => {
      const c = load(entry.file);
      const mapped = mapCase(c);
      const def = getActivation(mapped.activation);
      expect(def, `activation ${mapped.activation}`).toBeDefined();
      const params = def!.params.parse(mapped.params);
      const { out } = runForward(def!, { x: mapped.x, rows: mapped.rows, cols: mapped.cols, params, dtype: 'float32' });
      const result = mapped.back ? mapped.back(out) : out;
      const expected = c.outputs[0];
      expect(result.length).toBe(expected.data.length);
      const round = roundTo[expected.dtype];
      let failures = 0;
      let first = '';
      expected.data.forEach((e, i) => {
        const want = Number(e);
        const got = round(result[i]);
        const ok = Number.isNaN(want) ? Number.isNaN(got) : Math.abs(got - want) <= atol + rtol * Math.abs(want);
        if (!ok && failures++ === 0) first = `element ${i}: got ${got}, want ${want}`;
      });
      expect(failures, first).toBe(0);
    });
  }
});
