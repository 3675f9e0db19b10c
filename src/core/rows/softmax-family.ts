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
 * Rows whose dy (or dloss) is not finite, or whose careful result is NaN,
 * use the plain double formula instead (IEEE semantics for ±Infinity and NaN).
 * A result that overflows in the fast pass is redone by the exact pass, whose
 * ±Infinity stands (the true result overflows); dy from 2^990 up skips the
 * fast pass (its Dekker products would overflow) and is scaled below 2^989.
 */
import { dd, addDD, divDD, fastTwoSum, mulDD, mulDD1, twoProd, twoSum } from '../numeric/dd.js';
import { exponentNear, mulPow2, pow2, scaleRound } from '../numeric/exp.js';
import { SoftmaxRow, softmaxRow, unscale } from './softmax-row.js';

/**
 * A row goes to the exact pass when a result is below ILL times the terms it
 * cancelled from: the fast pass is good to about 2^-74 of those terms, so a
 * result above that bound is good to 2^-58 of itself (1/32 ULP).
 */
const ILL = 2 ** -16;
/**
 * Below this a double-double's low part is subnormal and loses bits: such a
 * result (a tiny dy, say 1e-300) goes to the exact pass, which scales.
 */
const LOW = 2 ** -968;
const MIN_NORMAL = 2 ** -1022;
const UP = 2 ** 600;
const DOWN = 2 ** -600;
/**
 * An upstream gradient from here up is beyond the fast passes' Dekker
 * products (their split overflows from 2^996): such rows go to the exact
 * pass, which scales them down to below 2^989.
 */
const HUGE = 2 ** 990;
/** Below this U = u·2^600 (SoftmaxRow) has lost low bits to the subnormals; the fast passes leave such a u to the exact ones. */
const U_FLOOR = 2 ** -900;

function fillNaN(out: Float64Array, o: number, n: number): void {
  for (let j = 0; j < n; j++) out[o + j] = NaN;
}

function rowFinite(a: Float64Array, o: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (!Number.isFinite(a[o + j])) return false;
  return true;
}

/**
 * The exact passes' results may be ±Infinity where the true result overflows
 * (dy near the largest double): only their final scaling can overflow. A NaN
 * still sends the row to the plain formula.
 */
function rowNoNaN(a: Float64Array, o: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (a[o + j] !== a[o + j]) return false;
  return true;
}

// ---------------------------------------------------------------- exact sums

/**
 * An exact sum of doubles, kept as a nonoverlapping expansion (Shewchuk 1997,
 * "Adaptive precision floating-point arithmetic"): components in increasing
 * magnitude whose sum is the exact total. Adding a double is Grow-Expansion
 * (a TwoSum per component, zeros dropped); Compress keeps it short. Exact as
 * long as nothing overflows; the callers keep every term a normal number (or
 * so small that its rounding cannot matter).
 */
class ExactSum {
  c = new Float64Array(32);
  n = 0;
  private compressAt = 16;

  reset(): void {
    this.n = 0;
  }

  /** this = −other. */
  setNeg(other: ExactSum): void {
    if (this.c.length < other.c.length) this.c = new Float64Array(other.c.length);
    for (let i = 0; i < other.n; i++) this.c[i] = -other.c[i];
    this.n = other.n;
  }

  add(b: number): void {
    if (b === 0) return;
    if (this.n + 1 >= this.c.length) {
      const g = new Float64Array(2 * this.c.length);
      g.set(this.c);
      this.c = g;
    }
    const c = this.c;
    let q = b;
    let m = 0;
    for (let i = 0; i < this.n; i++) {
      const e = c[i];
      const s = q + e;
      const bb = s - q;
      const h = q - (s - bb) + (e - bb);
      q = s;
      if (h !== 0) c[m++] = h;
    }
    if (q !== 0) c[m++] = q;
    this.n = m;
    if (m >= this.compressAt) {
      this.compress();
      this.compressAt = Math.max(16, 2 * this.n);
    }
  }

  /** a·b exactly (Dekker; a·b must not underflow for exactness). */
  addProd(a: number, b: number): void {
    const p = twoProd(a, b);
    const l = dd.lo;
    this.add(p);
    this.add(l);
  }

  /** a·b·2^k: exact while the parts stay normal; below that only an absolute 2^-1075 is lost. */
  addProdScaled(a: number, b: number, k: number): void {
    const p = twoProd(a, b);
    const l = dd.lo;
    if (k >= -1022) {
      const s = pow2(k);
      this.add(p * s);
      this.add(l * s);
    } else {
      this.add(unscale(p, l, k));
      this.add(dd.lo);
    }
  }

