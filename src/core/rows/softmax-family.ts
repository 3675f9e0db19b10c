/**
 * Row kernels of the softmax family (softmax(±x) for softmax and softmin,
 * log_softmax, softmax_cross_entropy), on the shared `SoftmaxRow` state.
 *
 * Every result is formed as a double-double (or mantissa·2^k) and rounded
 * once. A backward row is computed in two stages:
 *
 * 1. The fast pass, double-double arithmetic on the exps of `expSplit`
 *    (relative error 2^-74), with the terms that cancel rewritten:
 *    - softmax: dx = y ⊙ (dy − g), g = ⟨dy, y⟩. At the maximum dy_max − g =
 *      (dy_max·u − Σ_{j≠max} e_j dy_j)/S (no 1 − p_max to lose); elsewhere
 *      dy_i − g, exact up to the error of g, about 2^-74·Σ p_j|dy_j|.
 *    - log_softmax: dx = dy − p·Σdy; at the maximum dy_max − Σdy/S =
 *      (dy_max·u − Σ_{j≠max} dy_j)/S; Σdy in double-double.
 *    - softmax_cross_entropy: dx = (p − t)·dloss with p_max − t = (1 − t) − u/S.
 *    Each result is checked against the size of the terms it was formed from:
 *    where it cancels by more than ILL (so that the errors above could reach
 *    2^-58 of it), the row goes to stage 2.
 * 2. The exact pass: exps good to 2^-95 (`expSplitDD`), and every sum that
 *    cancels formed exactly, as a floating-point expansion (`ExactSum`), from
 *    exact products (Dekker), then rounded to double-double once it no longer
 *    cancels. A double-double is not enough there: in a row such as
 *    [0, …, 0, 1e-300], e_j = 1 − 1e-300 and sums of e_j·dy_j need both the
 *    first and the 1000th digit. The numerators are written so that only the
 *    exps carry error, and that error is multiplied by the differences that
 *    matter:
 *    - softmax: with D_j = dy_j − dy_max (exact, TwoSum),
 *      S·(dy_i − g) = Σ_j e_j (D_i − D_j) = D_i·S − H, H = Σ_{j≠max} e_j D_j,
 *      so dx_i = e_i·(D_i·S − H)/S², dx_max = −H/S²: a constant dy gives
 *      exactly 0, and e_j ≈ 1 − t keeps its t.
 *    - log_softmax: S·dx_i = dy_i·S − e_i·Σdy, S·dx_max = dy_max·u − Σ_{j≠max} dy_j.
 *    - softmax_cross_entropy: S·(p_i − t_i) = e_i − t_i·S, S·(p_max − t) = (1 − t) − t·u.
 *    dy is first scaled by a power of 2 (about 2^500 for its largest entry),
 *    so that no product of the expansions lands in the subnormals; the scale
 *    is undone in the final rounding (`scaleRound`).
 *
 * Rows whose dy (or dloss) is not finite, or whose careful result overflows,
 * use the plain double formula instead (IEEE semantics for ±Infinity and NaN).
 */
import { dd, addDD, divDD, fastTwoSum, mulDD, mulDD1, twoSum } from '../numeric/dd.js';
import { pow2, scaleRound } from '../numeric/exp.js';
import { SoftmaxRow, softmaxRow, unscale } from './softmax-row.js';

/**
 * A row goes to the exact pass when a result is below ILL times the terms it
 * cancelled from: the fast pass is good to about 2^-74 of those terms, so a
 * result above that bound is good to 2^-58 of itself (1/32 ULP).
 */
const ILL = 2 ** -16;
const UP = 2 ** 600;
const DOWN = 2 ** -600;

function fillNaN(out: Float64Array, o: number, n: number): void {
  for (let j = 0; j < n; j++) out[o + j] = NaN;
}

function rowFinite(a: Float64Array, o: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (!Number.isFinite(a[o + j])) return false;
  return true;
}

// ---------------------------------------------------------------- softmax(sign·x)

/** out = softmax(sign·x) per row. */
export function softmaxForward(x: Float64Array, rows: number, cols: number, sign: number, out: Float64Array): void {
  const st = softmaxRow(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (!st.load(x, o, cols, sign, false)) {
      fillNaN(out, o, cols);
      continue;
    }
    for (let j = 0; j < cols; j++) {
      const q = st.prob(j);
      out[o + j] = scaleRound(q, dd.lo, st.k);
    }
  }
}

/** dx = sign·J_softmax(sign·x)ᵀ dy per row. */
export function softmaxBackward(x: Float64Array, dy: Float64Array, rows: number, cols: number, sign: number, dx: Float64Array): void {
  const st = softmaxRow(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (!rowFinite(dy, o, cols) || !softmaxBackwardRow(st, x, dy, o, cols, sign, dx)) {
      softmaxBackwardPlain(x, dy, o, cols, sign, dx);
    }
  }
}

