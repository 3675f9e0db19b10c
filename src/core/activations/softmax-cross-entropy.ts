import { z } from 'zod';
import { defineActivation, type ShapeIssue } from '../activation.js';
import { sceBackward, sceForward, type Targets } from '../rows/softmax-family.js';

/** How far a probability row's sum may be from 1 (float inputs such as 0.1 + 0.2 + 0.7 rarely sum to exactly 1). */
const SUM_TOLERANCE = 1e-6;

const TargetsSchema = z
  .union([
    z.array(z.number().int().nonnegative()).min(1).describe('One class index per row, 0 ≤ index < cols.'),
    z.array(z.array(z.number()).min(1)).min(1).describe('One probability row per row: cols numbers in [0, 1] summing to 1.'),
  ], { error: 'expected one class index per row (an integer ≥ 0) or one probability row per row (an array of numbers)' })
  .describe('The targets: one class index per row, or one probability row per row.');

const GradLossSchema = z
  .array(z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]))
  .min(1)
  .optional()
  .describe('dL/dloss, one number per row (default 1); an alternative to grad_outputs of shape [rows][1]. When both are sent, grad_loss is used.');

/** What the kernels see: the (empty) params plus the body fields. */
interface KernelParams {
  targets?: Targets;
  grad_loss?: readonly (number | string)[];
}

function checkTargets(targets: Targets, rows: number, cols: number): ShapeIssue | undefined {
  if (targets === undefined) return { path: '/targets', message: 'softmax_cross_entropy needs targets' };
  if (targets.length !== rows) {
    return { path: '/targets', message: `expected one target per row (${rows}), got ${targets.length}` };
  }
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (typeof t === 'number') {
      if (t >= cols) return { path: `/targets/${r}`, message: `class index ${t} is out of range for rows of ${cols} logits (0 … ${cols - 1})` };
      continue;
    }
    if (t.length !== cols) return { path: `/targets/${r}`, message: `expected a probability row of ${cols} numbers, got ${t.length}` };
    let sum = 0;
    let c = 0;
    for (let j = 0; j < cols; j++) {
      const v = t[j];
      if (!(v >= 0 && v <= 1)) return { path: `/targets/${r}/${j}`, message: `a probability must lie in [0, 1], got ${v}` };
      // Neumaier sum, so the check itself does not round a row of exact fractions away from 1.
      const s = sum + v;
      c += Math.abs(sum) >= v ? sum - s + v : v - s + sum;
      sum = s;
    }
    if (Math.abs(sum + c - 1) > SUM_TOLERANCE) {
      return { path: `/targets/${r}`, message: `a probability row must sum to 1 (within ${SUM_TOLERANCE}), this one sums to ${sum + c}` };
    }
  }
  return undefined;
}

/**
 * Softmax cross-entropy, fused: loss_r = −Σ_i t_i·log_softmax(x_r)_i, one
 * number per row, with targets as class indices or probability rows.
 *
 * Stable form (rows/softmax-family.ts): loss = log S − d_c for a class c, or
 * Σ t_i (log S − d_i), where d = x − max exactly (TwoSum) and
 * log S = log1p(Σ_{j≠max} e^(d_j)) in double-double; every term is ≥ 0, so
 * nothing cancels, and a near-zero loss (a confident right answer) keeps its
 * relative precision down to the subnormals. Backward
 * dx = (softmax(x) − t)·dloss with p_max − t = (1 − t) − u/S, so 1 − p for a
 * confident right answer is not lost to rounding; where p_i − t_i still
 * cancels the row is redone with a double-double exp.
 *
 * dloss comes from `grad_loss` (one number per row) if sent, else from
 * `grad_outputs` ([rows][1]), else 1. The kernels are total: called without
 * targets (never through the API, where they are required) they use the
 * uniform distribution.
 */
export const softmaxCrossEntropy = defineActivation({
  name: 'softmax_cross_entropy',
  title: 'Softmax cross-entropy',
  summary: 'The cross-entropy loss of softmax(x) against targets, one number per row, fused for stability.',
  kind: 'row',
  params: z.strictObject({}),
  learnable: [],
  formula: '\\ell = -\\sum_i t_i \\log \\operatorname{softmax}(x)_i = \\sum_i t_i \\left(m + \\log \\sum_j e^{x_j - m} - x_i\\right)',
  derivative: '\\frac{\\partial L}{\\partial x_i} = \\left(\\operatorname{softmax}(x)_i - t_i\\right) \\frac{\\partial L}{\\partial \\ell}',
  metadata: {
    range: [0, 'Infinity'],
    zeroCentred: false,
    monotonic: false,
    smooth: true,
    bounded: false,
    kinks: 'None: smooth everywhere.',
    pros: [
      'The fused form never takes log(0): logits of ±1000 give a finite loss and gradient.',
      'Its gradient softmax − target is bounded and does not vanish when the model is confidently wrong.',
      'Takes hard labels (class indices) or soft ones (label smoothing, distillation) alike.',
    ],
    cons: [
      'A loss, not a layer: it needs targets, and its output is one number per row.',
      'Overconfident models are rewarded until logits grow without bound unless regularised (label smoothing, weight decay).',
      'Soft targets must be a distribution; the loss is not minimised at zero unless the targets are one-hot.',
    ],
    references: [
      { title: 'PyTorch documentation, torch.nn.CrossEntropyLoss', url: 'https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html' },
      { title: 'Goodfellow, Bengio & Courville (2016), Deep Learning, §6.2.2.3 Softmax Units', url: 'https://www.deeplearningbook.org/contents/mlp.html' },
    ],
  },
  example: { inputs: [[2, 1, 0.1], [1000, 0, -1000]], body: { targets: [0, 1] } },
  bodyFields: { targets: TargetsSchema },
  backwardBodyFields: { grad_loss: GradLossSchema },
  gradOutputsOptional: true,
  outputCols() {
    return 1;
  },
  checkShape(params, rows, cols) {
    const p = params as KernelParams;
    const issue = checkTargets(p.targets, rows, cols);
    if (issue) return issue;
    if (p.grad_loss !== undefined && p.grad_loss.length !== rows) {
      return { path: '/grad_loss', message: `expected one number per row (${rows}), got ${p.grad_loss.length}` };
    }
    return undefined;
  },
  forward({ x, rows, cols, params, out }) {
    sceForward(x, rows, cols, (params as KernelParams).targets, out);
  },
  backward({ x, dy, rows, cols, params, dx }) {
    const p = params as KernelParams;
    const gradLoss = p.grad_loss?.map(Number);
    sceBackward(x, dy, gradLoss, rows, cols, p.targets, dx);
    return undefined;
  },
});
