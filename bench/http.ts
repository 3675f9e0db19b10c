/**
 * npm run bench:http — HTTP throughput of the built server (dist/, started as
 * a separate process on 127.0.0.1) under autocannon, 64 connections, fixed
 * duration per scenario, against a ceiling measured in the same run: a
 * minimal Fastify echo of the same JSON (of the same bytes, for the binary
 * /v2 scenarios). While the large and binary scenarios run, a second client
 * polls /healthz and reports its p99. Ends with an overload
 * scenario (small queue, many connections): quick 503s, then recovery.
 *
 *   BENCH_SECONDS=10 (default)   seconds per scenario, in BENCH_ROUNDS slices
 *   BENCH_ROUNDS=5 (default)     the scenarios of one size (echo included) take turns, a slice each per
 *                                round, so that a drift in the machine's speed (a shared host) falls on all alike
 *   BENCH_FILTER=large           only scenarios whose label contains it
 *   BENCH_WARMUP=1 (default)     unmeasured seconds before each scenario
 * Every slice (and warm-up) starts once both servers are idle again: a server goes on working off its
 * backlog after the load stops, and that work would fall into the next slice (server-process.ts, settle).
 *   BENCH_DIST=/path/to/dist     the built server to run (default dist/)
 *   BENCH_PROCESSES=2 (default)  also run the sigmoid and binary scenarios on a second instance with
 *                                HTTP_PROCESSES at this (labels end ", N processes"; 1: not)
 *   BENCH_JSON=results.json      also write the figures as JSON (for docs/bench-chart.ts)
 * The service's own settings (WORKERS, RAW_BODY_MIN_BYTES, ...) pass through the environment.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { settle, startOptions, startServer, stopServer, type ServerProcess } from './server-process.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 64;
const FILTER = process.env.BENCH_FILTER ?? '';
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const DIST = process.env.BENCH_DIST ?? new URL('../dist', import.meta.url).pathname;
const PROCESSES = Math.max(1, Number(process.env.BENCH_PROCESSES ?? 2));

function batch(rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => Math.sin(r * 131 + c * 7.7) * 6));
}

interface Result {
  label: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  floatsPerSec: number;
  errors: number;
  non2xx: number;
  healthP99?: number;
  /** Bytes per number on the wire, for float MB/s (8 unless a binary FP32 scenario says 4). */
  floatBytes?: number;
  /** Label of the echo that parses and echoes the same body: the ceiling this scenario is set against. */
  ceiling?: string;
}

/**
 * Polls GET /healthz every 20 ms from a worker thread of its own, so the
 * latencies are the server's, not this process's event loop (busy with
 * autocannon's responses). stop() returns them, in ms.
 */
