/**
 * Constants that must be known to more than double precision, precomputed
 * with 80-digit mpmath and stored as sums of doubles (each part the double
 * nearest the remainder):
 *
 * ```python
 * import mpmath as mp; mp.mp.dps = 80
 * def parts(v, n):
 *     out = []
 *     for _ in range(n): out.append(float(v)); v -= mp.mpf(out[-1])
 *     return out
 * z0 = mp.findroot(lambda z: 1 + z + mp.exp(z), -1.28, tol=mp.mpf(10)**-75)
 * sp = lambda x: mp.log1p(mp.exp(x))
 * x0 = mp.findroot(lambda x: mp.tanh(sp(x)) + x*mp.sech(sp(x))**2/(1 + mp.exp(-x)),
 *                  -1.19, tol=mp.mpf(10)**-75)
 * lam = mp.mpf('1.0507009873554804934193349852946')
 * alpha = mp.mpf('1.6732632423543772848170429916717')
 * parts(z0, 3); parts(x0, 3); parts(mp.exp(x0), 2); parts(lam, 2); parts(lam*alpha, 2)
 * mp.taylor(lambda x: x - mp.tanh(x), 0, 40)[3::2]   # tanhshrink series
 * ```
 */
import { addDD, dd, mulDD, mulDD1, twoSum } from '../numeric/dd.js';

/**
 * z0 = −1 − W(1/e) ≈ −1.2785: the root of 1 + z + e^z, where the swish
 * derivative σ(z)(1 + z·σ(−z)) changes sign (z = βx). Triple-double: the
 * doubles nearest z0 need t = z − z0 to better than 2^-106.
 */
export const Z0_0 = -1.2784645427610737;
export const Z0_1 = -1.0946994183093437e-16;
export const Z0_2 = -3.907766676128665e-33;

/** e^z0 = −1 − z0 exactly, as a double-double. */
export const EZ0_H = twoSum(-1 - Z0_0, -Z0_1); // −1 − Z0_0 is exact (Sterbenz)
export const EZ0_L = dd.lo - Z0_2;

/** x0 ≈ −1.1924, the root of the mish derivative (its minimum), triple-double. */
export const X0_0 = -1.1924312145154952;
export const X0_1 = -4.8484829848031044e-17;
export const X0_2 = -1.898915114090381e-33;

/** w0 = e^x0, double-double. */
export const W0_H = 0.3034825352815289;
export const W0_L = 1.981117434764409e-17;

/** Derived coefficients of the mish numerator about x0 (see smooth/mish.ts), double-doubles. */
const W0SQ_H = mulDD(W0_H, W0_L, W0_H, W0_L);
const W0SQ_L = dd.lo;
/** K3 = w0³ and K2 = 4·w0² as doubles: they multiply terms under 3% of the result. */
const K3_H = mulDD(W0SQ_H, W0SQ_L, W0_H, W0_L);
const K3_L = dd.lo;
export const MISH_K3 = K3_H;
export const MISH_K2 = 4 * W0SQ_H;
/** K1 = (6 + 4·x0)·w0 (6 + 4·X0_0 is exact), and B0 = K1 + 2·K2 + 3·K3, double-doubles. */
const K1_H = mulDD(twoSum(6 + 4 * X0_0, 4 * X0_1), dd.lo + 4 * X0_2, W0_H, W0_L);
const K1_L = dd.lo;
const B0A_H = addDD(K1_H, K1_L, 8 * W0SQ_H, 8 * W0SQ_L);
const B0A_L = dd.lo;
export const MISH_K1 = K1_H;
const K3X3_H = mulDD1(K3_H, K3_L, 3);
export const MISH_B0_H = addDD(B0A_H, B0A_L, K3X3_H, dd.lo);
export const MISH_B0_L = dd.lo;
/** 1 + w0, double-double. */
export const ONE_PLUS_W0_H = twoSum(1, W0_H);
export const ONE_PLUS_W0_L = dd.lo + W0_L;

/** SELU's scale λ and the product λ·α of the exact 32-digit constants, double-doubles. */
export const SELU_SCALE_H = 1.0507009873554805;
export const SELU_SCALE_L = 3.9874847667154144e-17;
export const SELU_SCALE_ALPHA_H = 1.7580993408473768;
export const SELU_SCALE_ALPHA_L = 1.41535193800845e-17;

/** 1/3 as a double-double. */
export const THIRD_H = 0.3333333333333333;
export const THIRD_L = 1.850371707708594e-17;

/**
 * x − tanh x = x³/3 + x⁵·S(x²) with S(u) = Σ TANHSHRINK_SERIES[i]·u^i: the
 * Taylor coefficients of x^5, x^7, …, x^27 (enough below 2^-62 for |x| ≤ 1/4).
 */
export const TANHSHRINK_SERIES = new Float64Array([
  -0.13333333333333333, 0.05396825396825397, -0.021869488536155203, 0.008863235529902197, -0.003592128036572481,
  0.0014558343870513183, -0.000590027440945586, 0.00023912911424355248, -9.691537956929451e-05,
  3.927832388331683e-05, -1.5918905069328964e-05, 6.451689215655431e-06,
]);