/** Returns false when the row needs the plain formula. */
function softmaxBackwardRow(st: SoftmaxRow, x: Float64Array, dy: Float64Array, o: number, cols: number, sign: number, dx: Float64Array): boolean {
  for (let pass = 0; pass < 2; pass++) {
    if (!st.load(x, o, cols, sign, pass === 1)) {
      fillNaN(dx, o, cols);
      return true;
    }
    const { eh, el, ek, jmax } = st;
    // G = Σ_{j≠max} e_j·dy_j and A = Σ_{j≠max} |e_j·dy_j|.
    // With u < 2^-900 every e_j (j ≠ max) is below 2^-900 too: sum G scaled by 2^600, so its low part survives.
    const scale = st.tiny ? 600 : 0;
    let Gh = 0;
    let Gl = 0;
    let A = 0;
    for (let j = 0; j < cols; j++) {
      if (j === jmax || eh[j] === 0) continue;
      const ph = mulDD1(eh[j], el[j], dy[o + j]);
      const th = unscale(ph, dd.lo, ek[j] + scale);
      const tl = dd.lo;
      A += Math.abs(th);
      Gh = twoSum(Gh, th);
      Gl += dd.lo + tl;
    }
    Gh = fastTwoSum(Gh, Gl);
    Gl = dd.lo;
    // Gs = G·2^scale; G itself (for g) and A unscaled.
    const Gsh = Gh;
    const Gsl = Gl;
    if (scale !== 0) {
      Gh *= DOWN;
      Gl *= DOWN;
      A *= DOWN;
    }
    const dyM = dy[o + jmax];
    const nh = addDD(dyM, 0, Gh, Gl);
    const gh = divDD(nh, dd.lo, st.Sh, st.Sl);
    const gl = dd.lo;
    const B = (Math.abs(dyM) + A) / st.Sh;
    let ill = false;
    for (let i = 0; i < cols; i++) {
      if (i === jmax) continue;
      const th = addDD(dy[o + i], 0, -gh, -gl);
      const tl = dd.lo;
      if (eh[i] !== 0 && Math.abs(th) < ILL * B) ill = true;
      const q = st.prob(i);
      const k = st.k;
      const v = mulDD(q, dd.lo, th, tl);
      dx[o + i] = sign * scaleRound(v, dd.lo, k);
    }
    // At the maximum: y_max·(dy_max − g) = (dy_max·u − G)/S².
    const S2h = mulDD(st.Sh, st.Sl, st.Sh, st.Sl);
    const S2l = dd.lo;
    if (st.tiny && Math.abs(Gsh) < 2 ** 600 && Math.abs(dyM) < 2 ** 600) {
      // u < 2^-900: work on U = u·2^600 and G·2^600, round once.
      const ah = mulDD1(st.Uh, st.Ul, dyM);
      const numh = addDD(ah, dd.lo, -Gsh, -Gsl);
      const v = divDD(numh, dd.lo, S2h, S2l);
      dx[o + jmax] = sign * scaleRound(v, dd.lo, -600);
    } else {
      const ah = mulDD1(st.uh, st.ul, dyM);
      const numh = addDD(ah, dd.lo, -Gh, -Gl);
      const numl = dd.lo;
      if (Math.abs(numh) < ILL * (Math.abs(dyM) * st.uh + A)) ill = true;
      dx[o + jmax] = sign * divDD(numh, numl, S2h, S2l);
    }
    if (ill && pass === 0) continue;
    return rowFinite(dx, o, cols);
  }
  return true;
}

function softmaxBackwardPlain(x: Float64Array, dy: Float64Array, o: number, cols: number, sign: number, dx: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, sign * x[o + j]);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(sign * x[o + j] - m);
  let g = 0;
  for (let j = 0; j < cols; j++) g += (Math.exp(sign * x[o + j] - m) / s) * dy[o + j];
  for (let j = 0; j < cols; j++) dx[o + j] = sign * (Math.exp(sign * x[o + j] - m) / s) * (dy[o + j] - g);
}

// ---------------------------------------------------------------- log_softmax

export function logSoftmaxForward(x: Float64Array, rows: number, cols: number, out: Float64Array): void {
  const st = softmaxRow(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (!st.load(x, o, cols, 1, false)) {
      fillNaN(out, o, cols);
      continue;
    }
    st.logSum();
    const { dh, dl, jmax } = st;
    for (let j = 0; j < cols; j++) {
      if (j === jmax) {
        out[o + j] = st.tiny ? scaleRound(-st.Uh, -st.Ul, -600) : -st.Lh;
      } else if (dh[j] === -Infinity) {
        out[o + j] = -Infinity;
      } else {
        out[o + j] = addDD(dh[j], dl[j], -st.Lh, -st.Ll);
      }
    }
  }
}

