/**
 * Configuration from the environment, validated once at start-up. A bad value
 * stops the process with a message that names the variable.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

export const ConfigSchema = z.object({
  PORT: integer('PORT', 0, 65535).default(3000).describe('TCP port to listen on (0 picks a free one).'),
  HOST: z.string().min(1).default('127.0.0.1').describe('Address to bind; the container sets 0.0.0.0.'),
  WORKERS: integer('WORKERS', 1, 256)
    .default(availableParallelism())
    .describe('Worker threads in the compute pool (default: the CPUs available).'),
  MAX_ELEMENTS: integer('MAX_ELEMENTS', 1).default(4_194_304).describe('Most numbers one request may carry; above it, 413.'),
  BODY_LIMIT: integer('BODY_LIMIT', 1024).default(64 * 1024 * 1024).describe('Largest request body in bytes; above it, 413.'),
  INLINE_MAX_ELEMENTS: integer('INLINE_MAX_ELEMENTS', 0)
    .default(16_384)
    .describe('Batches of at most this many numbers run on the main thread; larger ones go to the pool.'),
  QUEUE_LIMIT: integer('QUEUE_LIMIT', 0)
    .default(256)
    .describe('Tasks that may wait for a worker; beyond it, 503 with Retry-After.'),
  TASK_TIMEOUT_MS: integer('TASK_TIMEOUT_MS', 1).default(30_000).describe('A pooled computation running longer answers 504.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info')
    .describe('pino log level.'),
});

export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const keys = Object.keys(ConfigSchema.shape) as (keyof typeof ConfigSchema.shape)[];
  const raw = Object.fromEntries(keys.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(raw[String(i.path[0])])})`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

/** Config for tests and tools: defaults, overridden. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...ConfigSchema.parse({}), LOG_LEVEL: 'silent', ...overrides };
}
