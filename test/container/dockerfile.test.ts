/**
 * The container image, checked without Docker (no engine runs on these
 * machines and no image can be pulled):
 *
 * 1. The Dockerfile is linted with dockerfile-utils and its structure is
 *    checked (stages, non-root user, HOST, HEALTHCHECK, CMD, production install).
 * 2. Its steps are performed in a temporary directory: `npm pack` (the files
 *    the image gets), the production `npm ci` written in the Dockerfile, then
 *    the server started with the Dockerfile's CMD and ENV; /healthz, the
 *    HEALTHCHECK command, one computation, and a clean stop on SIGTERM.
 * 3. As the image runs it, and as Kubernetes runs it (deploy/k8s): as a user
 *    who may not write the app's files (root here runs it as `nobody`; the
 *    app directory is made read-only with chmod -R a-w either way), HOME
 *    read-only and TMPDIR a directory of its own (the emptyDir at /tmp); it
 *    writes nothing anywhere. Where strace is installed, a second run traces
 *    every file the process opens, so a write anywhere (outside TMPDIR too)
 *    fails the test; without strace that part is skipped with a notice.
 *
 * What this cannot see: the base image itself (its Node.js version, the
 * `node` user). The server runs on this machine's Node.js.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commandArgv,
  dockerignoreExcludes,
  durationMs,
  parseCopy,
  parseDockerfile,
  parseHealthcheck,
  stageEnv,
  words,
  type Instruction,
  type Stage,
} from './dockerfile-parse.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignoreText = readFileSync(join(root, '.dockerignore'), 'utf8');
const dockerfile = parseDockerfile(dockerfileText);
const finalStage = dockerfile.stages[dockerfile.stages.length - 1];
const startScript = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
const buildStages = dockerfile.stages.slice(0, -1);

/** LSP DiagnosticSeverity.Error. */
const SEVERITY_ERROR = 1;

const only = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => only(stage, keyword).at(-1);

/** The `npm ci ...` part of a stage's RUN lines (the first command of an `&&` chain), as argv. */
function npmCi(stage: Stage): { instruction: Instruction; argv: string[] } | undefined {
  for (const instruction of only(stage, 'RUN')) {
    const first = instruction.args.split(/&&|;/)[0].trim();
    const argv = words(first);
    if (argv[0] === 'npm' && argv[1] === 'ci') return { instruction, argv };
  }
  return undefined;
}