export function logSoftmaxBackward(x: Float64Array, dy: Float64Array, rows: number, cols: number, dx: Float64Array): void {
  const st = softmaxRow(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (!rowFinite(dy, o, cols) || !logSoftmaxBackwardRow(st, x, dy, o, cols, dx)) {
      logSoftmaxBackwardPlain(x, dy, o, cols, dx);
    }
  }
}

function logSoftmaxBackwardRow(st: SoftmaxRow, x: Float64Array, dy: Float64Array, o: number, cols: number, dx: Float64Array): boolean {
  for (let pass = 0; pass < 2; pass++) {
    if (!st.load(x, o, cols, 1, pass === 1)) {
      fillNaN(dx, o, cols);
      return true;
    }
    const jmax = st.jmax;
    // R = Σ_{j≠max} dy_j, T = dy_max + R.
    let Rh = 0;
    let Rl = 0;
    for (let j = 0; j < cols; j++) {
      if (j === jmax) continue;
      Rh = twoSum(Rh, dy[o + j]);
      Rl += dd.lo;
    }
    Rh = fastTwoSum(Rh, Rl);
    Rl = dd.lo;
    const dyM = dy[o + jmax];
    const Th = addDD(dyM, 0, Rh, Rl);
    const Tl = dd.lo;
    let ill = false;
    for (let i = 0; i < cols; i++) {
      if (i === jmax) continue;
      const q = st.prob(i);
      const k = st.k;
      const ph = mulDD(q, dd.lo, Th, Tl);
      const pl = dd.lo;
      const di = dy[o + i];
      const uh = unscale(ph, pl, k);
      const ul = dd.lo;
      if (Math.abs(di) < 2 ** -900 && Math.abs(uh) < 2 ** -900) {
        // Both terms tiny: the result may be subnormal; subtract at scale 2^600 and round once.
        const sh = unscale(ph, pl, k + 600);
        const v = addDD(di * UP, 0, -sh, -dd.lo);
        dx[o + i] = scaleRound(v, dd.lo, -600);
        continue;
      }
      const v = addDD(di, 0, -uh, -ul);
      if (Math.abs(v) < ILL * Math.abs(uh)) ill = true;
      dx[o + i] = v;
    }
    // At the maximum: dy_max − T/S = (dy_max·u − R)/S.
    if (st.tiny && Math.abs(Rh) < 2 ** -300 && Math.abs(dyM) < 2 ** 300) {
      const ah = mulDD1(st.Uh, st.Ul, dyM);
      const numh = addDD(ah, dd.lo, -Rh * UP, -Rl * UP);
      const v = divDD(numh, dd.lo, st.Sh, st.Sl);
      dx[o + jmax] = scaleRound(v, dd.lo, -600);
    } else {
      const ah = mulDD1(st.uh, st.ul, dyM);
      const numh = addDD(ah, dd.lo, -Rh, -Rl);
      const numl = dd.lo;
      if (Math.abs(numh) < ILL * Math.abs(dyM) * st.uh) ill = true;
      dx[o + jmax] = divDD(numh, numl, st.Sh, st.Sl);
    }
    if (ill && pass === 0) continue;
    return rowFinite(dx, o, cols);
  }
  return true;
}

function logSoftmaxBackwardPlain(x: Float64Array, dy: Float64Array, o: number, cols: number, dx: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x[o + j]);
  let s = 0;
  let t = 0;
  for (let j = 0; j < cols; j++) {
    s += Math.exp(x[o + j] - m);
    t += dy[o + j];
  }
  for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - (Math.exp(x[o + j] - m) / s) * t;
}

// ---------------------------------------------------------------- softmax_cross_entropy

/**
 * Targets of one row as a dense row `t` (class index → one-hot). `targets`
 * undefined means the uniform distribution (see softmax_cross_entropy).
 */
export type Targets = readonly number[] | readonly (readonly number[])[] | undefined;

function targetRow(targets: Targets, r: number, cols: number, t: Float64Array): void {
  if (targets === undefined) {
    t.fill(1 / cols, 0, cols);
    return;
  }
  const v = targets[r];
  if (typeof v === 'number') {
    t.fill(0, 0, cols);
    t[v] = 1;
  } else {
    for (let j = 0; j < cols; j++) t[j] = v[j];
  }
}

let tScratch = new Float64Array(0);
function targetScratch(cols: number): Float64Array {
  if (tScratch.length < cols) tScratch = new Float64Array(cols);
  return tScratch;
}

