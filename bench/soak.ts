/**
 * npm run bench:soak — a soak test of the built server (dist/, started as a
 * separate process on 127.0.0.1): SOAK_SECONDS (default 60) of mixed traffic
 * at 64 connections, then a report.
 *
 * The mix: valid forward and backward requests across the whole catalog
 * (each activation's example; some batches large enough for the worker
 * pool), about 10% invalid bodies (ragged, cut short, wrong types, unknown
 * keys and names, a wrong content type), and about 2% oversized ones (over
 * BODY_LIMIT, set small here, or over MAX_ELEMENTS), all bounded in size.
 *
 * It reports 5xx answers, socket errors and timeouts (each must be 0), valid
 * requests not answered 200 and invalid ones not answered 4xx, latency
 * percentiles, and the server's resident memory (VmRSS from
 * /proc/<pid>/status) at the start, the middle and the end, with whether it
 * levels off (the second half grows by less than 10% and less than 32 MiB).
 * Exits 1 when any check fails.
 *
 *   SOAK_SECONDS=60        how long the load runs
 *   SOAK_CONNECTIONS=64    concurrent connections
 *   SOAK_DIST=/path/dist   the built server to run (default dist/)
 * The service's own settings (WORKERS, ...) pass through the environment.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { activations } from '../src/core/activations/index.js';
import { exampleBodies } from '../src/schemas/compute.js';
import { childrenOf, startOptions, startServer, stopServer } from './server-process.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 64);
const DIST = process.env.SOAK_DIST ?? new URL('../dist', import.meta.url).pathname;
/** Small limits, so oversized requests are cheap to make and the server refuses them early. */
const BODY_LIMIT = 256 * 1024;
const MAX_ELEMENTS = 32_768;
/** Past this, a request counts as timed out. */
const TIMEOUT_MS = 10_000;

/** Resident memory of a process and its children (HTTP_PROCESSES > 1: the server processes) in MiB, from /proc/<pid>/status. */
function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const own = match ? Number(match[1]) / 1024 : NaN;
  // A server process replaced in between has no status left to read.
  const ofChild = (child: number) => {
    try {
      return rssMiB(child);
    } catch {
      return 0;
    }
  };
  return childrenOf(pid).reduce((sum, child) => sum + ofChild(child), own);
}

type Kind = 'valid' | 'invalid' | 'oversized';

interface Template {
  kind: Kind;
  method: 'POST';
  path: string;
  body: string;
  contentType: string;
}

/** The example's rows repeated to `rows` rows: large enough for the pool, same shape rules. */
function tiled(body: Record<string, unknown>, rows: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    out[key] = Array.isArray(value) && key !== 'params' ? Array.from({ length: rows }, (_, i) => value[i % value.length]) : value;
  }
  return out;
}