describe('Dockerfile: lint and structure', () => {
  it('has no error-severity diagnostics from dockerfile-utils', () => {
    const diagnostics = validate(dockerfileText);
    const errors = diagnostics.filter((d) => d.severity === SEVERITY_ERROR);
    expect(errors.map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('the linter does report errors (control: a broken Dockerfile)', () => {
    const errors = validate('FROM\nCMD node dist/server.js\nHEALTHCHECK --interval=fast CMD true\n').filter((d) => d.severity === SEVERITY_ERROR);
    expect(errors.length).toBeGreaterThan(0);
  });

  it('is multi-stage, every stage on the same exact-version Node.js slim image', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const images = new Set(dockerfile.stages.map((s) => s.image));
    expect([...images]).toHaveLength(1);
    // An exact version (node:26.13.0-...), not a moving tag like node:lts or node:26.
    expect(finalStage.image).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
  });

  it('builds with the dev dependencies in an earlier stage', () => {
    const build = buildStages.find((s) => npmCi(s) !== undefined);
    expect(build, 'a build stage running npm ci').toBeDefined();
    expect(npmCi(build!)!.argv).not.toContain('--omit=dev');
    expect(only(build!, 'RUN').some((r) => /\bnpm run build\b/.test(r.args))).toBe(true);
  });

  it('installs production dependencies only in the final stage, with NODE_ENV=production', () => {
    const ci = npmCi(finalStage);
    expect(ci, 'npm ci in the final stage').toBeDefined();
    expect(ci!.argv).toContain('--omit=dev');
    expect(stageEnv(dockerfile, finalStage, ci!.instruction).NODE_ENV).toBe('production');
  });

  it('copies package.json and package-lock.json from the context and dist/ from the build stage', () => {
    const copies = only(finalStage, 'COPY').map((c) => parseCopy(c.args));
    const fromContext = copies.filter((c) => c.flags.from === undefined).flatMap((c) => c.sources);
    expect(fromContext).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    const stageNames = buildStages.map((s) => s.name ?? String(s.index));
    const dist = copies.find((c) => c.flags.from !== undefined && c.sources.some((s) => /(^|\/)dist\/?$/.test(s)));
    expect(dist, 'COPY --from=<build stage> .../dist').toBeDefined();
    expect(stageNames).toContain(dist!.flags.from);
    // Nothing from the context but the manifests: no stale host dist/ or node_modules.
    expect(fromContext.every((s) => s === 'package.json' || s === 'package-lock.json')).toBe(true);
  });

  it('runs as a non-root user', () => {
    const user = last(finalStage, 'USER');
    expect(user, 'USER in the final stage').toBeDefined();
    const name = user!.args.split(':')[0].trim();
    expect(['root', '0', '']).not.toContain(name);
  });

  it('listens on 0.0.0.0 at the port it exposes', () => {
    const env = stageEnv(dockerfile, finalStage);
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.PORT).toMatch(/^\d+$/);
    const exposed = only(finalStage, 'EXPOSE').flatMap((e) => words(e.args)).map((p) => p.split('/')[0]);
    expect(exposed).toContain(env.PORT);
  });

  it('has a HEALTHCHECK that asks /healthz with node itself', () => {
    const instruction = last(finalStage, 'HEALTHCHECK');
    expect(instruction, 'HEALTHCHECK in the final stage').toBeDefined();
    const check = parseHealthcheck(instruction!.args);
    expect(check).not.toBe('NONE');
    if (check === 'NONE') return;
    expect(check.argv[0]).toBe('node');
    expect(check.argv.join(' ')).toContain('/healthz');
    for (const key of ['interval', 'timeout', 'start-period']) {
      if (check.options[key] !== undefined) expect(durationMs(check.options[key])).toBeGreaterThan(0);
    }
  });

  it('starts in exec form with the command `npm start` runs', () => {
    const cmd = last(finalStage, 'CMD');
    expect(cmd).toBeDefined();
    expect(cmd!.args.trim().startsWith('[')).toBe(true);
    expect(commandArgv(cmd!.args)).toEqual(startScript.split(' '));
    expect(commandArgv(cmd!.args).at(-1)).toBe('dist/server.js');
    expect(only(finalStage, 'ENTRYPOINT')).toEqual([]);
  });

  it('.dockerignore keeps host build output out and everything COPY needs in', () => {
    for (const path of ['node_modules', 'node_modules/fastify/package.json', 'dist', 'dist/server.js', '.git', 'coverage', 'scratch/x.ts']) {
      expect(dockerignoreExcludes(dockerignoreText, path), path).toBe(true);
    }
    const needed = dockerfile.stages
      .flatMap((s) => only(s, 'COPY').map((c) => parseCopy(c.args)))
      .filter((c) => c.flags.from === undefined)
      .flatMap((c) => c.sources);
    expect(needed.length).toBeGreaterThan(0);
    for (const path of [...needed, 'src/server.ts']) {
      expect(dockerignoreExcludes(dockerignoreText, path), path).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws on a non-zero exit (the caller checks). */
function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number; uid?: number; gid?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { ...options, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(Object.assign(error, { stdout, stderr }));
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

function mustSucceed(what: string, result: Run): Run {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`);
  }
  return result;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every file and folder under `dir` with its size and modification time, to see that nothing changed. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    out.set(path, `${info.isDirectory() ? 'd' : 'f'} ${info.size} ${info.mtimeMs}`);
    if (info.isDirectory()) for (const entry of await readdir(path)) await walk(join(path, entry));
  };
  await walk(dir);
  return out;
}

/** The path of a program on PATH, or undefined. */
function which(program: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Root runs the server as `nobody`, as the image runs it as an unprivileged user; others run it as themselves. */
const asRoot = process.getuid?.() === 0;
const unprivileged = asRoot ? { uid: 65534, gid: 65534 } : {};

/** Close to `expected` within `rel` of its magnitude (and of the same sign). */
function expectClose(actual: unknown, expected: number, rel: number): void {
  expect(typeof actual).toBe('number');
  const a = actual as number;
  expect(Math.sign(a)).toBe(Math.sign(expected));
  expect(Math.abs(a - expected) / Math.abs(expected), `${a} vs ${expected}`).toBeLessThanOrEqual(rel);
}

describe('Dockerfile steps performed in a temporary directory', () => {
  let workDir: string | undefined;
  let appDir: string;
  let packedFiles: string[] = [];
  let server: ChildProcess | undefined;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let output = '';
  let port = 0;
  let serverEnv: NodeJS.ProcessEnv = {};
  const timings: Record<string, number> = {};
  /** HOME (read-only) and TMPDIR (the only writable place, as the emptyDir at /tmp) of the server. */
  let homeDir: string;
  let tmpDir: string;
  let before: Map<string, string>;

  /** What the container sees: the Dockerfile's ENV, plus PATH/HOME so node and npm are found. */
  const containerEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
    ...env,
  });

  /** The server's environment: the Dockerfile's ENV, a port of its own, HOME and TMPDIR as in the pod. */
  const runtimeEnv = (serverPort: number): NodeJS.ProcessEnv => ({
    ...containerEnv({ ...stageEnv(dockerfile, finalStage), PORT: String(serverPort) }),
    HOME: homeDir,
    TMPDIR: tmpDir,
  });

  async function startServer(): Promise<void> {
    const cmd = commandArgv(last(finalStage, 'CMD')!.args);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      // HOST stays as the Dockerfile says (0.0.0.0); only PORT is moved off 3000.
      serverEnv = runtimeEnv(port);
      output = '';
      const child = spawn(cmd[0], cmd.slice(1), { cwd: appDir, env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'], ...unprivileged });
      server = child;
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      let gone = false;
      void exited.then(() => (gone = true));

      const deadline = Date.now() + 30_000;
      while (!gone && Date.now() < deadline) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
          if (response.status === 200) return;
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      if (gone && /EADDRINUSE/.test(output) && attempt < 3) continue; // lost the port race: try another
      throw new Error(`server did not answer /healthz on port ${port} (${gone ? 'it exited' : 'timed out'})\n${output.slice(-4000)}`);
    }
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'activation-service-image-'));
    appDir = join(workDir, 'app');

    // npm test builds before vitest; on its own, build here so the pack has dist/.
    if (!existsSync(join(root, 'dist', 'server.js'))) {
      let t = Date.now();
      mustSucceed('npm run build', await run('npm', ['run', 'build'], { cwd: root, timeout: 120_000 }));
      timings.build = Date.now() - t;
    }

    // The files the image gets: npm pack honours "files" (dist/) plus package.json, README, LICENSE.
    let t = Date.now();
    const pack = mustSucceed(
      'npm pack',
      await run('npm', ['pack', '--json', '--pack-destination', workDir, '--no-audit', '--no-fund'], { cwd: root, timeout: 60_000 }),
    );
    timings.pack = Date.now() - t;
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    packedFiles = packed.files.map((f) => f.path);
    await mkdir(appDir);
    mustSucceed('tar', await run('tar', ['-xzf', join(workDir, packed.filename), '-C', appDir, '--strip-components=1'], { cwd: workDir }));
    // COPY package-lock.json: npm pack leaves the lockfile out.
    await cp(join(root, 'package-lock.json'), join(appDir, 'package-lock.json'));

    // RUN npm ci --omit=dev ...: the command and environment as written in the final stage.
    // --prefer-offline only lets npm use its cache without asking the registry again.
    const ci = npmCi(finalStage)!;
    t = Date.now();
    mustSucceed(
      ci.argv.join(' '),
      await run(ci.argv[0], [...ci.argv.slice(1), '--prefer-offline'], {
        cwd: appDir,
        env: containerEnv(stageEnv(dockerfile, finalStage, ci.instruction)),
        timeout: 150_000,
      }),
    );
    timings.npmCi = Date.now() - t;

    // The image's files belong to root and the process runs unprivileged; a read-only root filesystem in the
    // pod. Here: nothing under the app directory or HOME is writable, TMPDIR is.
    homeDir = join(workDir, 'home');
    tmpDir = join(workDir, 'tmp');
    await mkdir(homeDir);
    await mkdir(tmpDir);
    await chmod(workDir, 0o755);
    await chmod(tmpDir, 0o1777);
    mustSucceed('chmod', await run('chmod', ['-R', 'a-w', appDir, homeDir], { cwd: workDir }));
    before = await snapshot(appDir);

    t = Date.now();
    await startServer();
    timings.start = Date.now() - t;
  }, 180_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    }
    if (workDir) {
      // Writable again, or a non-root user could not delete it.
      await run('chmod', ['-R', 'u+w', workDir], { cwd: tmpdir() }).catch(() => undefined);
      await rm(workDir, { recursive: true, force: true });
    }
    console.info(`container steps (ms): ${JSON.stringify(timings)}`);
  });

  it('packs dist/server.js and package.json, no src/ or test/', () => {
    expect(packedFiles).toContain('dist/server.js');
    expect(packedFiles).toContain('package.json');
    expect(packedFiles.filter((p) => /^(src|test|scratch|node_modules)\//.test(p))).toEqual([]);
    expect(packedFiles.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs every dependency and no devDependency', async () => {
    const manifest = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      expect(existsSync(join(appDir, 'node_modules', name, 'package.json')), name).toBe(true);
    }
    const lock = JSON.parse(readFileSync(join(appDir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    // A devDependency that a production dependency also needs (yaml, under @fastify/swagger-ui) is installed, as it must be.
    for (const name of Object.keys(manifest.devDependencies ?? {})) {
      if (lock.packages[`node_modules/${name}`]?.dev !== true) continue;
      expect(existsSync(join(appDir, 'node_modules', name)), name).toBe(false);
    }
    expect(existsSync(join(appDir, 'node_modules', 'vitest'))).toBe(false);
    // Also the packages the lockfile marks dev-only (typescript's and vitest's own dependencies).
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev === true);
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.filter(([path]) => existsSync(join(appDir, path))).map(([path]) => path)).toEqual([]);
    // And nothing of the repository's own sources.
    expect((await readdir(appDir)).sort()).not.toContain('src');
  });

  it('answers GET /healthz on 127.0.0.1 while bound to 0.0.0.0', async () => {
    expect(serverEnv.HOST).toBe('0.0.0.0');
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('passes its own HEALTHCHECK command, which fails when nothing listens', async () => {
    const check = parseHealthcheck(last(finalStage, 'HEALTHCHECK')!.args);
    if (check === 'NONE') throw new Error('HEALTHCHECK NONE');
    const timeout = durationMs(check.options.timeout ?? '30s');
    const healthy = await run(check.argv[0], check.argv.slice(1), { cwd: appDir, env: serverEnv, timeout });
    expect(healthy.code, healthy.stderr).toBe(0);
    // Control: the same command against a port with no server must fail.
    const closed = await freePort();
    const unhealthy = await run(check.argv[0], check.argv.slice(1), { cwd: appDir, env: { ...serverEnv, PORT: String(closed) }, timeout });
    expect(unhealthy.code).not.toBe(0);
  });

  it('computes GELU forward in float64 (including the far negative tail)', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/activations/gelu/forward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [[-30, -1, 0, 1]] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { activation: string; dtype: string; shape: number[]; outputs: number[][] };
    expect(body).toMatchObject({ activation: 'gelu', dtype: 'float64', shape: [1, 4] });
    const [tail, minusOne, zero, one] = body.outputs[0];
    expectClose(one, 0.8413447460685429, 1e-15);
    expectClose(minusOne, -0.15865525393145705, 1e-15);
    expect(zero).toBe(0);
    // -30·Φ(-30): tiny, but not 0 (a naive 0.5·x·(1+erf(x/√2)) loses it entirely).
    expectClose(tail, -1.4720141781444561e-196, 1e-12);
  });

  it('runs unprivileged, with the app directory and HOME not writable', async () => {
    expect(serverEnv.HOME).toBe(homeDir);
    expect(serverEnv.TMPDIR).toBe(tmpDir);
    // Not root: the one user chmod cannot stop.
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${server!.pid}/status`, 'utf8'))?.[1]);
    expect(uid).not.toBe(0);
    // The control: the same user cannot write there.
    const probe = await run(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(join(appDir, 'probe'))}, 'x')`], {
      cwd: workDir!,
      ...unprivileged,
    });
    expect(probe.code).not.toBe(0);
    expect(probe.stderr).toMatch(/EACCES|EPERM|EROFS/);
  });

  it('serves the pool, the docs and the metrics too (all of it without writing)', async () => {
    const big = { inputs: [Array.from({ length: 20_000 }, (_, i) => i / 1000 - 10)] };
    const pooled = await fetch(`http://127.0.0.1:${port}/v1/activations/relu/forward`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(big),
    });
    expect(pooled.status).toBe(200);
    for (const path of ['/docs/', '/docs/static/swagger-ui-bundle.js', '/openapi.json', '/metrics', '/readyz']) {
      expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
    }
  });

  it('stops on SIGTERM and exits with code 0', async () => {
    expect(server?.pid).toBeGreaterThan(0);
    process.kill(server!.pid!, 'SIGTERM');
    const result = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    expect(result, output.slice(-2000)).toEqual({ code: 0, signal: null });
  });

  it('wrote nothing: the app directory is unchanged, HOME and TMPDIR are empty', async () => {
    const after = await snapshot(appDir);
    expect([...after.keys()].filter((k) => !before.has(k))).toEqual([]);
    expect([...before.entries()].filter(([k, v]) => after.get(k) !== v).map(([k]) => k)).toEqual([]);
    expect(await readdir(homeDir)).toEqual([]);
    expect(await readdir(tmpDir)).toEqual([]);
  });

  const strace = which('strace');
  it.skipIf(!strace)('opens no file for writing, anywhere, from start to exit (traced with strace)', async () => {
    const cmd = commandArgv(last(finalStage, 'CMD')!.args);
    const tracePort = await freePort();
    // strace runs as the server's user: its output goes to a folder that user may write, apart from TMPDIR.
    const traceDir = join(workDir!, 'trace');
    await mkdir(traceDir);
    await chmod(traceDir, 0o777);
    const traceFile = join(traceDir, 'trace.txt');
    // Every call that could create, write, move or delete a file, in every thread (workers too).
    const calls = 'open,openat,openat2,creat,truncate,ftruncate,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,link,linkat,symlink,symlinkat,chmod,fchmodat';
    const child = spawn(strace!, ['-f', '-qq', '-o', traceFile, '-e', `trace=${calls}`, ...cmd], {
      cwd: appDir,
      env: runtimeEnv(tracePort),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...unprivileged,
    });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`traced server did not start
${log.slice(-3000)}`);
        const ok = await fetch(`http://127.0.0.1:${tracePort}/healthz`).then((r) => r.ok, () => false);
        if (ok) break;
        await sleep(100);
      }
      const inline = await fetch(`http://127.0.0.1:${tracePort}/v1/activations/gelu/forward`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":[[-1,0,1]]}' });
      expect(inline.status).toBe(200);
      const pooled = await fetch(`http://127.0.0.1:${tracePort}/v1/activations/gelu/forward`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [Array.from({ length: 20_000 }, (_, i) => i / 1000 - 10)] }),
      });
      expect(pooled.status).toBe(200);
      for (const path of ['/docs/', '/docs/static/swagger-ui.css', '/metrics', '/nowhere']) await fetch(`http://127.0.0.1:${tracePort}${path}`);
      // strace passes no signal on from its own pid: signal node itself (its pid is in every log line).
      const pid = Number(/"pid":(\d+)/.exec(log)?.[1]);
      expect(pid).toBeGreaterThan(0);
      process.kill(pid, 'SIGTERM');
      expect(await Promise.race([done, sleep(15_000).then(() => 'timeout')])).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }

    const trace = readFileSync(traceFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
    // Opened for reading, and a few device files every Node process opens, are fine.
    const allowed = (line: string) => /"\/dev\/(null|tty|urandom|random|pts\/\d+)"/.test(line) || line.includes(`"${tmpDir}`);
    const writes = trace.filter((line) => {
      const open = /\bopen(?:at2?)?\(/.test(line) || /\bcreat\(/.test(line);
      if (open) return /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/.test(line) && !allowed(line);
      // The other calls change the filesystem whatever their flags; ftruncate acts on an fd already opened.
      return /\b(truncate|mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|link|linkat|symlink|symlinkat|chmod|fchmodat)\(/.test(line) && !allowed(line);
    });
    expect(trace.length).toBeGreaterThan(10);
    expect(writes).toEqual([]);
  }, 60_000);
  if (!strace) console.info('container test: strace is not installed; the traced no-writes check is skipped (apt-get install strace)');
});
