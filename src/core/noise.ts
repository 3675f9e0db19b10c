/**
 * Seeded noise for the stochastic activations (rrelu, noisy_relu in training
 * mode).
 *
 * Reproducibility is the point: forward and backward run as separate
 * requests, so backward must redraw exactly the noise forward drew. Each
 * kernel call makes a fresh stream from the seed and draws one value per
 * element in row-major order, whatever the element's value (NaN included), so
 * the same seed and shape give the same noise in both directions.
 *
 * The generator is pure-rand's xoroshiro128+ (the 32-bit port fast-check
 * uses) and its `uniformFloat64` (53 random bits, [0, 1)). A seed is any
 * non-negative safe integer; its two 32-bit halves are spread over the 128-bit
 * state with murmur3's finaliser, a bijection on 32 bits, so distinct seeds
 * give distinct, well-mixed states (never the all-zero one).
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

/** A seed as the API takes it. */
export const SeedSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A fresh seed for a training request that sent none: a random 32-bit integer. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 32);
}

/** murmur3's fmix32: an invertible 32-bit mixer. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

type Generator = ReturnType<typeof xoroshiro128plusFromState>;

function generatorFor(seed: number): Generator {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32);
  // (hi, lo) is recoverable from the first two words, and the last two cannot both be 0.
  return xoroshiro128plusFromState([fmix32(hi ^ 0x6a09e667), fmix32(lo), fmix32(lo ^ 0xbb67ae85), fmix32(hi ^ 0x3c6ef372)]);
}

/** One reproducible stream of draws. */
export class NoiseStream {
  readonly #rng: Generator;
  #spare = 0;
  #hasSpare = false;

  constructor(seed: number) {
    this.#rng = generatorFor(seed);
  }

  /** Uniform on [0, 1), a multiple of 2^-53. */
  uniform(): number {
    return uniformFloat64(this.#rng);
  }

  /**
   * Standard normal, by Box–Muller: each pair of uniforms gives two
   * independent normals, handed out in turn. 1 − u lies in (0, 1], so the
   * logarithm is finite.
   */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniformFloat64(this.#rng)));
    const theta = 2 * Math.PI * uniformFloat64(this.#rng);
    this.#spare = r * Math.sin(theta);
    this.#hasSpare = true;
    return r * Math.cos(theta);
  }
}

/** The seed a training kernel runs with; resolveParams fills it before any kernel runs. */
export function requireSeed(activation: string, seed: number | undefined): number {
  if (seed === undefined) throw new Error(`${activation} in training mode needs a seed (resolveParams picks one per request)`);
  return seed;
}