  /** Shewchuk's Compress (in place): same sum, fewest components. */
  private compress(): void {
    const e = this.c;
    const n = this.n;
    if (n < 2) return;
    let bottom = n - 1;
    let Q = e[bottom];
    for (let i = n - 2; i >= 0; i--) {
      const enow = e[i];
      const Qn = Q + enow;
      const q = enow - (Qn - Q);
      if (q !== 0) {
        e[bottom--] = Qn;
        Q = q;
      } else {
        Q = Qn;
      }
    }
    let top = 0;
    for (let i = bottom + 1; i < n; i++) {
      const hnow = e[i];
      const Qn = hnow + Q;
      const q = Q - (Qn - hnow);
      if (q !== 0) e[top++] = q;
      Q = Qn;
    }
    e[top++] = Q;
    this.n = top;
  }

  /** The sum as a double-double hi + dd.lo (relative error about 2^-104: the components do not cancel). */
  toDD(): number {
    const c = this.c;
    let h = 0;
    let l = 0;
    for (let i = 0; i < this.n; i++) {
      const e = c[i];
      const s = h + e;
      const bb = s - h;
      l += h - (s - bb) + (e - bb);
      h = s;
    }
    return fastTwoSum(h, l);
  }
}

const sumU = new ExactSum();
const sumH = new ExactSum();
const sumN = new ExactSum();

/**
 * e_j for the exact pass, relative to a nearby reference entry r:
 * e_j = e_r·(1 + m_j), e_r = (RH + RL)·2^RK, with δ = d_j − d_r = h + l
 * (a double-double) and m_j = expm1(δ) = expm1(h) + l·e^h: expm1(h) as a
 * double-double (M1 + M2), l·e^h as l + l·(h + h²/2) (M3 + M4). Sorted by d,
 * the entries fall into clusters less than 2^-30 wide, each with its largest
 * entry as reference (the maximum, e = 1, for the top one); m_j then needs
 * only a short series and is good to 2^-104 of itself. Entries whose logits
 * differ by tiny amounts (the row [0, …, 0, t], or [5, 0, t]) thus keep their
 * differences exactly: the exps alone, good to 2^-95 of e_j, would keep only
 * 2^-95/|d_j − d_k| of e_j − e_k. The low part's term is kept apart because
 * entries may differ in it alone, by less than a double-double of m_j holds:
 * x = [4.6e-13, −2.8e-45, 0, 0] gives d_1 and d_2 the same high part, and
 * folding −2.8e-45 into M2 (about 2.5e-29 there) lost it, so that
 * e_1 − e_2 came out 0. Sums of e_j times doubles are then exact (`addE`);
 * u = Σ_{j≠max} e_j goes to sumU.
 */
let REF = new Int32Array(0);
let ORDER = new Int32Array(0);
let M1 = new Float64Array(0);
let M2 = new Float64Array(0);
let M3 = new Float64Array(0);
let M4 = new Float64Array(0);
let RH = new Float64Array(0);
let RL = new Float64Array(0);
let RK = new Int32Array(0);
const CLUSTER = 2 ** -30;

function exactE(st: SoftmaxRow, cols: number): void {
  if (REF.length < cols) {
    REF = new Int32Array(cols);
    ORDER = new Int32Array(cols);
    M1 = new Float64Array(cols);
    M2 = new Float64Array(cols);
    M3 = new Float64Array(cols);
    M4 = new Float64Array(cols);
    RH = new Float64Array(cols);
    RL = new Float64Array(cols);
    RK = new Int32Array(cols);
  }
  const { dh, dl, eh, el, ek, jmax } = st;
  let n = 0;
  ORDER[n++] = jmax;
  for (let j = 0; j < cols; j++) {
    REF[j] = -1;
    if (j !== jmax && eh[j] !== 0) ORDER[n++] = j;
  }
  // Largest d first; the maximum (d = 0) heads the list.
  ORDER.subarray(1, n).sort((a, b) => dh[b] - dh[a] || dl[b] - dl[a]);
  let r = -1;
  for (let q = 0; q < n; q++) {
    const j = ORDER[q];
    if (r >= 0 && dh[r] - dh[j] < CLUSTER) {
      // δ = d_j − d_r: dh_j − dh_r is exact (Sterbenz: both in the same binade or r is the maximum).
      const a = dh[j] - dh[r];
      const s1 = twoSum(a, dl[j]);
      const e1 = dd.lo;
      const s2 = twoSum(s1, -dl[r]);
      const e2 = dd.lo;
      const h0 = fastTwoSum(s2, e1 + e2);
      const l0 = dd.lo;
      // expm1(h0) = h0 + h0²/2 + h0³/6 + h0⁴/24 (the next term is below 2^-120·|h0|); l0·e^h0 = l0 + l0·(h0 + h0²/2)
      // (the next term is below 2^-90·|l0|).
      const p = twoProd(h0, h0);
      const pl = dd.lo;
      const h = fastTwoSum(h0, 0.5 * p);
      const l = dd.lo + (0.5 * pl + h0 * p * (1 / 6) + p * p * (1 / 24));
      REF[j] = r;
      M1[j] = fastTwoSum(h, l);
      M2[j] = dd.lo;
      M3[j] = l0;
      M4[j] = l0 * (h0 + 0.5 * p);
      continue;
    }
    r = j;
    REF[j] = j;
    M1[j] = 0;
    M2[j] = 0;
    M3[j] = 0;
    M4[j] = 0;
    if (j === jmax) {
      RH[j] = 1;
      RL[j] = 0;
      RK[j] = 0;
    } else {
      RH[j] = eh[j];
      RL[j] = el[j];
      RK[j] = ek[j];
    }
  }
  // u itself below 2^-900 (logits 624 and more apart): kept scaled by 2^600, or by as much as brings its
  // largest term near 1, so that its parts stay normal (unscaled, u near 2^-1021 lost its low bits: log_softmax's
  // backward at x = [707.88, 0] was one ULP off; at 2^-1640 it was lost altogether).
  let kTop = -600;
  for (let q = 1; q < n; q++) kTop = q === 1 ? RK[REF[ORDER[q]]] : Math.max(kTop, RK[REF[ORDER[q]]]);
  uShift = st.tiny ? Math.max(600, -kTop) : 0; // no terms (u = 0): 600
  sumU.reset();
  for (let q = 1; q < n; q++) addE(sumU, ORDER[q], 1, uShift);
}

