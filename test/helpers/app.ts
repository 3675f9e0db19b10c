import type { FastifyInstance } from 'fastify';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config.js';
import { enforceContract } from './contract.js';

/**
 * An app on app.inject(), silent, with config overrides; close it in afterAll.
 * Every answer is checked against the committed openapi/openapi.json
 * (helpers/contract.ts): inject() throws on an undocumented status, content
 * type or body, and close() rejects if a real socket got one.
 */
export async function build(overrides: Partial<Config> = {}, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = await buildApp(testConfig({ WORKERS: 1, ...overrides }), { logger: false, ...options });
  enforceContract(app);
  await app.ready();
  return app;
}

export async function postJson(app: FastifyInstance, url: string, body: unknown) {
  const response = await app.inject({ method: 'POST', url, payload: body as object });
  return { status: response.statusCode, headers: response.headers, body: response.json() as Record<string, any> };
}

export interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  [key: string]: unknown;
}

/** A log stream for build()'s `logStream`, and what was written to it: the raw text, the JSON lines, one request's lines. */
export function logCapture<Line extends LogLine = LogLine>() {
  const chunks: string[] = [];
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  return { stream: { write: (chunk: string) => void chunks.push(chunk) }, text, lines, linesOf: (reqId: string) => lines().filter((l) => l.reqId === reqId) };
}
