import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { softmaxBackward, softmaxForward } from '../rows/softmax-family.js';

/**
 * Softmax over each row, correctly rounded but for rare near-ties.
 *
 * Computed by the softmax-family kernel of rows/softmax-family.ts with sign +1
 * (softmin is the same kernel with sign −1), so there is one softmax
 * implementation. Its private kernel was dropped for this one because the
 * two had complementary edge bugs, and the family kernel is the one whose
 * backward is now exact on both: re-centring on dy of the dominant class lost
 * the result on rows of tiny logits ([7e-280, -3e-140, -6e-218, 1e-225] with
 * dy ≈ (0, 0, -2, 2): 3e-157 in place of 1.4e-206), and the double-double
 * sums lost the t in e^-t ≈ 1 - t ([0, …, 0, t] with constant dy: 3.5·t in
 * place of 0).
 *
 * Forward (rows/softmax-row.ts): e_j = exp(x_j - max) with x_j - max split
 * exactly (TwoSum: the difference of two doubles is not a double, and exp
 * magnifies the lost bits), exp to 2^-74 kept as mantissa·2^k, u = Σ_{j≠max} e_j
 * and S = 1 + u in double-double, and y_j = e_j/S rounded once, subnormal or not.
 *
 * Backward: dx = y ⊙ (dy - ⟨dy, y⟩), which cancels whenever dy_i is near the
 * y-weighted mean of dy, and always for the dominant class of a confident
 * row. A fast double-double pass writes the maximum's term as
 * (dy_max·u - Σ_{j≠max} e_j dy_j)/S² and checks every result against the
 * terms it cancelled from; a row where some result cancels by more than 2^16
 * (or is tiny enough to lose bits) is redone exactly: exps to 2^-95, close
 * logits sharing one exp (e_j = e_r·(1 + expm1(d_j - d_r))), and
 * dx_i = e_i·(D_i·S - Σ_j e_j D_j)/S², D = dy - dy_max, summed as exact
 * floating-point expansions. A constant dy then gives exactly 0, and what is
 * left is the error of the exps on the differences that matter.
 *
 * Non-finite rows follow IEEE/PyTorch: NaN or +Infinity anywhere in x makes the
 * row NaN (forward and backward), as does a row of only -Infinity; -Infinity
 * entries otherwise get 0. Non-finite dy gives the plain y ⊙ (dy - ⟨dy, y⟩).
 */
export const softmax = defineActivation({
  name: 'softmax',
  title: 'Softmax',
  summary: 'Turns each row into a probability distribution.',
  kind: 'row',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\operatorname{softmax}(x)_i = \\frac{e^{x_i - \\max_j x_j}}{\\sum_k e^{x_k - \\max_j x_j}}',
  derivative: '\\frac{\\partial L}{\\partial x_i} = y_i \\left(\\frac{\\partial L}{\\partial y_i} - \\sum_j y_j \\frac{\\partial L}{\\partial y_j}\\right)',
  metadata: {
    range: [0, 1],
    zeroCentred: false,
    monotonic: true,
    smooth: true,
    bounded: true,
    kinks: 'None: smooth everywhere.',
    pros: [
      'Outputs a probability distribution over the row, the natural last layer of a classifier.',
      'Invariant to adding a constant to the row, so logits need no normalisation.',
      'Its gradient with cross-entropy is simply y - t, well scaled for training.',
    ],
    cons: [
      'Saturates when one input dominates: the other entries get vanishing gradients.',
      'A row operation: each output depends on the whole row, so it cannot be fused element by element.',
      'Overconfident: large logits give probabilities near 0 and 1 that are poorly calibrated.',
    ],
    references: [{ title: 'Bridle (1990), Probabilistic interpretation of feedforward classification network outputs', url: 'https://doi.org/10.1007/978-3-642-76153-9_28' }],
  },
  example: { inputs: [[1, 2, 3], [0, 0, 0]] },
  forward({ x, rows, cols, out }) {
    softmaxForward(x, rows, cols, 1, out);
  },
  backward({ x, dy, rows, cols, dx }) {
    softmaxBackward(x, dy, rows, cols, 1, dx);
    return undefined;
  },
});
