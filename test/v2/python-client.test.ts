/**
 * The README's /v2 examples, run for real against a listening server: the
 * standard-library Python client (python3) and the curl examples (bash,
 * curl), each checked against the answer written under it and against /v1.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build, postJson } from '../helpers/app.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = (() => {
  const start = readme.indexOf('\n## /v2: Open Inference Protocol\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
})();
const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
/** The `# …` lines at the end of a block: the answer it documents. */
const documented = (block: string) =>
  block
    .trimEnd()
    .split('\n')
    .reverse()
    .filter((_, i, lines) => lines.slice(0, i + 1).every((l) => /^\s*# /.test(l)))
    .reverse()
    .map((l) => l.replace(/^\s*#\s*/, ''));

const has = (command: string) => spawnSync(command, ['--version'], { encoding: 'utf8' }).status === 0;

/** Runs a command without blocking the event loop: the server answering it lives in this process. */
function run(command: string, args: string[], cwd?: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

let app: FastifyInstance;
let url: string;
let dir: string;
beforeAll(async () => {
  app = await build();
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'oip-readme-'));
});
afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('README /v2 examples', () => {
  it('the Python client sends binary FP32 and decodes the binary answer: the numbers of /v1 float32', async () => {
    const [client] = blocks('python');
    expect(client).toBeDefined();
    const file = join(dir, 'client.py');
    writeFileSync(file, client);
    const python = await run('python3', [file, url]);
    expect(python.stderr).toBe('');
    expect(python.status).toBe(0);
    expect(python.stdout.trim()).toBe(documented(client)[0]);
    const v1 = await postJson(app, '/v1/activations/gelu/forward', {
      inputs: [[-1.5, 0, 2.25], [3, -4, 0.5]],
      params: { approximate: 'tanh' },
      dtype: 'float32',
    });
    expect(JSON.parse(python.stdout)).toEqual(v1.body.outputs);
  });

  it('the Python client reports an error answer', async () => {
    const [client] = blocks('python');
    const file = join(dir, 'client-error.py');
    writeFileSync(file, `${client.split('if __name__')[0]}\nimport sys\ntry:\n    infer(sys.argv[1], "leaky_relu", [[1.0]], {"slope": 2})\nexcept RuntimeError as e:\n    print(e)\n`);
    const python = await run('python3', [file, url]);
    expect(python.status).toBe(0);
    expect(python.stdout).toMatch(/^The parameters are invalid: parameters: Unrecognized key: "slope"/);
  });

  it.skipIf(!has('curl') || !has('bash'))('the curl examples print what the README says', async () => {
    const shell = blocks('sh');
    expect(shell).toHaveLength(2);
    for (const block of shell) {
      const script = block.replaceAll('http://127.0.0.1:3000', url);
      const shellRun = await run('bash', ['-e', '-c', script], dir);
      expect(shellRun.stderr).toBe('');
      expect(shellRun.status).toBe(0);
      const want = documented(block);
      const printed = shellRun.stdout.trim().split('\n');
      // A long answer is wrapped over several comment lines; the others print one line each.
      if (want.length !== printed.length) expect(shellRun.stdout.trim()).toBe(want.join(''));
      else expect(printed).toEqual(want);
    }
  });
});
