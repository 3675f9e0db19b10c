/**
 * HTTP_PROCESSES > 1: a primary process starts that many server processes
 * (node:cluster), which share the listening socket and each run the whole
 * app with its own worker pool.
 *
 * Why: one event loop reads, routes, validates and answers every request;
 * the pool takes only the heavy computing and the JSON of large bodies. For
 * small requests that loop is the limit, whatever the CPU count (this is how
 * the FastAPI baseline of the performance issue ran: two worker processes).
 * Connections are dealt out in turn (the primary accepts and hands each one
 * over), so a kept-alive client stays with one process.
 *
 * The primary serves nothing itself. It:
 * - starts the processes; WORKERS, when not set, becomes the CPUs divided
 *   among them (rounded up), so the pools together match the CPUs;
 * - starts another when one exits on its own after it was listening (logged
 *   as an error); if one exits before it ever listened (port in use, a bad
 *   start), it closes the rest and exits 1;
 * - on SIGTERM/SIGINT asks each process to close as a lone server does
 *   (finish what it accepted, then exit 0), and exits 0 when all did, else 1;
 *   a second signal, or SHUTDOWN_TIMEOUT_MS plus a grace of 5 s, ends them
 *   at once with exit 1;
 * - answers GET /metrics for all of them: the process that took the scrape
 *   asks the primary, which gathers every process's registry (prom-client's
 *   AggregatorRegistry: counts and histograms summed, gauges as each says).
 */
import cluster, { type Worker } from 'node:cluster';
import { pino } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from './config.js';
import { availableCpus } from './cpus.js';

const METRICS_REQUEST = 'activation-service:metrics-request';
const METRICS_ANSWER = 'activation-service:metrics-answer';
const SHUTDOWN = 'activation-service:shutdown';
/** Beyond the processes' own SHUTDOWN_TIMEOUT_MS: time to exit after it. */
const SHUTDOWN_GRACE_MS = 5_000;
/** How long a scrape waits for the primary; prom-client itself gives each process 5 s. */
const METRICS_TIMEOUT_MS = 10_000;

interface Message {
  type?: unknown;
  id?: unknown;
  text?: unknown;
  error?: unknown;
}

/** Sends to a server process; one that is already exiting cannot read it, and its exit is handled on its own. */
const tell = (worker: Worker, message: Message) => {
  if (worker.isConnected()) worker.send(message, () => {});
};

/** True in a server process started by the primary of HTTP_PROCESSES > 1. */
export const isClusterServer = (): boolean => cluster.isWorker;

/** The primary: starts config.HTTP_PROCESSES server processes and looks after them until a signal. */
export function superviseServers(config: Config, env: NodeJS.ProcessEnv = process.env): void {
  // Written synchronously: pino's default stream writes asynchronously, and around process.exit a line came out
  // after the 'closed' line logged after it (twice in loaded test runs).
  const log = pino({ level: config.LOG_LEVEL }, pino.destination({ dest: 1, sync: true }));
  const count = config.HTTP_PROCESSES;
  const workersEach = env.WORKERS ? undefined : String(Math.ceil(availableCpus() / count));
  const listened = new Set<number>();
  let closing = false;
  let failed = false;

  // Not cluster.workers: a process leaves it on disconnecting, before it has finished and exited.
  const running = new Set<Worker>();
  const start = () => running.add(cluster.fork(workersEach ? { WORKERS: workersEach } : {}));

  /** While closing: exits once the last server process has. */
  const exitWhenNoneLeft = () => {
    if (running.size > 0) return;
    log.info({ failed }, 'closed');
    process.exit(failed ? 1 : 0);
  };
  const killAll = (why: string, details: object) => {
    log.error(details, why);
    for (const worker of running) worker.process.kill('SIGKILL');
    process.exit(1);
  };

  const closeAll = (why: string) => {
    if (closing) return;
    closing = true;
    log.info({ why, processes: running.size, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'closing: asking every server process to finish and exit');
    // One still starting is told once it listens: before that it has no one to hear it (server.ts).
    for (const worker of running) if (listened.has(worker.id)) tell(worker, { type: SHUTDOWN });
    const timeoutMs = config.SHUTDOWN_TIMEOUT_MS + SHUTDOWN_GRACE_MS;
    setTimeout(() => killAll('server processes still running after the shutdown timeout: killing them', { timeoutMs }), timeoutMs).unref();
    exitWhenNoneLeft();
  };

  cluster.on('listening', (worker, address) => {
    if (listened.has(worker.id)) return;
    listened.add(worker.id);
    if (closing) return tell(worker, { type: SHUTDOWN });
    log.debug({ serverPid: worker.process.pid, port: address.port }, 'server process listening');
    if (listened.size === count) log.info({ processes: count, port: address.port }, 'serving from every server process');
  });

  cluster.on('exit', (worker, code, signal) => {
    running.delete(worker);
    const exit = { serverPid: worker.process.pid, code, signal };
    if (closing) {
      if (code !== 0) failed = true;
      log.info(exit, 'server process exited');
      exitWhenNoneLeft();
      return;
    }
    if (!listened.has(worker.id)) {
      // A start that fails will fail again (port in use, bad options): stop rather than loop.
      failed = true;
      log.error(exit, 'a server process exited before it was listening: closing the others');
      closeAll('a server process could not start');
      return;
    }
    listened.delete(worker.id);
    log.error(exit, 'a server process exited unexpectedly: starting another');
    start();
  });

  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Message) => {
    if (message?.type !== METRICS_REQUEST) return;
    const answer = (reply: Omit<Message, 'type' | 'id'>) => tell(worker, { type: METRICS_ANSWER, id: message.id, ...reply });
    aggregator.clusterMetrics().then(
      (text) => answer({ text }),
      (error: unknown) => answer({ error: error instanceof Error ? error.message : String(error) }),
    );
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (!closing) return closeAll(signal);
      killAll('second signal: ending the server processes now', { signal });
    });
  }

  log.info({ processes: count, workersEach: Number(workersEach ?? env.WORKERS) }, 'starting server processes');
  for (let i = 0; i < count; i++) start();
}

/** In a server process: close (as on a signal) when the primary asks. */
export function closeWhenAsked(close: () => void): void {
  process.on('message', (message: Message) => {
    if (message?.type === SHUTDOWN) close();
  });
}

/** In a server process: lets the primary read this registry for the sum over all processes. */
export function shareMetrics(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Its constructor is what answers the primary's requests for this process's metrics.
  new AggregatorRegistry();
  // And this one the primary's answers to clusterMetrics().
  process.on('message', onAnswer);
}

let nextRequest = 0;
const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

/** In a server process (after shareMetrics): every process's metrics, summed by the primary, in the Prometheus text format. */
export function clusterMetrics(): Promise<string> {
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(id, { error: `no metrics from the primary process within ${METRICS_TIMEOUT_MS} ms` }), METRICS_TIMEOUT_MS);
    pending.set(id, { resolve, reject, timer });
    process.send!({ type: METRICS_REQUEST, id });
  });
}

function onAnswer(message: Message): void {
  if (message?.type === METRICS_ANSWER && typeof message.id === 'number') settle(message.id, message);
}

function settle(id: number, message: Message): void {
  const request = pending.get(id);
  if (!request) return;
  pending.delete(id);
  clearTimeout(request.timer);
  if (typeof message.text === 'string') request.resolve(message.text);
  else request.reject(new Error(String(message.error)));
}