/** sumU holds u·2^uShift. */
let uShift = 0;

/** Whether every component of `sum` stays finite scaled by 2^k. */
function scalesFinite(sum: ExactSum, k: number): boolean {
  for (let c = 0; c < sum.n; c++) if (!Number.isFinite(mulPow2(sum.c[c], k))) return false;
  return true;
}

/**
 * sum += x·u·2^shift exactly (x·2^(shift − uShift) normal; where it is not, x·u is below 2^-900 of x and the
 * loss with it).
 */
function addTimesU(sum: ExactSum, x: number, shift = 0): void {
  const xs = mulPow2(x, shift - uShift);
  const U = sumU.c;
  for (let c = 0; c < sumU.n; c++) sum.addProd(xs, U[c]);
}

/** sum += e_j·b·2^shift exactly (after exactE; e_j = 0 adds nothing). */
function addE(sum: ExactSum, j: number, b: number, shift = 0): void {
  const r = REF[j];
  if (r < 0 || b === 0) return;
  const h = RH[r];
  const l = RL[r];
  const k = RK[r] + shift;
  addRefProd(sum, h, l, k, b, 0);
  const m1 = M1[j];
  if (m1 === 0) return; // the reference itself (m_j = 0: M2 to M4 are 0 too)
  addMTimes(sum, h, l, k, m1, b);
  addMTimes(sum, h, l, k, M2[j], b);
  addMTimes(sum, h, l, k, M3[j], b);
  addMTimes(sum, h, l, k, M4[j], b);
}

/** sum += (h + l)·2^k·m·b exactly, for one more component m of m_j. */
function addMTimes(sum: ExactSum, h: number, l: number, k: number, m: number, b: number): void {
  if (m === 0) return;
  const p = twoProd(m, b);
  addRefProd(sum, h, l, k, p, dd.lo);
}

/** sum += (h + l)·2^k·(b + bl) exactly (for bl = 0 and l = 0 the terms vanish). */
function addRefProd(sum: ExactSum, h: number, l: number, k: number, b: number, bl: number): void {
  sum.addProdScaled(h, b, k);
  if (l !== 0) sum.addProdScaled(l, b, k);
  if (bl !== 0) {
    sum.addProdScaled(h, bl, k);
    if (l !== 0) sum.addProdScaled(l, bl, k);
  }
}

/** For m from HUGE up: the power of two σ < 0 that brings m below 2^989, no further (products with tiny exps must stay normal). */
const downFor = (m: number): number => 988 - exponentNear(m);

/** A power of two σ with m·2^σ about 2^500 for m below it (σ at most 1000), 0 up to HUGE, and beyond it down to 2^988. */
function scaleFor(m: number): number {
  if (m >= HUGE) return downFor(m);
  if (!(m > 0) || m >= 2 ** 500) return 0;
  const e = Math.floor(Math.log2(m));
  return Math.min(1000, 500 - e);
}

/** Scratch for dy − dy_max as double-doubles. */
let dScratchH = new Float64Array(0);
let dScratchL = new Float64Array(0);
function dScratch(cols: number): void {
  if (dScratchH.length < cols) {
    dScratchH = new Float64Array(cols);
    dScratchL = new Float64Array(cols);
  }
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
  if (!st.load(x, o, cols, sign, false)) {
    fillNaN(dx, o, cols);
    return true;
  }
  // dy from 2^990 up would overflow the fast pass's Dekker products: every result goes to the exact pass, which scales.
  let nFlag = maxAbs(dy, o, cols) >= HUGE ? flagAll(cols) : softmaxBackwardFast(st, dy, o, cols, sign, dx);
  if (nFlag === 0) {
    if (rowFinite(dx, o, cols)) return true;
    nFlag = flagAll(cols);
  }
  st.load(x, o, cols, sign, true);
  return softmaxBackwardExact(st, dy, o, cols, sign, dx, nFlag) && rowNoNaN(dx, o, cols);
}

