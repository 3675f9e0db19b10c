/**
 * Prometheus metrics, one prom-client Registry per app (never the global
 * default registry, so tests can build several apps in one process). Served
 * by routes/metrics.ts at GET /metrics; with HTTP_PROCESSES > 1 summed over
 * every server process by the primary (src/cluster.ts).
 *
 * - http_requests_total, http_request_duration_seconds: per method, route
 *   template, activation and status (onResponse, so errors count too;
 *   status 499 for a request whose client left first, plugins/abandoned.ts).
 * - activation_computations_total, activation_elements_total: per activation,
 *   operation and placement (inline or pool), from the compute engine.
 * - activation_pool_*: threads, utilisation, queue depth, running and
 *   completed tasks, read from the pool at scrape time.
 * - activation_overloaded: 1 while load shedding is on.
 * - prom-client's default metrics: process CPU, memory, GC, handles, and the
 *   event-loop delay (nodejs_eventloop_lag_*).
 *
 * Registered after the compute plugin (it observes the engine) and before the
 * routes (its onResponse hook must cover them all).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { clusterMetrics, isClusterServer, shareMetrics } from '../cluster.js';
import { ProblemError } from '../errors.js';
import { describeRequest } from './request-info.js';
import { TalliedHistogram, type Series } from './tallied-histogram.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: {
      registry: Registry;
      /** The exposition: this registry's, or with HTTP_PROCESSES > 1 the sum over every server process. */
      text(): Promise<string>;
      /**
       * Counts an answer sent outside the routes' hooks (plugins/error-handler.ts frameworkErrors), or a request
       * whose connection closed before its answer (plugins/abandoned.ts) with the `status` given.
       */
      observe(request: FastifyRequest, reply: FastifyReply, status?: number): void;
    };
  }
}

const HTTP_LABELS = ['method', 'route', 'activation', 'status'] as const;
const COMPUTE_LABELS = ['activation', 'operation', 'placement'] as const;

interface HttpTally {
  readonly labels: Record<(typeof HTTP_LABELS)[number], string>;
  count: number;
  readonly duration: Series;
}

interface ComputeTally {
  readonly labels: Record<(typeof COMPUTE_LABELS)[number], string>;
  computations: number;
  elements: number;
}

/** A counter's collect(): the running totals of its label sets, as tallied. */
function totalsOf<T extends { readonly labels: Record<string, string> }>(tallies: Map<string, T>, total: (tally: T) => number) {
  return function (this: Counter) {
    this.reset();
    for (const tally of tallies.values()) this.inc(tally.labels, total(tally));
  };
}

