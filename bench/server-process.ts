/**
 * A server as a process of its own on 127.0.0.1, for the benchmark scripts:
 * started on a free port, ready once its /healthz answers, stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
}

/**
 * The node options of `npm start` (package.json's start script, `node <options> dist/server.js`),
 * so that the benchmarks run the server as it is deployed.
 */
export function startOptions(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const argv = manifest.scripts.start.split(' ');
  if (argv[0] !== 'node' || argv.at(-1) !== 'dist/server.js') throw new Error(`unexpected start script: ${manifest.scripts.start}`);
  return argv.slice(1, -1);
}

/** A port free right now (the server binds it a moment later). */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return port;
}

/** Runs `node <args>` with PORT and HOST set (LOG_LEVEL=warn unless `env` says otherwise); resolves once /healthz answers. */
export async function startServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start: ${args.join(' ')}`);
}

/** SIGTERM, then SIGKILL if it has not exited within 15 s; resolves to its exit code (null when killed). */
export async function stopServer(server: ServerProcess): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  server.child.kill('SIGTERM');
  await Promise.race([once(server.child, 'exit'), new Promise((r) => setTimeout(r, 15_000))]);
  if (server.child.exitCode === null) server.child.kill('SIGKILL');
  return server.child.exitCode;
}

/**
 * CPU time (user + system, ms) a process and its children (HTTP_PROCESSES > 1: the server processes under
 * the primary) have used so far, from /proc; undefined where there is none.
 */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    let ms = (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
    for (const child of childrenOf(pid!)) ms += cpuMs(child) ?? 0;
    return ms;
  } catch {
    return undefined;
  }
}

/** A process's children (/proc/<pid>/task/<pid>/children); none where the kernel does not list them. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Waits until the servers are idle: under 5% of a core each over 200 ms, at
 * most `limitMs`. A server keeps working after its load generator stops (the
 * echo spent 1.8 s of a full core on its backlog after a large scenario), and
 * that work would fall into the next scenario's time, on the same two cores.
 * Resolves to the milliseconds waited. Without /proc, a fixed 2 s.
 */
export async function settle(servers: ServerProcess[], limitMs = 15_000): Promise<number> {
  const started = performance.now();
  let before = servers.map((s) => cpuMs(s.child.pid));
  if (before.some((v) => v === undefined)) {
    await new Promise((r) => setTimeout(r, 2000));
    return performance.now() - started;
  }
  while (performance.now() - started < limitMs) {
    await new Promise((r) => setTimeout(r, 200));
    const now = servers.map((s) => cpuMs(s.child.pid));
    if (now.every((v, i) => v !== undefined && v - before[i]! <= 10)) break;
    before = now;
  }
  return performance.now() - started;
}
