/**
 * The three GELU derivatives (exact, tanh form, sigmoid form) near their root
 * x0 ≈ -0.75, where gelu′ is a difference of nearly equal terms.
 *
 * Within |x - x0| ≤ 1/16 gelu′ is evaluated as its Taylor series about the root,
 * gelu′(x0 + t) = b1·t + b2·t² + … + b14·t^14: the constant term is exactly 0,
 * t = x - x0 is exact to about 2^-150 (x0 is stored in three parts, since for
 * the doubles next to x0, t is about as small as x0's second part), and
 * b1·t + b2·t² is formed
 * in double-double (b2·t² reaches 5% of the result, too much to round in
 * double), so the result keeps full relative accuracy however close x is to
 * the root; the terms up to t^14 make the truncation error below 2^-62.
 * Outside the band the kernels' own forms cancel by less than 2^6, which their
 * extra precision absorbs.
 *
 * That accuracy in x0 is beyond a double-double Newton iteration, so roots and
 * coefficients are precomputed (80-digit mpmath; b1 and b2 as double-doubles,
 * the rest rounded to double):
 *
 * ```python
 * import mpmath as mp; mp.mp.dps = 80
 * K, A, C = mp.mpf('1.702'), mp.mpf('0.044715'), mp.sqrt(2/mp.pi)
 * sig = lambda t: 1/(1 + mp.exp(-t))
 * g = {'none': lambda x: mp.ncdf(x) + x*mp.npdf(x),
 *      'tanh': lambda x: (1 + mp.tanh(C*(x + A*x**3)))/2
 *                        + x/2*mp.sech(C*(x + A*x**3))**2*C*(1 + 3*A*x**2),
 *      'sigmoid': lambda x: sig(K*x) + K*x*sig(K*x)*sig(-K*x)}
 * for f in g.values():
 *     r = mp.findroot(f, -0.75, tol=mp.mpf(10)**-75); b = mp.taylor(f, r, 14)
 * ```
 */
import { dd, twoSum, fastTwoSum, twoProd } from './dd.js';

/** Half-width of the band around each root where `rootSeries` applies. */
export const ROOT_BAND = 1 / 16;

/** [x0 in three parts, b1.hi, b1.lo, b2.hi, b2.lo, b3, …, b14] for each form. */
export const GELU_ROOTS = {
  none: new Float64Array([
    -0.7517915246935645,
    1.4956759177009883e-17,
    5.384040947833005e-34,
    0.4314939923140469,
    2.7308688141129613e-17,
    0.388284982990552,
    2.3344842362524718e-17,
    -0.018199676398671087,
    -0.1140082332972217,
    -0.014771522148244337,
    0.019421679838189067,
    0.004539228379125415,
    -0.002239538068073497,
    -0.0007448268386746817,
    0.00018633974623233514,
    8.615947861116571e-05,
    -1.121438018842664e-05,
    -7.74846130700372e-06,
    4.3284506257392273e-07,
  ]),
  tanh: new Float64Array([
    -0.7524614220710163,
    3.635560509207687e-17,
    -2.5415595389660457e-33,
    0.4304000910248585,
    2.028254970529195e-17,
    0.38751844613578895,
    -2.562359819429644e-17,
    -0.01578285352184803,
    -0.11394448308095899,
    -0.01661932834305256,
    0.019682309459833118,
    0.005261059254921912,
    -0.0024227318458750974,
    -0.0009274420230205449,
    0.00026392764052681053,
    0.00012425227802639782,
    -3.4956171694436116e-05,
    -1.5950896871645105e-05,
    5.918611710894005e-06,
  ]),
  sigmoid: new Float64Array([
    -0.751154255441289,
    4.696480973567411e-17,
    -3.261503107751848e-34,
    0.37071552313509976,
    1.2164988151269691e-17,
    0.42481282173594376,
    1.0721061503011777e-17,
    0.09305963675729156,
    -0.12774050660220324,
    -0.09435720712886152,
    0.0030781165417904928,
    0.03303723646444789,
    0.013076914672399518,
    -0.004902482293216737,
    -0.006065159245559205,
    -0.0010216239140244923,
    0.0013862711067491773,
    0.0008648828288439685,
    -5.2228893561771554e-05,
  ]),
} as const;

/** gelu′(x) from a table of GELU_ROOTS, for |x - x0| ≤ 1/16, as hi + dd.lo. */
export function rootSeries(b: Float64Array, x: number): number {
  const d = x - b[0]; // exact: x and x0 are within a factor 2 of each other
  let th = twoSum(d, -b[1]);
  th = twoSum(th, dd.lo - b[2]);
  const tl = dd.lo;
  let q = b[b.length - 1];
  for (let i = b.length - 2; i >= 7; i--) q = q * th + b[i];
  const t2 = twoProd(th, th);
  const t2l = dd.lo + 2 * th * tl;
  const p2 = twoProd(b[5], t2);
  const p2l = dd.lo + b[5] * t2l + b[6] * t2;
  const p1 = twoProd(b[3], th);
  const p1l = dd.lo + b[3] * tl + b[4] * th;
  const s = twoSum(p1, p2);
  return fastTwoSum(s, dd.lo + p1l + p2l + t2 * th * q);
}