/** A server process that does not report within prom-client's 5 s has its event loop held up: the sum would be wrong. */
const notGathered = (error: Error): never => {
  throw new ProblemError('ACT_ERR_OVERLOADED', `The metrics of every server process could not be gathered (${error.message}); retry shortly.`, {
    headers: { 'retry-after': '5' },
  });
};

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  // Counts are tallied as plain numbers on the request path and handed to prom-client when it is scraped
  // (each counter's collect; the latency histogram is a TalliedHistogram): a labelled child's inc() or
  // observe() re-hashes and re-validates its labels on every call (docs/BENCHMARKS.md).
  const httpTallies = new Map<string, HttpTally>();
  const computeTallies = new Map<string, ComputeTally>();
  new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template, activation and status.',
    labelNames: HTTP_LABELS,
    registers,
    collect: totalsOf(httpTallies, (tally) => tally.count),
  });
  const duration = new TalliedHistogram(
    'http_request_duration_seconds',
    'Time from receiving a request to finishing its answer, by method, route template, activation and status.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  registry.registerMetric(duration.asMetric());
  new Counter({
    name: 'activation_computations_total',
    help: 'Successful computations, by activation, operation (forward, backward) and placement (inline, pool).',
    labelNames: COMPUTE_LABELS,
    registers,
    collect: totalsOf(computeTallies, (tally) => tally.computations),
  });
  new Counter({
    name: 'activation_elements_total',
    help: 'Numbers computed (rows × cols of inputs), by activation, operation and placement.',
    labelNames: COMPUTE_LABELS,
    registers,
    collect: totalsOf(computeTallies, (tally) => tally.elements),
  });

  const engine = app.compute;
  const pool = engine.pool;
  engine.onComputed((c) => {
    const key = `${c.activation}\0${c.operation}\0${c.placement}`;
    let tally = computeTallies.get(key);
    if (!tally) {
      tally = { labels: { activation: c.activation, operation: c.operation, placement: c.placement }, computations: 0, elements: 0 };
      computeTallies.set(key, tally);
    }
    tally.computations += 1;
    tally.elements += c.elements;
  });

  new Gauge({
    name: 'activation_pool_threads',
    help: 'Worker threads in the compute pool.',
    registers,
    collect() {
      this.set(pool.threads.length);
    },
  });
  new Gauge({
    name: 'activation_pool_utilization',
    help: "The pool's utilisation, 0 to 1: mean task run time over the capacity of its threads since it started (Piscina).",
    registers,
    aggregator: 'average',
    collect() {
      this.set(pool.utilization);
    },
  });
  new Gauge({
    name: 'activation_pool_queue_depth',
    help: 'Pooled tasks waiting for a worker (at most QUEUE_LIMIT).',
    registers,
    collect() {
      this.set(engine.queueDepth());
    },
  });
  new Gauge({
    name: 'activation_pool_tasks_running',
    help: 'Pooled tasks on a worker now.',
    registers,
    collect() {
      this.set(engine.running());
    },
  });
  new Counter({
    name: 'activation_pool_tasks_completed_total',
    help: 'Tasks the pool has completed since it started.',
    registers,
    collect() {
      const completed = pool.completed;
      this.reset();
      if (completed > 0) this.inc(completed);
    },
  });
  new Counter({
    name: 'activation_pool_tasks_dropped_total',
    help: 'Pooled tasks dropped before they started because their client had closed the connection.',
    registers,
    collect() {
      const dropped = engine.dropped();
      this.reset();
      if (dropped > 0) this.inc(dropped);
    },
  });
  new Gauge({
    name: 'activation_tensor_pool_free_bytes',
    help: 'Shared memory kept for reuse by large binary /v2 tensors and not in use now (at most TENSOR_POOL_BYTES).',
    registers,
    collect() {
      this.set(engine.tensorPool?.freeBytes ?? 0);
    },
  });
  new Gauge({
    name: 'activation_overloaded',
    help: '1 while requests are shed because the event-loop delay or the heap is over its limit, else 0.',
    registers,
    aggregator: 'max',
    collect() {
      this.set(app.hasDecorator('isUnderPressure') && app.isUnderPressure() ? 1 : 0);
    },
  });

  const observe = (request: FastifyRequest, reply: FastifyReply, status = reply.statusCode): void => {
    const info = describeRequest(request, reply, engine.placement);
    const activation = info.activation ?? '';
    const key = `${request.method}\0${info.route}\0${activation}\0${status}`;
    let tally = httpTallies.get(key);
    if (!tally) {
      const labels = { method: request.method, route: info.route, activation, status: String(status) };
      tally = { labels, count: 0, duration: duration.series(labels) };
      httpTallies.set(key, tally);
    }
    tally.count += 1;
    duration.observe(tally.duration, reply.elapsedTime / 1000);
  };
  // With HTTP_PROCESSES > 1 a scrape reaches one process; the primary sums them all (src/cluster.ts).
  const clustered = isClusterServer();
  if (clustered) shareMetrics(registry);
  const text = () => (clustered ? clusterMetrics().catch(notGathered) : registry.metrics());
  app.decorate('metrics', { registry, observe, text });

  app.addHook('onResponse', (request, reply, done) => {
    observe(request, reply);
    done();
  });

  app.addHook('onClose', async () => {
    registry.clear();
  });
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['compute'] });