/** Indices whose fast result is not trusted, for the exact pass. */
let flagged = new Int32Array(0);
function flagScratch(cols: number): Int32Array {
  if (flagged.length < cols) flagged = new Int32Array(cols);
  return flagged;
}

/** Flags every index of the row for the exact pass; returns their count. */
function flagAll(cols: number): number {
  const flags = flagScratch(cols);
  for (let i = 0; i < cols; i++) flags[i] = i;
  return cols;
}

function maxAbs(v: Float64Array, o: number, n: number): number {
  let m = 0;
  for (let j = 0; j < n; j++) m = Math.max(m, Math.abs(v[o + j]));
  return m;
}

/**
 * The fast pass: every result, and in `flagged` the indices of those that
 * cancelled too far to trust (returns their count; 0: the row is done).
 */
function softmaxBackwardFast(st: SoftmaxRow, dy: Float64Array, o: number, cols: number, sign: number, dx: Float64Array): number {
  const { eh, el, ek, jmax } = st;
  const flags = flagScratch(cols);
  let nFlag = 0;
  // G = Σ_{j≠max} e_j·dy_j and A = Σ_{j≠max} |e_j·dy_j|.
  // With u < 2^-900 every e_j (j ≠ max) is below 2^-900 too: sum G scaled by 2^600, so its low part survives.
  const scale = st.tiny ? 600 : 0;
  let Gh = 0;
  let Gl = 0;
  let A = 0;
  for (let j = 0; j < cols; j++) {
    if (j === jmax || eh[j] === 0) continue;
    const ph = mulDD1(eh[j], el[j], dy[o + j]);
    const k = ek[j] + scale;
    let th: number;
    let tl: number;
    if (k >= -1022) {
      const s = pow2(k);
      th = ph * s;
      tl = dd.lo * s;
    } else {
      th = unscale(ph, dd.lo, k);
      tl = dd.lo;
    }
    A += Math.abs(th);
    Gh = twoSum(Gh, th);
    Gl += dd.lo + tl;
  }
  Gh = fastTwoSum(Gh, Gl);
  Gl = dd.lo;
  // Gs = G·2^scale, As = A·2^scale; G itself (for g) and A unscaled.
  const Gsh = Gh;
  const Gsl = Gl;
  const As = A;
  if (scale !== 0) {
    Gh *= DOWN;
    Gl *= DOWN;
    A *= DOWN;
  }
  const dyM = dy[o + jmax];
  const nh = addDD(dyM, 0, Gh, Gl);
  const gh = divDD(nh, dd.lo, st.Sh, st.Sl);
  const gl = dd.lo;
  // 1/S as a double-double: y_i·(dy_i − g) = e_i·(dy_i − g)·(1/S).
  const iSh = 1 / st.Sh;
  const ip = twoProd(iSh, st.Sh);
  const iSl = (1 - ip - dd.lo - iSh * st.Sl) / st.Sh;
  // B = Σ_j y_j|dy_j| bounds |g| and the scale of its error.
  const illB = ILL * ((Math.abs(dyM) + A) / st.Sh);
  for (let i = 0; i < cols; i++) {
    if (i === jmax) continue;
    const e = eh[i];
    if (e === 0) {
      dx[o + i] = sign * 0;
      continue;
    }
    // t = dy_i − g (the sum is rounded once; only a cancelled t, flagged below, can lose its low part).
    const di = dy[o + i];
    const s0 = twoSum(di, -gh);
    const tl0 = dd.lo - gl;
    const th = s0 + tl0;
    const tl = tl0 - (th - s0);
    const a = Math.abs(th);
    if (a < illB || (a < LOW && th !== 0)) flags[nFlag++] = i;
    const wh = mulDD(e, el[i], th, tl);
    const v = mulDD(wh, dd.lo, iSh, iSl);
    const vl = dd.lo;
    const k = ek[i];
    const r = k >= -1022 ? v * pow2(k) : 0;
    dx[o + i] = sign * (Math.abs(r) >= MIN_NORMAL ? r : scaleRound(v, vl, k));
  }
  // At the maximum: y_max·(dy_max − g) = (dy_max·u − G)/S².
  const S2h = mulDD(st.Sh, st.Sl, st.Sh, st.Sl);
  const S2l = dd.lo;
  if (st.tiny && Math.abs(dyM) < 2 ** 990) {
    // u < 2^-900: work on U = u·2^600 and G·2^600 (both below 2^730), round once.
    const ah = mulDD1(st.Uh, st.Ul, dyM);
    const numh = addDD(ah, dd.lo, -Gsh, -Gsl);
    // U itself below 2^-900 (logits 1125 and more apart) has lost low bits: the exact pass decides.
    if (Math.abs(numh) < ILL * (Math.abs(dyM) * st.Uh + As) || (numh !== 0 && Math.abs(numh) < LOW * UP) || st.Uh < U_FLOOR) flags[nFlag++] = jmax;
    const v = divDD(numh, dd.lo, S2h, S2l);
    dx[o + jmax] = sign * scaleRound(v, dd.lo, -600);
  } else {
    const ah = mulDD1(st.uh, st.ul, dyM);
    const numh = addDD(ah, dd.lo, -Gh, -Gl);
    const numl = dd.lo;
    if (Math.abs(numh) < ILL * (Math.abs(dyM) * st.uh + A) || (numh !== 0 && Math.abs(numh) < LOW)) flags[nFlag++] = jmax;
    dx[o + jmax] = sign * divDD(numh, numl, S2h, S2l);
  }
  return nFlag;
}

