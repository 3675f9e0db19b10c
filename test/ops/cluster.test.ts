/**
 * HTTP_PROCESSES=2 on the REAL server (`node --import tsx src/server.ts`):
 * two server processes share the port and both answer, with the registry's
 * own numbers; /metrics, whichever process takes the scrape, counts the
 * requests of both (503 while one cannot report); a server process killed from outside is replaced and
 * the service keeps answering; SIGTERM to the primary closes every process
 * and exits 0, also while they are still starting. A port already taken
 * stops the start with exit 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { getActivation } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';
import { availableCpus } from '../../src/cpus.js';
import { parsePrometheus, value } from './prometheus.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Started {
  child: ChildProcess;
  output: () => string;
  lines: () => Record<string, unknown>[];
  waitFor: (what: string, found: () => boolean, timeoutMs?: number) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function start(env: Record<string, string>): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', LOG_LEVEL: 'info', MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  // 'close', not 'exit': the process may exit before all it wrote has been read from its pipes.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const lines = () =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = async (what: string, found: () => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!found()) {
      if (Date.now() > deadline) throw new Error(`no ${what} in the server output\n${output.slice(-4000)}`);
      await sleep(20);
    }
  };
  return { child, output: () => output, lines, waitFor, exited };
}

/** One request on a connection of its own (so the primary deals it to the next process in turn). */
function send(port: number, path: string, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', agent: false, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const listening = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Server listening at http://127.0.0.1:'));