function templates(): Template[] {
  const valid: Template[] = [];
  for (const def of activations) {
    const bodies = exampleBodies(def);
    for (const op of ['forward', 'backward'] as const) {
      const path = `/v1/activations/${def.name}/${op}`;
      valid.push({ kind: 'valid', method: 'POST', path, body: JSON.stringify(bodies[op]), contentType: 'application/json' });
      // Past INLINE_MAX_ELEMENTS (16 384 by default), so the pool takes it.
      const cols = def.example.inputs[0].length;
      const rows = Math.ceil(20_000 / cols);
      valid.push({ kind: 'valid', method: 'POST', path, body: JSON.stringify(tiled(bodies[op], rows)), contentType: 'application/json' });
    }
  }
  // Each small valid request several times, so large ones are about one in ten.
  const mix: Template[] = valid.flatMap((t) => (t.body.length > 10_000 ? [t] : [t, t, t, t, t, t, t, t]));
  const relu = '/v1/activations/relu/forward';
  const invalid: Template[] = [
    { kind: 'invalid', method: 'POST', path: relu, body: '{"inputs":[[1,2,3],[4,5]]}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: relu, body: '{"inputs":[[1,2,3],[4,5', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: relu, body: '{"inputs":[["nan",1]]}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: relu, body: '{"inputs":[[1]],"extra":true}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: relu, body: '{"inputs":"[[1]]"}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: relu, body: '{"inputs":[[1]]}', contentType: 'text/plain' },
    { kind: 'invalid', method: 'POST', path: '/v1/activations/gelu/forward', body: '{"inputs":[[1]],"params":{"approximate":"cubic"}}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: '/v1/activations/gelu/backward', body: '{"inputs":[[1,2]],"grad_outputs":[[1]]}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: '/v1/activations/prelu/forward', body: '{"inputs":[[1,2]],"params":{"alpha":[1,2,3]}}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: '/v1/activations/gelux/forward', body: '{"inputs":[[1]]}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: '/v1/activations/softmax_cross_entropy/forward', body: '{"inputs":[[1,2]],"targets":[5]}', contentType: 'application/json' },
    { kind: 'invalid', method: 'POST', path: relu, body: `{"inputs":[${Array(500).fill('[]').join(',')}]}`, contentType: 'application/json' },
  ];
  const oversized: Template[] = [
    // Over BODY_LIMIT (bounded: just past it).
    { kind: 'oversized', method: 'POST', path: relu, body: JSON.stringify({ inputs: [Array.from({ length: BODY_LIMIT / 2 + 1000 }, () => 1)] }), contentType: 'application/json' },
    // Over MAX_ELEMENTS but under BODY_LIMIT.
    { kind: 'oversized', method: 'POST', path: relu, body: JSON.stringify({ inputs: [Array.from({ length: MAX_ELEMENTS + 100 }, () => 1)] }), contentType: 'application/json' },
  ];
  // About 88% valid, 10% invalid, 2% oversized, in a fixed shuffled order.
  const n = mix.length;
  const invalidCount = Math.round((n / 0.88) * 0.1);
  const oversizedCount = Math.max(2, Math.round((n / 0.88) * 0.02));
  const all = [
    ...mix,
    ...Array.from({ length: invalidCount }, (_, i) => invalid[i % invalid.length]),
    ...Array.from({ length: oversizedCount }, (_, i) => oversized[i % oversized.length]),
  ];
  let seed = 42;
  const random = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all;
}

const list = templates();
const sent: Record<Kind, number> = { valid: 0, invalid: 0, oversized: 0 };
const wrong: Record<Kind, Record<string, number>> = { valid: {}, invalid: {}, oversized: {} };
const statuses: Record<string, number> = {};

const server = await startServer([...startOptions(), `${DIST}/server.js`], { BODY_LIMIT: String(BODY_LIMIT), MAX_ELEMENTS: String(MAX_ELEMENTS) });
const pid = server.child.pid!;
const rssBoot = rssMiB(pid);

/** Each distinct template once, in turn, before the load: the mix is what it claims to be. */
async function preflight(): Promise<string[]> {
  const problems: string[] = [];
  for (const t of new Set(list)) {
    const res = await fetch(`${server.url}${t.path}`, { method: t.method, body: t.body, headers: { 'content-type': t.contentType } });
    const text = await res.text();
    const ok = t.kind === 'valid' ? res.status === 200 : res.status >= 400 && res.status < 500 && (t.kind !== 'oversized' || res.status === 413);
    if (!ok) problems.push(`${t.kind} ${t.path} (${t.body.length} bytes) → ${res.status} ${text.slice(0, 200)}`);
  }
  return problems;
}
const templateProblems = await preflight();
if (templateProblems.length > 0) process.stdout.write(`preflight: ${templateProblems.length} templates answered unexpectedly:\n  ${templateProblems.join('\n  ')}\n`);
const samples: { t: number; rss: number }[] = [];
const startedAt = Date.now();
const sampler = setInterval(() => samples.push({ t: (Date.now() - startedAt) / 1000, rss: rssMiB(pid) }), 1000);
const rssStart = rssMiB(pid);
let rssMiddle = NaN;
const middle = setTimeout(() => (rssMiddle = rssMiB(pid)), (SECONDS * 1000) / 2);

process.stdout.write(
  `soak: ${SECONDS} s, ${CONNECTIONS} connections, ${list.length} request templates over ${activations.length} activations ` +
    `(BODY_LIMIT ${BODY_LIMIT}, MAX_ELEMENTS ${MAX_ELEMENTS}), server pid ${pid}\n`,
);

/**
 * The load: CONNECTIONS clients, each on its own kept-alive connection,
 * sending one request after another from the shuffled list (each client
 * starting at its own offset). Each answer is checked against the kind of
 * request that was sent.
 */
const latencies: number[] = [];
let socketErrors = 0;
let timeouts = 0;
const errorCodes: Record<string, number> = {};
const endAt = Date.now() + SECONDS * 1000;
const { hostname, port } = new URL(server.url);

function send(agent: Agent, t: Template): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, hostname, port, method: t.method, path: t.path, headers: { 'content-type': t.contentType, 'content-length': Buffer.byteLength(t.body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'SOAK_TIMEOUT' })));
    req.on('error', reject);
    req.end(t.body);
  });
}