/**
 * The exact pass (precise exps loaded) for the flagged results: with
 * D_j = dy_j − dy_max (TwoSum, then scaled by 2^σ) and H = Σ_{j≠max} e_j·D_j,
 * both exact, dx_i = e_i·(D_i·S − H)/S² and dx_max = −H/S², S = 1 + u with u
 * exact. The other results of the fast pass are good to 2^-58 and stay.
 */
function softmaxBackwardExact(st: SoftmaxRow, dy: Float64Array, o: number, cols: number, sign: number, dx: Float64Array, nFlag: number): boolean {
  const { eh, el, ek, jmax } = st;
  dScratch(cols);
  const Dh = dScratchH;
  const Dl = dScratchL;
  // dy near the largest double: D_j formed from dy scaled below 2^989, so that neither the differences nor the
  // products overflow (entries below 2^-1040 or so then lose bits next to them).
  const big = maxAbs(dy, o, cols);
  const pre = big >= HUGE ? downFor(big) : 0;
  const dyM = dy[o + jmax] * pow2(pre);
  let M = 0;
  for (let j = 0; j < cols; j++) {
    Dh[j] = twoSum(dy[o + j] * pow2(pre), -dyM);
    Dl[j] = dd.lo;
    const a = Math.abs(Dh[j]);
    if (a > M) M = a;
  }
  if (!(M <= Number.MAX_VALUE)) return false;
  const up = scaleFor(M);
  if (up !== 0) {
    const s = pow2(up);
    for (let j = 0; j < cols; j++) {
      Dh[j] *= s;
      Dl[j] *= s;
    }
  }
  const sigma = up + pre; // D_j = (dy_j − dy_max)·2^σ
  exactE(st, cols);
  sumDTerms(sumH, st, cols, Dh, Dl, 0);
  const S2h = mulDD(st.Sh, st.Sl, st.Sh, st.Sl);
  const S2l = dd.lo;
  const Hh = sumH.toDD();
  const Hl = dd.lo;
  // dx_max = −H/S². Where H is below 2^-900 its terms e_j·D_j, or what is left of them after cancelling, lost
  // low bits to the subnormals (logits 1125.8 apart with dy near 1e181: one ULP off at 9.7e-308): for dx_max H is
  // summed again at a further 2^τ that brings it near 2^500, as far as its largest term stays below 2^1000 (and
  // the scale of every e_j within the table of powers).
  let tau = 0;
  if (Math.abs(Hh) < 2 ** -900) {
    let top = -Infinity;
    let kTop = -Infinity;
    for (let j = 0; j < cols; j++) {
      if (j === jmax || eh[j] === 0 || Dh[j] === 0) continue;
      top = Math.max(top, ek[j] + exponentNear(Dh[j]));
      kTop = Math.max(kTop, ek[j]);
    }
    if (top > -Infinity) tau = Math.max(0, Math.min(Hh === 0 ? 2000 : 500 - exponentNear(Hh), 1000 - top, 1000 - kTop));
  }
  let Hmh = Hh;
  let Hml = Hl;
  if (tau !== 0) {
    sumDTerms(sumN, st, cols, Dh, Dl, tau);
    Hmh = sumN.toDD();
    Hml = dd.lo;
  }
  const flags = flagged;
  for (let f = 0; f < nFlag; f++) {
    const i = flags[f];
    if (i === jmax) {
      const vm = divDD(-Hmh, -Hml, S2h, S2l);
      dx[o + jmax] = sign * scaleRound(vm, dd.lo, -sigma - tau);
      continue;
    }
    let nh = -Hh;
    let nl = -Hl;
    const dh = Dh[i];
    if (dh !== 0) {
      // N_i = D_i·(1 + u) − H.
      const dl = Dl[i];
      sumN.setNeg(sumH);
      sumN.add(dh);
      sumN.add(dl);
      addTimesU(sumN, dh);
      if (dl !== 0) addTimesU(sumN, dl);
      nh = sumN.toDD();
      nl = dd.lo;
    }
    const ph = mulDD(eh[i], el[i], nh, nl);
    const v = divDD(ph, dd.lo, S2h, S2l);
    dx[o + i] = sign * scaleRound(v, dd.lo, ek[i] - sigma);
  }
  return true;
}