function pollHealthz(url: string): { stop(): Promise<number[]> } {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    let polling = true;
    const times = [];
    parentPort.once('message', () => { polling = false; });
    (async () => {
      while (polling) {
        const t = performance.now();
        await fetch(workerData).then((r) => r.text());
        times.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
      parentPort.postMessage(times);
    })();`,
    { eval: true, workerData: url },
  );
  return {
    async stop() {
      worker.postMessage('stop');
      const [times] = (await once(worker, 'message')) as [number[]];
      await worker.terminate();
      return times;
    },
  };
}

/** What a scenario sends: `numbers` per request, for the numbers/s and float MB/s figures. */
interface Scenario {
  label: string;
  url: string;
  body: string | Buffer;
  numbers: number;
  headers?: Record<string, string>;
  /** Bytes per number on the wire (8 unless a binary FP32 scenario says 4). */
  floatBytes?: number;
  /** Poll this /healthz meanwhile. */
  pollHealth?: string;
  connections?: number;
  /** Label of the echo scenario with the same body. */
  ceiling?: string;
}

/**
 * autocannon 9 decodes every response body into a string (mcollina/autocannon#485),
 * which nothing here reads: for 256 KB binary answers that took half of one of
 * the two cores from the server. Bytes are still counted (on 'data', before parsing).
 */
function skipBodyDecoding(client: unknown): void {
  (client as { pipelinedRequests: { addBody(data: unknown): void } }).pipelinedRequests.addBody = () => {};
}

/** Every server process of the run, for `settle` between slices. */
const running: ServerProcess[] = [];

/** One autocannon run of a scenario, `seconds` long (after an unmeasured warm-up when asked), on idle servers. */
async function load(scenario: Scenario, seconds: number, warmup: boolean) {
  const request = {
    url: scenario.url,
    method: 'POST' as const,
    headers: scenario.headers ?? { 'content-type': 'application/json' },
    body: scenario.body,
    setupClient: skipBodyDecoding,
  };
  const connections = scenario.connections ?? CONNECTIONS;
  await settle(running);
  // Unmeasured warm-up: the first second of a cold route is JIT compilation, not throughput.
  if (WARMUP > 0 && warmup) {
    await autocannon({ ...request, connections, duration: WARMUP });
    await settle(running);
  }
  const poller = scenario.pollHealth === undefined ? undefined : pollHealthz(scenario.pollHealth);
  const result = await autocannon({ ...request, connections, duration: seconds });
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    health: (await poller?.stop()) ?? [],
  };
}

function percentile99(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
}

/**
 * Runs the scenarios in turns: `rounds` rounds, each giving every scenario
 * SECONDS/rounds seconds. Per scenario: the mean req/s over its slices, the
 * median of their p50s, the largest of their p99s (latency histograms of
 * separate runs do not merge), /healthz p99 over all polls.
 */
async function interleaved(scenarios: Scenario[], rounds = ROUNDS): Promise<Result[]> {
  const slices = scenarios.map(() => [] as Awaited<ReturnType<typeof load>>[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, scenario] of scenarios.entries()) slices[i].push(await load(scenario, SECONDS / rounds, round === 0));
  }
  return scenarios.map((scenario, i) => {
    const parts = slices[i];
    const reqPerSec = parts.reduce((sum, r) => sum + r.reqPerSec, 0) / parts.length;
    const p50s = parts.map((r) => r.p50).sort((a, b) => a - b);
    return {
      label: scenario.label,
      reqPerSec,
      p50: p50s[p50s.length >> 1],
      p99: Math.max(...parts.map((r) => r.p99)),
      floatsPerSec: reqPerSec * scenario.numbers,
      errors: parts.reduce((sum, r) => sum + r.errors, 0),
      non2xx: parts.reduce((sum, r) => sum + r.non2xx, 0),
      healthP99: percentile99(parts.flatMap((r) => r.health)),
      floatBytes: scenario.floatBytes,
      ceiling: scenario.ceiling,
    };
  });
}

/** A /v2 binary request (Open Inference Protocol): compact JSON header, then the little-endian tensor; binary answer too. */
function binaryRequest(rows: number, cols: number, datatype: 'FP32' | 'FP64'): { body: Buffer; headers: Record<string, string> } {
  const values = batch(rows, cols).flat();
  const tensor = datatype === 'FP32' ? new Float32Array(values) : new Float64Array(values);
  const bytes = Buffer.from(tensor.buffer, tensor.byteOffset, tensor.byteLength);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', shape: [rows, cols], datatype, parameters: { binary_data_size: bytes.length } }],
      outputs: [{ name: 'output', parameters: { binary_data: true } }],
    }),
  );
  // No Content-Type, as Triton's client sends it.
  return { body: Buffer.concat([header, bytes]), headers: { 'inference-header-content-length': String(header.length) } };
}

const sizes = [
  { name: 'tiny', rows: 1, cols: 8 },
  { name: 'medium', rows: 32, cols: 128 },
  { name: 'large', rows: 64, cols: 1024 },
];

const results: Result[] = [];
const echo = await startServer(['--import', 'tsx', new URL('./echo-server.ts', import.meta.url).pathname]);
const service = await startServer([...startOptions(), `${DIST}/server.js`]);
running.push(echo, service);
// The same service from several processes (HTTP_PROCESSES): its scenarios take turns with the others.
const multi = PROCESSES > 1 ? await startServer([...startOptions(), `${DIST}/server.js`], { HTTP_PROCESSES: String(PROCESSES) }) : undefined;
if (multi) running.push(multi);
const multiLabel = `, ${PROCESSES} processes`;
try {
  for (const size of sizes) {
    const inputs = batch(size.rows, size.cols);
    const elements = size.rows * size.cols;
    const forwardBody = JSON.stringify({ inputs });
    const label = `${size.name} ${size.rows}×${size.cols}`;
    if (!`echo ${label}`.includes(FILTER) && !label.includes(FILTER)) continue;
    const backwardBody = JSON.stringify({ inputs, grad_outputs: inputs });
    // The ceiling parses and echoes the same JSON as the scenario it is set against: a backward body carries
    // inputs and grad_outputs, twice the numbers, so it has an echo of its own.
    const ceilings = { forward: `echo ceiling ${label}`, backward: `echo ceiling ${label} (backward body)` };
    const scenarios: Scenario[] = [
      { label: ceilings.forward, url: `${echo.url}/echo`, body: forwardBody, numbers: elements },
      { label: ceilings.backward, url: `${echo.url}/echo`, body: backwardBody, numbers: elements * 2 },
    ];
    const pollHealth = size.name === 'large' ? `${service.url}/healthz` : undefined;
    for (const name of ['sigmoid', 'gelu']) {
      for (const [op, body, numbers] of [['forward', forwardBody, elements], ['backward', backwardBody, elements * 2]] as const) {
        scenarios.push({ label: `${name} ${op} ${label}`, url: `${service.url}/v1/activations/${name}/${op}`, body, numbers, pollHealth, ceiling: ceilings[op] });
        if (multi && name === 'sigmoid') {
          const url = `${multi.url}/v1/activations/${name}/${op}`;
          const health = pollHealth && `${multi.url}/healthz`;
          scenarios.push({ label: `${name} ${op} ${label}${multiLabel}`, url, body, numbers, pollHealth: health, ceiling: ceilings[op] });
        }
      }
    }
    // Large requests take seconds each at 64 connections: a short slice would end with most of them in flight, uncounted.
    results.push(...(await interleaved(scenarios, size.name === 'large' ? 1 : ROUNDS)));
  }
  // Binary tensors in and out (/v2, BENCH_FILTER=binary): the float MB/s to set beside the JSON large scenario's.
  // sigmoid as in the JSON scenarios; relu, whose kernel costs next to nothing; and, in turns with them, the echo
  // of the same bytes: what the transport alone carries on this host, the ceiling of any binary path.
  for (const [rows, cols] of [[64, 1024], [1024, 1024]] as const) {
    for (const datatype of ['FP32', 'FP64'] as const) {
      // 64 connections of 8 MB bodies keep half a gigabyte in flight: autocannon (in this process, on the same
      // two cores) then times its own requests out; 8 connections measure the server, not the client's backlog.
      const connections = rows * cols > 100_000 ? 8 : CONNECTIONS;
      const suffix = `${rows}×${cols}${connections === CONNECTIONS ? '' : ` (${connections} connections)`}`;
      const { body, headers } = binaryRequest(rows, cols, datatype);
      const common = { body, numbers: rows * cols, floatBytes: datatype === 'FP32' ? 4 : 8, connections };
      const ceiling = `echo ceiling binary ${datatype} ${suffix}`;
      const servers = multi ? [[service, ''], [multi, multiLabel]] as const : [[service, '']] as const;
      const scenarios: Scenario[] = servers.flatMap(([server, processes]) =>
        ['sigmoid', 'relu'].map((model) => ({
          ...common,
          label: `binary ${datatype} ${model} forward ${suffix}${processes}`,
          url: `${server.url}/v2/models/${model}/infer`,
          headers,
          pollHealth: `${server.url}/healthz`,
          ceiling,
        })),
      );
      const chosen = scenarios.filter((s) => s.label.includes(FILTER) || ceiling.includes(FILTER));
      if (chosen.length === 0) continue;
      // The same body, request JSON header and all, so the echo answers as many bytes as the service does.
      const echoBytes: Scenario = { ...common, label: ceiling, url: `${echo.url}/echo-bytes`, headers: { 'content-type': 'application/octet-stream' } };
      // One 10 s slice each, as before the echo was added, so the /healthz figures compare across runs (2 s slices
      // each begin with 64 bodies at once, which lifted /healthz p99 from 13 to 31 ms to 38 to 65 ms in a trial).
      results.push(...(await interleaved([echoBytes, ...chosen], 1)));
    }
  }
} finally {
  await stopServer(service);
  if (multi) await stopServer(multi);
  await stopServer(echo);
}

// Overload: one worker, a queue of 2, every batch pooled, 256 connections.
let overload: { ok: number; busy: number; retryAfter: boolean; other: number; p50: number; p99: number; recoveredMs?: number } | undefined;
if ('overload'.includes(FILTER) || FILTER === '') {
  const small = await startServer([...startOptions(), `${DIST}/server.js`], {
    WORKERS: '1',
    QUEUE_LIMIT: '2',
    INLINE_MAX_ELEMENTS: '0',
  });
  try {
    const body = JSON.stringify({ inputs: batch(64, 1024) });
    let retryAfter = true;
    const result = await autocannon({
      url: `${small.url}/v1/activations/gelu/forward`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: 256,
      duration: Math.min(SECONDS, 5),
      requests: [
        {
          body,
          onResponse: (status, _body, _context, headers) => {
            const names = Object.keys(headers ?? {}).map((k) => k.toLowerCase());
            if (status === 503 && !names.includes('retry-after')) retryAfter = false;
          },
        },
      ],
    });
    // Recovery: the tasks running when the load stopped finish (those still waiting are dropped, their clients
    // gone); then the next request is served.
    const stoppedAt = performance.now();
    let recoveredMs: number | undefined;
    while (performance.now() - stoppedAt < 5000) {
      const after = await fetch(`${small.url}/v1/activations/gelu/forward`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [[1]] }),
      });
      await after.text();
      if (after.status === 200) {
        recoveredMs = performance.now() - stoppedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    overload = {
      ok: result['2xx'],
      busy: result.statusCodeStats?.['503']?.count ?? 0,
      retryAfter,
      other: result.non2xx - (result.statusCodeStats?.['503']?.count ?? 0) + result.errors + result.timeouts,
      p50: result.latency.p50,
      p99: result.latency.p99,
      recoveredMs,
    };
  } finally {
    await stopServer(small);
  }
}

const f = (v: number, d = 0) => v.toFixed(d);
console.log(`\nnode ${process.version}, ${CONNECTIONS} connections, ${SECONDS} s per scenario\n`);
console.log('| scenario | req/s | req/s vs echo | numbers/s vs echo | p50 ms | p99 ms | float MB/s | errors | non-2xx | /healthz p99 ms |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const ceiling = results.find((e) => e.label === r.ceiling);
  const vs = ceiling ? `${(r.floatsPerSec / ceiling.floatsPerSec).toFixed(2)}×` : '–';
  const vsReq = ceiling ? `${(r.reqPerSec / ceiling.reqPerSec).toFixed(2)}×` : '–';
  console.log(
    `| ${r.label} | ${f(r.reqPerSec)} | ${vsReq} | ${vs} | ${f(r.p50, 1)} | ${f(r.p99, 1)} | ${f((r.floatsPerSec * (r.floatBytes ?? 8)) / 1e6, 1)} | ${r.errors} | ${r.non2xx} | ${r.healthP99 === undefined ? '–' : f(r.healthP99, 1)} |`,
  );
}
if (overload) {
  console.log(
    `\noverload (WORKERS=1, QUEUE_LIMIT=2, 256 connections): ${overload.ok} × 200, ${overload.busy} × 503 (Retry-After on all: ${overload.retryAfter}), other failures ${overload.other}, p50 ${f(overload.p50, 1)} ms, p99 ${f(overload.p99, 1)} ms; served again ${overload.recoveredMs === undefined ? 'not within 5 s' : `${f(overload.recoveredMs)} ms after the load stopped`}`,
  );
}
if (process.env.BENCH_JSON) {
  const config = Object.fromEntries(
    ['WORKERS', 'INLINE_MAX_ELEMENTS', 'RAW_BODY_MIN_BYTES', 'QUEUE_LIMIT'].filter((k) => process.env[k]).map((k) => [k, process.env[k]]),
  );
  const run = { date: new Date().toISOString(), node: process.version, seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, config, results, overload };
  writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(run, null, 2)}\n`);
}
