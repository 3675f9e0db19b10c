/**
 * Configuration from the environment, validated once at start-up. A bad value
 * stops the process with a message that names the variable.
 */
import { createRequire } from 'node:module';
import { z } from 'zod';
import { availableCpus } from './cpus.js';

/**
 * Digits only: Number() would also read " " as 0 (which turns limits such as
 * QUEUE_LIMIT and REQUEST_TIMEOUT_MS off), "0x50" as 80 and "1e3" as 1000.
 */
const asWholeNumber = (value: unknown) => (typeof value === 'string' ? (/^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN) : value);

const integer = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    asWholeNumber,
    z
      .number({ error: `${name} must be a whole number, in digits` })
      .int(`${name} must be a whole number`)
      .min(min, `${name} must be at least ${min}`)
      .max(max, `${name} must be at most ${max}`),
  );

/** Timers take at most 2^31 − 1 ms; Node fires a longer one after 1 ms (a shutdown timeout of 2^31 killed at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const milliseconds = (name: string, min: number) => integer(name, min, MAX_TIMER_MS);

/** Fastify's own trust-proxy parser (resolved through Fastify): an address list it cannot read fails at start, not later. */
const proxyAddr = createRequire(createRequire(import.meta.url).resolve('fastify'))('@fastify/proxy-addr') as {
  compile(values: string[]): unknown;
};