/** sum = H·2^shift = Σ_{j≠max} e_j·(Dh_j + Dl_j)·2^shift, exactly (after exactE). */
function sumDTerms(sum: ExactSum, st: SoftmaxRow, cols: number, Dh: Float64Array, Dl: Float64Array, shift: number): void {
  sum.reset();
  for (let j = 0; j < cols; j++) {
    if (j === st.jmax || st.eh[j] === 0) continue;
    addE(sum, j, Dh[j], shift);
    addE(sum, j, Dl[j], shift);
  }
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
  if (!st.load(x, o, cols, 1, false)) {
    fillNaN(dx, o, cols);
    return true;
  }
  if (maxAbs(dy, o, cols) < HUGE && logSoftmaxBackwardFast(st, dy, o, cols, dx) && rowFinite(dx, o, cols)) return true;
  st.load(x, o, cols, 1, true);
  return logSoftmaxBackwardExact(st, dy, o, cols, dx) && rowNoNaN(dx, o, cols);
}

function logSoftmaxBackwardFast(st: SoftmaxRow, dy: Float64Array, o: number, cols: number, dx: Float64Array): boolean {
  const jmax = st.jmax;
  // R = Σ_{j≠max} dy_j, T = dy_max + R; Y = Σ|dy_j|.
  let Rh = 0;
  let Rl = 0;
  let Y = 0;
  for (let j = 0; j < cols; j++) {
    const d = dy[o + j];
    Y += Math.abs(d);
    if (j === jmax) continue;
    Rh = twoSum(Rh, d);
    Rl += dd.lo;
  }
  Rh = fastTwoSum(Rh, Rl);
  Rl = dd.lo;
  // The low part Rl sums cols roundings: R is good to about cols²·2^-106·Y;
  // a result within 2^58 of that error goes to the exact pass.
  const errR = cols * cols * 2 ** -48 * Y;
  const dyM = dy[o + jmax];
  const Th = addDD(dyM, 0, Rh, Rl);
  const Tl = dd.lo;
  for (let i = 0; i < cols; i++) {
    if (i === jmax) continue;
    const q = st.prob(i);
    const k = st.k;
    const p = k >= -1074 ? q * pow2(k) : 0;
    const ph = mulDD(q, dd.lo, Th, Tl);
    const pl = dd.lo;
    const di = dy[o + i];
    const uh = unscale(ph, pl, k);
    const ul = dd.lo;
    if (Math.abs(di) < 2 ** -900 && Math.abs(uh) < 2 ** -900) {
      // Both terms tiny: the result may be subnormal; subtract at scale 2^600 and round once.
      const sh = unscale(ph, pl, k + 600);
      const v = addDD(di * UP, 0, -sh, -dd.lo);
      if (Math.abs(v) < ILL * Math.abs(sh) + p * errR * UP) return false;
      dx[o + i] = scaleRound(v, dd.lo, -600);
      continue;
    }
    const v = addDD(di, 0, -uh, -ul);
    if (Math.abs(v) < ILL * Math.abs(uh) + p * errR) return false;
    dx[o + i] = v;
  }
  // At the maximum: dy_max − T/S = (dy_max·u − R)/S.
  if (st.tiny && Math.abs(Rh) < 2 ** 400 && Math.abs(dyM) < 2 ** 990) {
    // u < 2^-900: work on U = u·2^600 and R·2^600, round once.
    const ah = mulDD1(st.Uh, st.Ul, dyM);
    const numh = addDD(ah, dd.lo, -Rh * UP, -Rl * UP);
    if (Math.abs(numh) < ILL * Math.abs(dyM) * st.Uh + errR * UP || (numh !== 0 && Math.abs(numh) < LOW * UP) || st.Uh < U_FLOOR) return false;
    const v = divDD(numh, dd.lo, st.Sh, st.Sl);
    dx[o + jmax] = scaleRound(v, dd.lo, -600);
  } else {
    const ah = mulDD1(st.uh, st.ul, dyM);
    const numh = addDD(ah, dd.lo, -Rh, -Rl);
    const numl = dd.lo;
    if (Math.abs(numh) < ILL * Math.abs(dyM) * st.uh + errR || (numh !== 0 && Math.abs(numh) < LOW)) return false;
    dx[o + jmax] = divDD(numh, numl, st.Sh, st.Sl);
  }
  return true;
}

/**
 * The exact pass (precise exps loaded), on dy scaled by 2^σ: with u, R =
 * Σ_{j≠max} dy_j and T = dy_max + R exact, S·dx_i = dy_i·(1 + u) − e_i·T and
 * S·dx_max = dy_max·u − R.
 */
