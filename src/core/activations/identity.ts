import { z } from 'zod';
import { defineActivation } from '../activation.js';

/**
 * Identity, f(x) = x: the "no activation" of a linear output layer.
 *
 * Forward copies x and backward copies dy, so every value (NaN, ±Infinity,
 * −0) passes through bit for bit.
 */
export const identity = defineActivation({
  name: 'identity',
  title: 'Identity',
  summary: 'Returns its input unchanged (a linear unit).',
  kind: 'elementwise',
  params: z.strictObject({}),
  learnable: [],
  formula: 'f(x) = x',
  derivative: "f'(x) = 1",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: true,
    monotonic: true,
    smooth: true,
    bounded: false,
    kinks: 'None: the derivative is 1 everywhere.',
    pros: [
      'Passes gradients through unchanged: nothing vanishes, nothing dies.',
      'The right output for regression, where targets are unbounded reals.',
      'Free: a copy.',
    ],
    cons: [
      'Adds no non-linearity: a stack of layers with identity activations collapses to one linear map.',
      'Unbounded, so nothing keeps activations from growing through the network.',
    ],
    references: [
      { title: 'PyTorch documentation, torch.nn.Identity', url: 'https://pytorch.org/docs/stable/generated/torch.nn.Identity.html' },
      { title: 'Goodfellow, Bengio & Courville (2016), Deep Learning, §6.2.2.1 Linear units for Gaussian output distributions', url: 'https://www.deeplearningbook.org/contents/mlp.html' },
    ],
  },
  example: { inputs: [[-2, -0.5, 0, 0.5, 2]] },
  forward({ x, out }) {
    out.set(x);
  },
  backward({ dy, dx }) {
    dx.set(dy);
    return undefined;
  },
});