export const ConfigSchema = z.object({
  PORT: integer('PORT', 0, 65535).default(3000).describe('TCP port to listen on (0 picks a free one).'),
  HOST: z.string().min(1).default('127.0.0.1').describe('Address to bind; the container sets 0.0.0.0.'),
  HTTP_PROCESSES: integer('HTTP_PROCESSES', 1, 256)
    .default(1)
    .describe('Server processes sharing the port (node:cluster), each with its own event loop and worker pool; more than 1 multiplies small-request throughput.'),
  WORKERS: integer('WORKERS', 1, 256)
    .default(() => availableCpus())
    .describe('Worker threads in the compute pool of each server process (default: the CPUs available, cgroup CPU quota included, divided among HTTP_PROCESSES).'),
  MAX_ELEMENTS: integer('MAX_ELEMENTS', 1)
    .default(4_194_304)
    .describe("Most numbers in each of a request's inputs, grad_outputs and answer; above it, 413."),
  BODY_LIMIT: integer('BODY_LIMIT', 1024).default(64 * 1024 * 1024).describe('Largest request body in bytes; above it, 413.'),
  INLINE_MAX_ELEMENTS: integer('INLINE_MAX_ELEMENTS', 0)
    .default(16_384)
    .describe('Batches of at most this many numbers run on the main thread; larger ones go to the pool.'),
  RAW_BODY_MIN_BYTES: integer('RAW_BODY_MIN_BYTES', 0)
    .default(65_536)
    .describe(
      'Compute request bodies of at least this many bytes skip the event loop: a worker parses, validates, computes and serializes them (0: never).',
    ),
  TENSOR_POOL_BYTES: integer('TENSOR_POOL_BYTES', 0)
    .default(128 * 1024 * 1024)
    .describe(
      'Memory kept for reuse by large binary /v2 tensors between requests, let go after 30 to 45 s unused (0: every tensor allocated afresh).',
    ),
  WORKER_NICE: integer('WORKER_NICE', 0, 19)
    .default(10)
    .describe(
      'How much nicer than the main thread the worker threads run (Linux): under load the event loop (I/O, health checks) gets the CPU first (0: the same).',
    ),
  QUEUE_LIMIT: integer('QUEUE_LIMIT', 0)
    .default(256)
    .describe('Tasks that may wait for a worker; beyond it, 503 with Retry-After.'),
  TASK_TIMEOUT_MS: milliseconds('TASK_TIMEOUT_MS', 1).default(30_000).describe('A pooled computation running longer answers 504.'),
  SHUTDOWN_TIMEOUT_MS: milliseconds('SHUTDOWN_TIMEOUT_MS', 1)
    .default(40_000)
    .describe('After SIGTERM/SIGINT, how long requests in flight may take to finish before the process exits 1 anyway.'),
  REQUEST_TIMEOUT_MS: milliseconds('REQUEST_TIMEOUT_MS', 0)
    .default(60_000)
    .describe('Longest time to receive a whole request, headers and body (0: no limit); past it, 408.'),
  CONNECTION_TIMEOUT_MS: milliseconds('CONNECTION_TIMEOUT_MS', 0)
    .default(120_000)
    .describe('A connection idle this long is closed (0: never); must exceed TASK_TIMEOUT_MS.'),
  KEEP_ALIVE_TIMEOUT_MS: milliseconds('KEEP_ALIVE_TIMEOUT_MS', 1)
    .default(72_000)
    .describe('How long an idle keep-alive connection stays open; longer than the load balancer idle timeout.'),
  MAX_HEADER_SIZE: integer('MAX_HEADER_SIZE', 1024, 1024 * 1024)
    .default(16_384)
    .describe('Largest total size of the request line and headers in bytes; above it, 431.'),
  MAX_PARAM_LENGTH: integer('MAX_PARAM_LENGTH', 16, 10_000)
    .default(100)
    .describe('Longest path parameter (an activation name) in characters; above it, 414.'),
  MAX_EVENT_LOOP_DELAY_MS: milliseconds('MAX_EVENT_LOOP_DELAY_MS', 0)
    .default(1_000)
    .describe('Mean event-loop delay over a second above which requests are shed with 503 and /readyz is unready (0: off).'),
  MAX_HEAP_USED_BYTES: integer('MAX_HEAP_USED_BYTES', 0)
    .default(0)
    .describe('V8 heap used above which requests are shed with 503 and /readyz is unready (0: off).'),
  API_KEY: z
    .string()
    .min(16, 'API_KEY must be at least 16 characters')
    // A Bearer token cannot carry whitespace, so such a key (a trailing newline from a secret file) matched nothing.
    .regex(/^\S+$/, 'API_KEY must not contain whitespace (a trailing newline from a file?): no Authorization header can carry it')
    .optional()
    .describe('When set, /v1 routes and /v2/models/* need `Authorization: Bearer <API_KEY>`; health, metrics and docs stay open.'),
  RATE_LIMIT_MAX: integer('RATE_LIMIT_MAX', 0)
    .default(0)
    .describe('Requests to /v1 and /v2/models/* one client (IP address) may make per RATE_LIMIT_WINDOW_MS; beyond it, 429 (0: off).'),
  RATE_LIMIT_WINDOW_MS: milliseconds('RATE_LIMIT_WINDOW_MS', 1).default(60_000).describe('The rate-limit window.'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const origins = value
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== '');
      // Each as the browser writes it in the Origin header (lower case, no default port), or it never matches:
      // https://App.Example.com was accepted and matched nothing.
      return origins.map((origin) => {
        if (origin === '*') return origin;
        const url = /^https?:\/\/[^/\s@]+$/i.test(origin) ? URL.parse(origin) : null;
        if (!url) {
          ctx.addIssue({ code: 'custom', message: `CORS_ORIGINS entries must be * or an origin like https://example.com, not ${JSON.stringify(origin)}` });
          return origin;
        }
        return url.origin;
      });
    })
    .describe('Comma-separated origins allowed to call the API from a browser, or * (empty: CORS off).'),
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value, ctx): boolean | number | string[] => {
      const v = value.trim();
      if (/^(false|)$/i.test(v)) return false;
      if (/^true$/i.test(v)) return true;
      if (/^\d+$/.test(v)) return Number(v);
      const addresses = v.split(',').map((a) => a.trim());
      try {
        proxyAddr.compile(addresses);
      } catch (error) {
        // "TRUE " or "10.0.0.0/8," crashed the start with proxy-addr's stack trace.
        ctx.addIssue({ code: 'custom', message: `TRUST_PROXY must be true, false, a hop count, or addresses/CIDRs separated by commas (${(error as Error).message})` });
      }
      return addresses;
    })
    .describe('Trust X-Forwarded-For from: false, true, a hop count, or comma-separated addresses/CIDRs; sets the client IP the rate limit counts by.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info')
    .describe('pino log level.'),
}).superRefine((config, ctx) => {
  // Both would cut off a computation that is still within its own time limit.
  if (config.SHUTDOWN_TIMEOUT_MS <= config.TASK_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['SHUTDOWN_TIMEOUT_MS'],
      message: `SHUTDOWN_TIMEOUT_MS must be greater than TASK_TIMEOUT_MS (${config.TASK_TIMEOUT_MS}), so requests in flight can finish`,
    });
  }
  if (config.CONNECTION_TIMEOUT_MS !== 0 && config.CONNECTION_TIMEOUT_MS <= config.TASK_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['CONNECTION_TIMEOUT_MS'],
      message: `CONNECTION_TIMEOUT_MS must be 0 or greater than TASK_TIMEOUT_MS (${config.TASK_TIMEOUT_MS})`,
    });
  }
});

/** Values never echoed in messages or logs. */
const SECRETS = new Set(['API_KEY']);

export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const keys = configKeys();
  const raw = Object.fromEntries(keys.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const got = (key: string) => {
      const value = raw[key];
      if (value === undefined) return 'the default';
      return SECRETS.has(key) ? `${value.length} characters` : JSON.stringify(value);
    };
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${got(String(i.path[0]))})`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

/** Every configuration variable's name. */
export function configKeys(): (keyof Config & string)[] {
  return Object.keys(ConfigSchema.shape) as (keyof Config & string)[];
}

/** Config for tests and tools: defaults, overridden. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  // Load shedding off unless a test turns it on: a test that keeps the loop busy on purpose must not see 503s from another.
  return { ...ConfigSchema.parse({}), LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: 0, ...overrides };
}