function logSoftmaxBackwardExact(st: SoftmaxRow, dy: Float64Array, o: number, cols: number, dx: Float64Array): boolean {
  const { eh, el, ek, jmax } = st;
  let M = 0;
  for (let j = 0; j < cols; j++) {
    const a = Math.abs(dy[o + j]);
    if (a > M) M = a;
  }
  const sigma = scaleFor(M);
  const s = pow2(sigma);
  exactE(st, cols);
  // sumH = R·2^σ.
  sumH.reset();
  for (let j = 0; j < cols; j++) if (j !== jmax) sumH.add(dy[o + j] * s);
  const dyM = dy[o + jmax] * s;
  // dy_max·u below 2^-900 (logits 1135 apart): formed at a further 2^τ that brings it near 2^500, unless R·2^τ
  // then overflows (R exceeds dy_max·u by 2^500 and more, which the unscaled form gives as well).
  const Uh = sumU.toDD();
  const eProd = dyM !== 0 && Uh !== 0 ? exponentNear(dyM) + exponentNear(Uh) - uShift : 0;
  const tauM = eProd < -900 && scalesFinite(sumH, 500 - eProd) ? 500 - eProd : 0;
  sumN.reset();
  for (let c = 0; c < sumH.n; c++) sumN.add(-mulPow2(sumH.c[c], tauM));
  addTimesU(sumN, dyM, tauM);
  const mh = sumN.toDD();
  const vm = divDD(mh, dd.lo, st.Sh, st.Sl);
  dx[o + jmax] = scaleRound(vm, dd.lo, -sigma - tauM);
  // sumH = T·2^σ from here on.
  sumH.add(dyM);
  const T = sumH.c;
  const nT = sumH.n;
  const Th = sumH.toDD();
  const eT = Th !== 0 && Th - Th === 0 ? exponentNear(Th) : 0; // T = 0: no e_i·T term to keep
  for (let i = 0; i < cols; i++) {
    if (i === jmax) continue;
    if (eh[i] === 0) {
      dx[o + i] = dy[o + i];
      continue;
    }
    // e_i·T below 2^-900 would lose its low bits in the sum (logits 1390 apart with dy near 1e298): this index's
    // terms are scaled by a further 2^τ that brings e_i·T near 2^500. Where dy_i·2^(σ+τ) then overflows,
    // |dy_i| exceeds p_i·Σdy by more than 2^500 and dx_i rounds to dy_i.
    const tau = ek[i] + eT < -900 ? 500 - (ek[i] + eT) : 0;
    const di = mulPow2(dy[o + i], sigma + tau);
    if (di - di !== 0) {
      dx[o + i] = dy[o + i];
      continue;
    }
    sumN.reset();
    sumN.add(di);
    addTimesU(sumN, di);
    for (let c = 0; c < nT; c++) addE(sumN, i, -T[c], tau);
    const nh = sumN.toDD();
    const v = divDD(nh, dd.lo, st.Sh, st.Sl);
    dx[o + i] = scaleRound(v, dd.lo, -sigma - tau);
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
  // Finite dy whose sum overflows (each near the largest double): sum them scaled by 2^-64, so that a
  // probability that underflowed to 0 gives dy_i, not 0·Infinity = NaN.
  let scale = 1;
  if (t - t !== 0 && rowFinite(dy, o, cols)) {
    t = 0;
    for (let j = 0; j < cols; j++) t += dy[o + j] * 2 ** -64;
    scale = 2 ** 64;
  }
  for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - (Math.exp(x[o + j] - m) / s) * t * scale;
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
    // Targets all below 2^-400 (a soft target of 3e-308): the sum formed with t·2^600, whose products keep their
    // low parts, and scaled back in one rounding.
    const tShift = maxAbs(t, 0, cols) < 2 ** -400 ? 600 : 0;
    const tScale = pow2(tShift);
    // Σ_{i≠max} t_i·(L − d_i): every term ≥ 0 (d_i ≤ 0 ≤ L).
    let sh = 0;
    let sl = 0;
    for (let i = 0; i < cols; i++) {
      const ti = t[i] * tScale;
      if (i === jmax || ti === 0) continue;
      if (dh[i] === -Infinity) {
        sh = Infinity;
        break;
      }
      const ah = addDD(st.Lh, st.Ll, -dh[i], -dl[i]);
      let ph: number;
      let pl: number;
      if (Math.abs(ah) < 2 ** 995) {
        ph = mulDD1(ah, dd.lo, ti);
        pl = dd.lo;
      } else {
        // L − d_i beyond Dekker's split (logits 1e300 apart gave NaN): the product scaled by 2^-64, exactly
        ph = mulDD1(ah * 2 ** -64, dd.lo * 2 ** -64, ti) * 2 ** 64;
        pl = dd.lo * 2 ** 64;
      }
      sh = twoSum(sh, ph);
      sl += dd.lo + pl;
    }
    if (sh === Infinity) {
      out[r] = Infinity;
      continue;
    }
    const tm = t[jmax] * tScale;
    if (st.tiny && sh === 0) {
      // Only the maximum is weighted and L = u < 2^-900: round t·U·2^-600 once.
      const v = mulDD1(st.Uh, st.Ul, tm);
      out[r] = scaleRound(v, dd.lo, -600 - tShift);
      continue;
    }
    const mh = mulDD1(st.Lh, st.Ll, tm);
    const ml = dd.lo;
    sh = fastTwoSum(sh, sl);
    const v = addDD(sh, dd.lo, mh, ml);
    out[r] = tShift === 0 ? v : scaleRound(v, dd.lo, -tShift);
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
  if (!st.load(x, o, cols, 1, false)) {
    fillNaN(dx, o, cols);
    return true;
  }
  // dloss = dl·2^kd with |dl| near 1 (in [1/2, 4): exponentNear may be one off; or 0). A product w·dl is then
  // at least w/2, so where w is from LOW up (the passes send smaller w to exact forms) the product's low part is
  // normal, and scaleRound undoes kd in one rounding. (dl kept within 2^±900 let (p − t)·dl fall at 2.6e-308 with
  // its low part below the subnormals, one ULP off: a soft target of 5.6e-164 with dloss 5.6e-145.)
  const kd = dloss !== 0 ? exponentNear(dloss) : 0;
  const dl = mulPow2(dloss, -kd);
  if (sceBackwardFast(st, dl, kd, t, o, cols, dx)) return rowFinite(dx, o, cols);
  st.load(x, o, cols, 1, true);
  return sceBackwardExact(st, dl, kd, t, o, cols, dx) && rowFinite(dx, o, cols);
}

function sceBackwardFast(st: SoftmaxRow, dl: number, kd: number, t: Float64Array, o: number, cols: number, dx: Float64Array): boolean {
  const jmax = st.jmax;
  for (let i = 0; i < cols; i++) {
    const ti = t[i];
    if (i === jmax) {
      if (st.tiny && ti === 1) {
        // p_max − 1 = −u/S with u < 2^-900 (S = 1 to 2^-900). U itself below 2^-900 (logits 1125 and more apart)
        // has lost low bits (x = [1159.9, 0] with dloss 1.9e197 gave 5.3e-307 for 3.6e-307): the exact pass.
        if (st.Uh < U_FLOOR) return false;
        const v = mulDD1(st.Uh, st.Ul, -dl);
        dx[o + i] = scaleRound(v, dd.lo, kd - 600);
        continue;
      }
      // p_max − t = (1 − t) − u/S.
      const vh = st.oneMinusPmax();
      const vl = dd.lo;
      const ah = twoSum(1, -ti);
      const wh = addDD(ah, dd.lo, -vh, -vl);
      const wl = dd.lo;
      if (Math.abs(wh) < ILL * vh || (wh !== 0 && Math.abs(wh) < LOW)) return false;
      dx[o + i] = scaleRound(mulDD1(wh, wl, dl), dd.lo, kd);
      continue;
    }
    const q = st.prob(i);
    const ql = dd.lo;
    const k = st.k;
    if (ti === 0) {
      dx[o + i] = scaleRound(mulDD1(q, ql, dl), dd.lo, k + kd);
      continue;
    }
    const ph = unscale(q, ql, k);
    const wh = addDD(ph, dd.lo, -ti, 0);
    const wl = dd.lo;
    if (Math.abs(wh) < ILL * ph || (wh !== 0 && Math.abs(wh) < LOW)) return false;
    dx[o + i] = scaleRound(mulDD1(wh, wl, dl), dd.lo, kd);
  }
  return true;
}

/**
 * The exact pass (precise exps loaded), with u exact: S·(p_i − t_i) = e_i − t_i·(1 + u)
 * and S·(p_max − t) = (1 − t) − t·u, formed at scale 2^600 so that a
 * subnormal p − t (t = 0.5 on the row [0, 1e-310]) keeps every bit.
 */
function sceBackwardExact(st: SoftmaxRow, dl: number, kd: number, t: Float64Array, o: number, cols: number, dx: Float64Array): boolean {
  const { eh, jmax } = st;
  exactE(st, cols);
  const sigma = 600; // |dl| < 4: the scaled products stay far from overflow
  const s = pow2(sigma);
  for (let i = 0; i < cols; i++) {
    const ti = t[i];
    if (i === jmax && st.tiny && ti === 1) {
      // −u·dl, u exact: sumU = u·2^uShift.
      const Uh = sumU.toDD();
      const v = mulDD1(Uh, dd.lo, -dl);
      dx[o + i] = scaleRound(v, dd.lo, kd - uShift);
      continue;
    }
    if (i !== jmax && ti === 0) {
      const q = st.prob(i);
      dx[o + i] = scaleRound(mulDD1(q, dd.lo, dl), dd.lo, st.k + kd);
      continue;
    }
    const ts = ti * s;
    sumN.reset();
    addE(sumN, i, s);
    sumN.add(-ts);
    addTimesU(sumN, -ts);
    const nh = sumN.toDD();
    const wh = divDD(nh, dd.lo, st.Sh, st.Sl);
    const v = mulDD1(wh, dd.lo, dl);
    dx[o + i] = scaleRound(v, dd.lo, kd - sigma);
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