async function client(index: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let i = Math.floor((index * list.length) / CONNECTIONS);
  while (Date.now() < endAt) {
    const t = list[i++ % list.length];
    const began = performance.now();
    try {
      const status = await send(agent, t);
      latencies.push(performance.now() - began);
      sent[t.kind]++;
      statuses[status] = (statuses[status] ?? 0) + 1;
      const ok = t.kind === 'valid' ? status === 200 : status >= 400 && status < 500 && (t.kind !== 'oversized' || status === 413);
      if (!ok) wrong[t.kind][status] = (wrong[t.kind][status] ?? 0) + 1;
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unknown';
      if (code === 'SOAK_TIMEOUT') timeouts++;
      else socketErrors++;
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    }
  }
  agent.destroy();
}

try {
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => client(c)));
} finally {
  clearInterval(sampler);
  clearTimeout(middle);
}
latencies.sort((a, b) => a - b);
const percentile = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : NaN);
const total = latencies.length;
const rssEnd = rssMiB(pid);
// After the load: the server still answers a known request exactly.
const after = await fetch(`${server.url}/v1/activations/relu/forward`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: '{"inputs":[[-1,0,2.5]]}',
}).then(async (r) => ({ status: r.status, body: await r.text() }));
const exitCode = await stopServer(server);

const fivexx = Object.entries(statuses)
  .filter(([s]) => Number(s) >= 500)
  .reduce((a, [, n]) => a + n, 0);
const half = samples.filter((s) => s.t >= SECONDS / 2);
const firstOfSecondHalf = half[0]?.rss ?? rssMiddle;
const peakSecondHalf = Math.max(...half.map((s) => s.rss), rssEnd);
const growth = peakSecondHalf - firstOfSecondHalf;
const levelsOff = growth < 32 && growth < 0.1 * firstOfSecondHalf;
/** Under 20 s the second half is warm-up as much as steady state: reported, not judged. */
const judgeMemory = SECONDS >= 20;
const checks = {
  'every template answers as expected on its own': templateProblems.length === 0,
  'no 5xx': fivexx === 0,
  'no socket errors': socketErrors === 0,
  'no timeouts': timeouts === 0,
  'valid requests all 200': Object.keys(wrong.valid).length === 0,
  'invalid requests all 4xx': Object.keys(wrong.invalid).length === 0,
  'oversized requests all 413': Object.keys(wrong.oversized).length === 0,
  'memory levels off': levelsOff || !judgeMemory,
  'a known request afterwards is exact': after.status === 200 && JSON.parse(after.body).outputs?.[0]?.join() === '0,0,2.5',
  'clean exit on SIGTERM': exitCode === 0,
};
const mib = (v: number) => `${v.toFixed(1)} MiB`;
process.stdout.write(
  [
    '',
    `requests       ${total} (${(total / SECONDS).toFixed(0)}/s): valid ${sent.valid}, invalid ${sent.invalid}, oversized ${sent.oversized}`,
    `statuses       ${JSON.stringify(statuses)}`,
    `5xx            ${fivexx}`,
    `socket errors  ${socketErrors}   timeouts ${timeouts}   ${JSON.stringify(errorCodes)}`,
    `unexpected     valid ${JSON.stringify(wrong.valid)}  invalid ${JSON.stringify(wrong.invalid)}  oversized ${JSON.stringify(wrong.oversized)}`,
    `latency (ms)   p50 ${percentile(0.5).toFixed(1)}  p90 ${percentile(0.9).toFixed(1)}  p99 ${percentile(0.99).toFixed(1)}  max ${(latencies[total - 1] ?? NaN).toFixed(1)}`,
    `RSS            after boot ${mib(rssBoot)}; under load: start ${mib(rssStart)}, middle ${mib(rssMiddle)}, end ${mib(rssEnd)}; second half grew ${mib(growth)} ` +
      `(${levelsOff ? 'levels off' : 'still growing'}${judgeMemory ? '' : '; too short a run to judge'})`,
    `RSS samples    ${samples.map((s) => s.rss.toFixed(0)).join(' ')}`,
    '',
    ...Object.entries(checks).map(([name, ok]) => `${ok ? 'ok  ' : 'FAIL'}  ${name}`),
    '',
  ].join('\n'),
);
process.exit(Object.values(checks).every(Boolean) ? 0 : 1);
