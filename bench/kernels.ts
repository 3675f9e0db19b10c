/**
 * npm run bench:kernels — single-thread kernel throughput for every activation,
 * forward and backward, float64 and float32, on 2^20 elements (rows of 1024).
 * In the same run: the memory-bound baseline (Float64Array.set copy of the
 * same data) and the same op in @tensorflow/tfjs (cpu backend) where it has one.
 * Prints elements/s and ratios to both. Not a test: numbers, not assertions.
 *
 *   BENCH_FILTER=gelu npm run bench:kernels     only names containing "gelu"
 *   BENCH_MS=300                               time per measurement (default 400)
 */
import * as tf from '@tensorflow/tfjs';
import { activations } from '../src/core/activations/index.js';
import type { ActivationDefinition } from '../src/core/activation.js';
import { outputCols, runBackward, runForward, type Dtype } from '../src/core/batch.js';

const COLS = 1024;
const ROWS = 1024;
const N = ROWS * COLS;
const MS = Number(process.env.BENCH_MS ?? 400);
const FILTER = process.env.BENCH_FILTER ?? '';

/** Runs `fn` repeatedly for about MS milliseconds after a warm-up; returns seconds per call (median of batches). */
function measure(fn: () => void): number {
  for (let i = 0; i < 3; i++) fn();
  const samples: number[] = [];
  const end = performance.now() + MS;
  while (performance.now() < end || samples.length < 5) {
    const t = performance.now();
    fn();
    samples.push((performance.now() - t) / 1000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/**
 * Runs `a` and `b` in turns for about MS milliseconds after a warm-up; returns the median seconds per call of
 * each. Interleaved, so that both see the same host speed (it drifts by 2× within minutes here).
 */
function measurePair(a: () => void, b: () => void): [number, number] {
  for (let i = 0; i < 3; i++) {
    a();
    b();
  }
  const as: number[] = [];
  const bs: number[] = [];
  const end = performance.now() + MS;
  while (performance.now() < end || as.length < 5) {
    let t = performance.now();
    a();
    as.push((performance.now() - t) / 1000);
    t = performance.now();
    b();
    bs.push((performance.now() - t) / 1000);
  }
  const median = (v: number[]) => v.sort((x, y) => x - y)[v.length >> 1];
  return [median(as), median(bs)];
}

/** A deterministic pseudo-random number in [-1, 1) for index i (the fractional part of a scaled sine). */
const noise = (i: number, seed: number) => {
  const v = Math.sin(i * 12.9898 + seed * 78.233) * 43758.5453;
  return (v - Math.floor(v)) * 2 - 1;
};
// Inputs in [-8, 8) with random signs, the realistic case for branchy kernels. (Until 2026-11-23 this was
// sin(12.9898·i)·8, whose sign flips every 7 or so elements: a pattern branch predictors learn, which made
// branchy kernels look up to 5× faster than on random data.)
const source = Float64Array.from({ length: N }, (_, i) => noise(i, 0) * 8);
const upstream = Float64Array.from({ length: N }, (_, i) => noise(i, 1));

const copyTarget = new Float64Array(N);

type TfOp = (x: tf.Tensor2D) => tf.Tensor;
/** The same op in tfjs, where tfjs has it (default parameters). */
const tfOps: Record<string, TfOp> = {
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  leaky_relu: (x) => tf.leakyRelu(x, 0.01),
  prelu: (x) => tf.prelu(x, tf.fill([1, COLS], 0.1) as tf.Tensor2D),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  softplus: (x) => tf.softplus(x),
  logsigmoid: (x) => tf.logSigmoid(x),
  step: (x) => tf.step(x),
  softmax: (x) => tf.softmax(x),
  log_softmax: (x) => tf.logSoftmax(x),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  identity: (x) => tf.clone(x),
  hardtanh: (x) => tf.clipByValue(x, -1, 1),
  softsign: (x) => tf.div(x, tf.add(1, tf.abs(x))),
  tanhshrink: (x) => tf.sub(x, tf.tanh(x)),
  mish: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
  gelu: (x) => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
};

interface Row {
  name: string;
  pass: 'forward' | 'backward';
  dtype: Dtype;
  rate: number;
  /** The copy baseline, measured in turns with this row's kernel (the machine's speed drifts over a run). */
  copyRate: number;
  /** The copy run back to back on its own, cache-resident (before this activation). */
  backToBackRate: number;
  tfRate?: number;
}

/** Piecewise-linear forwards, held to at least 0.15× the copy baseline (deterministic ones; rrelu and noisy_relu draw random numbers). */
const PIECEWISE_LINEAR = new Set(['relu', 'leaky_relu', 'prelu', 'relu6', 'hardtanh', 'hardshrink', 'softshrink', 'threshold', 'step', 'identity', 'maxout', 'hardsigmoid']);

function paramsFor(def: ActivationDefinition): unknown {
  const params = def.params.parse(def.example.params ?? {}) as Record<string, unknown>;
  if (def.name === 'softmax_cross_entropy') params.targets = Array.from({ length: ROWS }, (_, r) => r % COLS);
  return params;
}

await tf.setBackend('cpu');
const rows: Row[] = [];
for (const def of activations.filter((a) => a.name.includes(FILTER))) {
  const params = paramsFor(def);
  const width = outputCols(def, COLS, params);
  const tfOp = tfOps[def.name];
  const xTensor = tf.tensor2d(Float32Array.from(source), [ROWS, COLS]);
  const dyTensor = tf.tensor2d(Float32Array.from(upstream), [ROWS, COLS]);
  // Buffers allocated once: the figures are the kernels' (and the float32 rounding's), not the allocator's
  // page faults; each call refills its inputs by a copy (the inputs may be rounded in place), subtracted below.
  const xBuf = new Float64Array(N);
  const dyBuf = new Float64Array(ROWS * width);
  const outBuf = new Float64Array(ROWS * width);
  const dxBuf = new Float64Array(N);
  const dy = upstream.subarray(0, ROWS * width);
  const copy = () => copyTarget.set(source);
  // Also the copy alone, back to back: its 16 MB then stay in this host's 32 MiB L3, so it runs about 3× the
  // speed of a copy taken in turns with a kernel (whose buffers evict it), the baseline the ratios use.
  const backToBackRate = N / measure(copy);
  for (const dtype of ['float64', 'float32'] as const) {
    const [copyForward, forward] = measurePair(copy, () => {
      xBuf.set(source);
      runForward(def, { x: xBuf, rows: ROWS, cols: COLS, params, dtype, out: outBuf });
    });
    const fwdSeconds = Math.max(forward - copyForward, 1e-9);
    const [copyBackward, backward] = measurePair(copy, () => {
      xBuf.set(source);
      dyBuf.set(dy);
      runBackward(def, { x: xBuf, dy: dyBuf, rows: ROWS, cols: COLS, params, dtype, dx: dxBuf });
    });
    const bwdSeconds = Math.max(backward - copyBackward * (1 + width / COLS), 1e-9);
    let tfForward: number | undefined;
    let tfBackward: number | undefined;
    if (tfOp && dtype === 'float32') {
      tfForward = N / measure(() => tf.tidy(() => tfOp(xTensor).dataSync()));
      const grad = tf.grad((x: tf.Tensor) => tfOp(x as tf.Tensor2D));
      tfBackward = N / measure(() => tf.tidy(() => grad(xTensor, dyTensor).dataSync()));
    }
    rows.push({ name: def.name, pass: 'forward', dtype, rate: N / fwdSeconds, copyRate: N / copyForward, backToBackRate, tfRate: tfForward });
    rows.push({ name: def.name, pass: 'backward', dtype, rate: N / bwdSeconds, copyRate: N / copyBackward, backToBackRate, tfRate: tfBackward });
  }
  xTensor.dispose();
  dyTensor.dispose();
}

const fmt = (v: number) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)}G` : `${(v / 1e6).toFixed(1)}M`);
const ratio = (a: number, b?: number) => (b ? `${(a / b).toFixed(2)}×` : '–');
console.log(`node ${process.version}, ${N} elements (${ROWS}×${COLS}), ${MS} ms per measurement`);
const copies = rows.map((r) => r.copyRate).sort((a, b) => a - b);
const hot = rows.map((r) => r.backToBackRate).sort((a, b) => a - b);
console.log(
  `baseline Float64Array.set copy, measured in turns with each kernel: median ${fmt(copies[copies.length >> 1])} elements/s ` +
    `(${fmt(copies[0])} to ${fmt(copies[copies.length - 1])}); the same copy back to back, cache-resident: median ` +
    `${fmt(hot[hot.length >> 1])} (${fmt(hot[0])} to ${fmt(hot[hot.length - 1])})\n`,
);
console.log('| activation | pass | dtype | elements/s | vs copy | vs back-to-back copy | tfjs-cpu elements/s | vs tfjs |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.pass} | ${r.dtype} | ${fmt(r.rate)} | ${ratio(r.rate, r.copyRate)} | ${ratio(r.rate, r.backToBackRate)} | ${r.tfRate ? fmt(r.tfRate) : '–'} | ${ratio(r.rate, r.tfRate)} |`,
  );
}
const slower = rows.filter((r) => r.tfRate && r.rate < r.tfRate);
console.log(`\nslower than tfjs: ${slower.length ? slower.map((r) => `${r.name} ${r.pass} ${r.dtype}`).join(', ') : 'none'}`);
const piecewise = rows.filter((r) => r.pass === 'forward' && r.dtype === 'float64' && PIECEWISE_LINEAR.has(r.name));
const below = (base: (r: Row) => number) => {
  const slow = piecewise.filter((r) => r.rate < 0.15 * base(r));
  return slow.length ? slow.map((r) => `${r.name} ${ratio(r.rate, base(r))}`).join(', ') : 'none';
};
console.log(`piecewise-linear float64 forwards below 0.15× copy: ${below((r) => r.copyRate)}`);
console.log(`  and below 0.15× the back-to-back copy: ${below((r) => r.backToBackRate)}`);