/** loss[r] = −Σ t_i·log_softmax(x)_i. */
export function sceForward(x: Float64Array, rows: number, cols: number, targets: Targets, out: Float64Array): void {
  const st = softmaxRow(cols);
  const t = targetScratch(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    targetRow(targets, r, cols, t);
    if (!st.load(x, o, cols, 1, false)) {
      out[r] = NaN;
      continue;
    }
    st.logSum();
    const { dh, dl, jmax } = st;
    // Σ_{i≠max} t_i·(L − d_i): every term ≥ 0 (d_i ≤ 0 ≤ L).
    let sh = 0;
    let sl = 0;
    for (let i = 0; i < cols; i++) {
      const ti = t[i];
      if (i === jmax || ti === 0) continue;
      if (dh[i] === -Infinity) {
        sh = Infinity;
        break;
      }
      const ah = addDD(st.Lh, st.Ll, -dh[i], -dl[i]);
      const ph = mulDD1(ah, dd.lo, ti);
      const pl = dd.lo;
      sh = twoSum(sh, ph);
      sl += dd.lo + pl;
    }
    if (sh === Infinity) {
      out[r] = Infinity;
      continue;
    }
    const tm = t[jmax];
    if (st.tiny && sh === 0) {
      // Only the maximum is weighted and L = u < 2^-900: round t·U·2^-600 once.
      const v = mulDD1(st.Uh, st.Ul, tm);
      out[r] = scaleRound(v, dd.lo, -600);
      continue;
    }
    const mh = mulDD1(st.Lh, st.Ll, tm);
    const ml = dd.lo;
    sh = fastTwoSum(sh, sl);
    out[r] = addDD(sh, dd.lo, mh, ml);
  }
}

/**
 * dx = (softmax(x) − t)·dloss; dloss[r] = gradLoss[r] when given, else dy[r]
 * (dy is [rows][1]).
 */
export function sceBackward(
  x: Float64Array,
  dy: Float64Array,
  gradLoss: readonly number[] | undefined,
  rows: number,
  cols: number,
  targets: Targets,
  dx: Float64Array,
): void {
  const st = softmaxRow(cols);
  const t = targetScratch(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    targetRow(targets, r, cols, t);
    const dloss = gradLoss ? gradLoss[r] : dy[r];
    if (!Number.isFinite(dloss) || !sceBackwardRow(st, x, dloss, t, o, cols, dx)) {
      sceBackwardPlain(x, dloss, t, o, cols, dx);
    }
  }
}

function sceBackwardRow(st: SoftmaxRow, x: Float64Array, dloss: number, t: Float64Array, o: number, cols: number, dx: Float64Array): boolean {
  for (let pass = 0; pass < 2; pass++) {
    if (!st.load(x, o, cols, 1, pass === 1)) {
      fillNaN(dx, o, cols);
      return true;
    }
    const jmax = st.jmax;
    let ill = false;
    for (let i = 0; i < cols; i++) {
      const ti = t[i];
      if (i === jmax) {
        if (st.tiny && ti === 1) {
          // p_max − 1 = −u/S with u < 2^-900 (S = 1 to 2^-900).
          const v = mulDD1(st.Uh, st.Ul, -dloss);
          dx[o + i] = scaleRound(v, dd.lo, -600);
          continue;
        }
        // p_max − t = (1 − t) − u/S.
        const vh = st.oneMinusPmax();
        const vl = dd.lo;
        const ah = twoSum(1, -ti);
        const wh = addDD(ah, dd.lo, -vh, -vl);
        const wl = dd.lo;
        if (Math.abs(wh) < ILL * vh) ill = true;
        dx[o + i] = mulDD1(wh, wl, dloss);
        continue;
      }
      const q = st.prob(i);
      const ql = dd.lo;
      const k = st.k;
      if (ti === 0) {
        dx[o + i] = scaleRound(mulDD1(q, ql, dloss), dd.lo, k);
        continue;
      }
      const ph = unscale(q, ql, k);
      const wh = addDD(ph, dd.lo, -ti, 0);
      const wl = dd.lo;
      if (Math.abs(wh) < ILL * ph) ill = true;
      dx[o + i] = mulDD1(wh, wl, dloss);
    }
    if (ill && pass === 0) continue;
    return rowFinite(dx, o, cols);
  }
  return true;
}

function sceBackwardPlain(x: Float64Array, dloss: number, t: Float64Array, o: number, cols: number, dx: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x[o + j]);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
  for (let j = 0; j < cols; j++) dx[o + j] = (Math.exp(x[o + j] - m) / s - t[j]) * dloss;
}