describe('HTTP_PROCESSES=2', () => {
  it('serves from both processes, sums their metrics, replaces a killed one, and closes all on SIGTERM', async () => {
    const server = start({ PORT: '0', HTTP_PROCESSES: '2' });
    await server.waitFor('two listening server processes', () => server.lines().some((l) => l.msg === 'serving from every server process'));
    const first = listening(server.lines());
    expect(first).toHaveLength(2);
    const pids = new Set(first.map((l) => l.pid));
    expect(pids.size).toBe(2);
    expect(pids.has(server.child.pid)).toBe(false);
    // Port 0: the primary binds once and both processes take connections on that one port.
    const ports = new Set(first.map((l) => /:(\d+)$/.exec(l.msg as string)![1]));
    expect(ports.size).toBe(1);
    const port = Number([...ports][0]);

    const x = Float64Array.from({ length: 8 }, (_, i) => i * 1.75 - 6.1);
    const expected = Array.from(runForward(getActivation('sigmoid')!, { x: x.slice(), rows: 1, cols: 8, params: {}, dtype: 'float64' }).out);
    const body = JSON.stringify({ inputs: [Array.from(x)] });
    const requests = 8;
    for (let i = 0; i < requests; i++) {
      const answer = await send(port, '/v1/activations/sigmoid/forward', body);
      expect(answer.status).toBe(200);
      expect((JSON.parse(answer.body) as { outputs: number[][] }).outputs[0]).toEqual(expected);
    }
    await server.waitFor('the request log lines', () => server.lines().filter((l) => l.route === '/v1/activations/sigmoid/forward').length === requests);
    const servedBy = new Set(server.lines().filter((l) => l.route === '/v1/activations/sigmoid/forward').map((l) => l.pid));
    expect(servedBy).toEqual(pids);

    // Two scrapes on connections of their own: one reaches each process, and both count every request.
    const cpusEach = Math.ceil(availableCpus() / 2);
    for (let scrape = 0; scrape < 2; scrape++) {
      const res = await send(port, '/metrics');
      expect(res.status).toBe(200);
      const samples = parsePrometheus(res.body);
      expect(value(samples, 'http_requests_total', { method: 'POST', route: '/v1/activations/sigmoid/forward', activation: 'sigmoid', status: '200' })).toBe(requests);
      expect(value(samples, 'activation_computations_total', { activation: 'sigmoid', operation: 'forward', placement: 'inline' })).toBe(requests);
      expect(value(samples, 'activation_pool_threads')).toBe(2 * cpusEach);
    }
    await server.waitFor('the scrapes in the request log', () => server.lines().filter((l) => l.route === '/metrics').length === 2);
    const scrapedBy = new Set(server.lines().filter((l) => l.route === '/metrics').map((l) => l.pid));
    expect(scrapedBy).toEqual(pids);

    // Killed from outside: the primary logs it and starts another; the service answers meanwhile and after.
    const victim = first[0]!.pid as number;
    process.kill(victim, 'SIGKILL');
    await server.waitFor('a replacement', () => listening(server.lines()).length === 3);
    const exitLine = server.lines().find((l) => l.serverPid === victim);
    expect(exitLine).toMatchObject({ level: 50, signal: 'SIGKILL', msg: 'a server process exited unexpectedly: starting another' });
    const now = new Set(listening(server.lines()).map((l) => l.pid as number).filter((pid) => pid !== victim));
    expect(now.size).toBe(2);
    for (let i = 0; i < 4; i++) expect((await send(port, '/v1/activations/sigmoid/forward', body)).status).toBe(200);

    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit, server.output().slice(-4000)).toEqual({ code: 0, signal: null });
    for (const pid of now) {
      expect(() => process.kill(pid, 0), `server process ${pid} still running`).toThrow(/ESRCH/);
      expect(server.lines().some((l) => l.pid === pid && l.msg === 'closed')).toBe(true);
    }
    expect(server.lines().at(-1), JSON.stringify(server.lines().slice(-8).map((l) => [l.pid, l.msg, l.time]))).toMatchObject({ pid: server.child.pid, msg: 'closed', failed: false });
    // Nothing logged as an error but the killed process's exit.
    expect(server.lines().filter((l) => (l.level as number) >= 50)).toEqual([exitLine]);
  }, 120_000);

  it('closes with exit 0 on a SIGTERM that comes while the server processes are still starting', async () => {
    const server = start({ PORT: '0', HTTP_PROCESSES: '2' });
    await server.waitFor('the primary starting them', () => server.lines().some((l) => l.msg === 'starting server processes'));
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit, server.output().slice(-4000)).toEqual({ code: 0, signal: null });
    // Not the primary's backstop (SHUTDOWN_TIMEOUT_MS plus 5 s): each process closed as soon as it could hear it.
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    expect(server.lines().filter((l) => l.msg === 'closed' && l.pid !== server.child.pid)).toHaveLength(2);
  }, 60_000);

  it("answers a scrape 503 (Retry-After) when a server process cannot report its metrics, and 200 again once it can", async () => {
    const server = start({ PORT: '0', HTTP_PROCESSES: '2' });
    await server.waitFor('two listening server processes', () => server.lines().some((l) => l.msg === 'serving from every server process'));
    const processes = listening(server.lines());
    const port = Number(/:(\d+)$/.exec(processes[0]!.msg as string)![1]);
    const stalled = processes[0]!.pid as number;
    // Stopped, as a process whose event loop is held up: it takes no connection and answers no request for its metrics.
    process.kill(stalled, 'SIGSTOP');
    let answers: ReturnType<typeof send>[] = [];
    try {
      // Connections are dealt in turn: of two, one reaches the process still running.
      answers = [send(port, '/metrics'), send(port, '/metrics')];
      const first = await Promise.race(answers);
      expect(first.status).toBe(503);
      expect(first.headers['retry-after']).toBe('5');
      expect(JSON.parse(first.body)).toMatchObject({ code: 'ACT_ERR_OVERLOADED', status: 503 });
      expect(JSON.parse(first.body).detail).toMatch(/could not be gathered/);
    } finally {
      process.kill(stalled, 'SIGCONT');
    }
    await Promise.all(answers);
    const again = await send(port, '/metrics');
    expect(again.status).toBe(200);
    expect(parsePrometheus(again.body).length).toBeGreaterThan(0);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('stops with exit 1 when the server processes cannot listen (port taken)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const server = start({ PORT: String(port), HTTP_PROCESSES: '2' });
      const exit = await server.exited;
      expect(exit, server.output().slice(-4000)).toEqual({ code: 1, signal: null });
      expect(server.lines()).toContainEqual(expect.objectContaining({ msg: 'a server process exited before it was listening: closing the others' }));
      expect(server.output()).toContain('EADDRINUSE');
    } finally {
      taken.close();
    }
  }, 60_000);
});
