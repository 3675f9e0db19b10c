import { z } from 'zod';
import { defineActivation } from '../activation.js';
import { gluBackward, gluForward } from '../rows/glu-kernels.js';

/**
 * Gated linear unit and its variants: each row is [a | b], y = a ⊙ act(b),
 * half as wide as the input (GLU with sigmoid, SwiGLU with swish, GeGLU with
 * the exact GELU, ReGLU with relu).
 *
 * Stable forms (rows/gates.ts): sigmoid from e^(−|b|) so it never overflows,
 * σ′ = σ(b)σ(−b); swish from z = βb split exactly, with
 * act′ = σ(z)(1 + zσ(−z)) recomputed from a double-double exp where the
 * bracket cancels (z ≈ −1.28); GELU through the ratio R = Φ/φ tabulated to
 * double-double, so gelu(−38) is right in the subnormal range and
 * gelu′ = φ(R + b) is right next to its root b ≈ −0.75. Products a·act(b),
 * dy·act(b) and dy·a·act′(b) are formed in double-double and rounded once.
 */
export const glu = defineActivation({
  name: 'glu',
  title: 'Gated linear unit',
  summary: 'Splits each row into halves [a | b] and returns a gated by act(b): GLU, SwiGLU, GeGLU or ReGLU.',
  kind: 'row',
  params: z.strictObject({
    activation: z
      .enum(['sigmoid', 'swish', 'gelu', 'relu'])
      .default('sigmoid')
      .describe('The gate act applied to the second half b: sigmoid (GLU), swish (SwiGLU), gelu, the exact erf form (GeGLU), or relu (ReGLU).'),
    beta: z.number().default(1).describe('β of the swish gate b·σ(βb); ignored by the other gates.'),
  }),
  learnable: [],
  formula: '\\operatorname{GLU}(x) = a \\odot \\operatorname{act}(b), \\quad x = [a \\mid b],\\ a, b \\in \\mathbb{R}^{n/2}',
  derivative:
    "\\frac{\\partial L}{\\partial a} = \\frac{\\partial L}{\\partial y} \\odot \\operatorname{act}(b), \\quad \\frac{\\partial L}{\\partial b} = \\frac{\\partial L}{\\partial y} \\odot a \\odot \\operatorname{act}'(b)",
  metadata: {
    range: ['-Infinity', 'Infinity'],
    zeroCentred: true,
    monotonic: false,
    smooth: true,
    bounded: false,
    kinks: "None with the sigmoid, swish and gelu gates; the relu gate (ReGLU) takes relu'(0) = 0.",
    pros: [
      'A learned, input-dependent gate: the network decides per feature how much of a passes.',
      'The linear path through a keeps gradients from vanishing the way a lone sigmoid does.',
      'SwiGLU and GeGLU feed-forward layers train to lower loss than ReLU ones at the same parameter count in Transformers.',
    ],
    cons: [
      'Halves the width: the layer before must produce twice the features, which costs parameters and compute.',
      'The product of two halves makes activations grow quadratically with the inputs, so large inputs can blow up.',
      'The split is positional: the row layout [a | b] must match the producing layer (ONNX SwiGLU puts the gated half second too).',
    ],
    references: [
      { title: 'Dauphin, Fan, Auli & Grangier (2017), Language Modeling with Gated Convolutional Networks', url: 'https://arxiv.org/abs/1612.08083' },
      { title: 'Shazeer (2020), GLU Variants Improve Transformer', url: 'https://arxiv.org/abs/2002.05202' },
    ],
  },
  example: { inputs: [[1, -2, 0.5, -1], [3, 0, -4, 2]], params: { activation: 'sigmoid' } },
  outputCols(cols) {
    return Math.floor(cols / 2);
  },
  checkShape(_params, _rows, cols) {
    if (cols % 2 !== 0) {
      return { path: '/inputs', message: `glu splits each row into two halves, so the row width must be even; it is ${cols}` };
    }
    return undefined;
  },
  forward({ x, rows, cols, params, out }) {
    gluForward(params.activation, params.beta, x, rows, cols, out);
  },
  backward({ x, dy, rows, cols, params, dx }) {
    gluBackward(params.activation, params.beta, x, dy, rows, cols, dx);
    return undefined;
  },
});
