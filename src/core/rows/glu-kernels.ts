/**
 * Batch loops of `glu`, one per gate so each loop calls one gate function
 * (monomorphic). A row is [a | b] with half = ⌊cols/2⌋ (the route rejects odd
 * widths; a direct caller's last column is ignored and gets dx = 0).
 *
 * y = a·act(b), da = dy·act(b), db = dy·a·act′(b): act and act′ come as
 * double-double mantissa·2^k (gates.ts) and each product is rounded once.
 */
import { dd, mulDD, mulDD1, twoProd } from '../numeric/dd.js';
import { extremeExponent, mulPow2, scaleRound } from '../numeric/exp.js';
import { gate, geluGate, sigmoidGate, swishGate } from './gates.js';

export type GluGate = 'sigmoid' | 'swish' | 'gelu' | 'relu';

/**
 * The double nearest v + lo when that sum is exactly halfway between two
 * doubles: the side given by `residual`, the sign of what v + lo leaves out
 * (gate.l·c when gate.l ≠ 0 was absorbed, or the gate's sticky sign when its
 * tail underflowed, as in gelu(40)·dy where Φ(40) = 1 − 3.6e-350); v itself
 * otherwise.
 */
function breakTie(v: number, lo: number, residual: number): number {
  const w = v + 2 * lo;
  if (lo === 0 || residual === 0 || w === v || w - v !== 2 * lo) return v;
  return residual > 0 === lo > 0 ? w : v;
}

/** The power of two `nearOne` took out of its arguments since the caller reset it. */
let shift = 0;

/**
 * v, or for |v| beyond 2^±400 v scaled exactly by a power of two to [1, 2)
 * (the exponent added to `shift`): Dekker's products of such factors neither
 * overflow (a huge a or dy) nor lose their low parts to the subnormals (a
 * tiny one), and the power of two goes into the final `scaleRound`.
 */
function nearOne(v: number): number {
  const e = extremeExponent(v);
  if (e === 0) return v;
  shift += e;
  return mulPow2(v, -e);
}

/** c·act(b), rounded once; plain arithmetic when c is not finite. */
function timesAct(c: number): number {
  shift = 0;
  const cm = nearOne(c);
  let v = mulDD1(gate.h, gate.l, cm);
  let lo = dd.lo;
  const residual = (gate.l !== 0 ? gate.l : gate.s) * cm;
  if (residual !== 0) {
    const t = breakTie(v, lo, residual);
    if (t !== v) {
      v = t;
      lo = 0;
    }
  }
  const r = scaleRound(v, lo, gate.k + shift);
  return r === r ? r : c * scaleRound(gate.h, gate.l, gate.k);
}

/** dy·a·act′(b), rounded once. */
function timesDerivative(g: number, a: number): number {
  shift = 0;
  const ph = twoProd(nearOne(g), nearOne(a));
  const pl = dd.lo;
  let v = mulDD(ph, pl, gate.dh, gate.dl);
  let lo = dd.lo;
  const residual = (gate.dl !== 0 ? gate.dl : gate.ds) * ph;
  if (residual !== 0) {
    const t = breakTie(v, lo, residual);
    if (t !== v) {
      v = t;
      lo = 0;
    }
  }
  const r = scaleRound(v, lo, gate.dk + shift);
  return r === r ? r : g * a * scaleRound(gate.dh, gate.dl, gate.dk);
}

export function gluForward(kind: GluGate, beta: number, x: Float64Array, rows: number, cols: number, out: Float64Array): void {
  const half = Math.floor(cols / 2);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const oo = r * half;
    switch (kind) {
      case 'sigmoid':
        for (let j = 0; j < half; j++) {
          sigmoidGate(x[o + half + j], false);
          out[oo + j] = timesAct(x[o + j]);
        }
        break;
      case 'swish':
        for (let j = 0; j < half; j++) {
          swishGate(x[o + half + j], beta, false);
          out[oo + j] = timesAct(x[o + j]);
        }
        break;
      case 'gelu':
        for (let j = 0; j < half; j++) {
          geluGate(x[o + half + j], false);
          out[oo + j] = timesAct(x[o + j]);
        }
        break;
      case 'relu':
        for (let j = 0; j < half; j++) out[oo + j] = x[o + j] * Math.max(0, x[o + half + j]);
        break;
    }
  }
}

export function gluBackward(
  kind: GluGate,
  beta: number,
  x: Float64Array,
  dy: Float64Array,
  rows: number,
  cols: number,
  dx: Float64Array,
): void {
  const half = Math.floor(cols / 2);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const oo = r * half;
    switch (kind) {
      case 'sigmoid':
        for (let j = 0; j < half; j++) {
          const g = dy[oo + j];
          sigmoidGate(x[o + half + j], true);
          dx[o + j] = timesAct(g);
          dx[o + half + j] = timesDerivative(g, x[o + j]);
        }
        break;
      case 'swish':
        for (let j = 0; j < half; j++) {
          const g = dy[oo + j];
          swishGate(x[o + half + j], beta, true);
          dx[o + j] = timesAct(g);
          dx[o + half + j] = timesDerivative(g, x[o + j]);
        }
        break;
      case 'gelu':
        for (let j = 0; j < half; j++) {
          const g = dy[oo + j];
          geluGate(x[o + half + j], true);
          dx[o + j] = timesAct(g);
          dx[o + half + j] = timesDerivative(g, x[o + j]);
        }
        break;
      case 'relu':
        for (let j = 0; j < half; j++) {
          const g = dy[oo + j];
          const b = x[o + half + j];
          dx[o + j] = g * Math.max(0, b);
          // relu′(0) = 0; a NaN gate gives a NaN gradient.
          dx[o + half + j] = b > 0 ? g * x[o + j] : b === b ? 0 : NaN;
        }
        break;
    }
    for (let j = 2 * half; j < cols; j++) dx[o + j] = 0;
  }
}
