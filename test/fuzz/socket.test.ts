/**
 * Fuzzing a real listening server (127.0.0.1, an ephemeral port): random
 * valid and changed bodies over fetch, and raw socket writes that a client
 * library would never produce: bodies cut short (with the connection held
 * open or half-closed), Content-Length too short or doubled, chunked
 * framing broken or left unfinished, Content-Length beside
 * Transfer-Encoding, garbage bytes, headers without a colon or over the
 * limit, headers dribbled in past the time limit, pipelined requests,
 * Expect: 100-continue, connections dropped mid-request. Every answer is a
 * 2xx (exact by the core kernels) or a 4xx problem; never a 5xx; a request
 * that cannot be answered is closed, not left hanging; and the server
 * answers a known request correctly afterwards.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activations, getActivation } from '../../src/core/activations/index.js';
import { runForward } from '../../src/core/batch.js';
import { build } from '../helpers/app.js';
import { assertConforms, contractViolations, loadContract } from '../helpers/contract.js';
import { bodyArbitrary, mutatedBodyArbitrary, toJsonText, type Op } from './arbitraries.js';
import { checkComputeAnswer, checkProblem, withTimeout, type Answer } from './oracle.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number) => ({ numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });

const REQUEST_TIMEOUT_MS = 1_000;
const MAX_HEADER_SIZE = 4_096;

let app: FastifyInstance;
let host: string;
let port: number;

beforeAll(async () => {
  app = await build({ REQUEST_TIMEOUT_MS, MAX_HEADER_SIZE, BODY_LIMIT: 64 * 1024, MAX_ELEMENTS: 4096 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as { address: string; port: number };
  host = address.address;
  port = address.port;
});
afterAll(async () => {
  // close() also fails if any answer on a socket broke the contract (helpers/contract.ts).
  await app?.close();
});

/** One request over fetch; the answer is checked against the document from the outside as well. */
async function fetchAnswer(method: string, path: string, body?: string, contentType = 'application/json'): Promise<Answer> {
  const res = await fetch(`http://${host}:${port}${path}`, {
    method,
    body,
    headers: body === undefined ? {} : { 'content-type': contentType },
    signal: AbortSignal.timeout(5_000),
  });
  const answer = { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
  assertConforms({ method, url: path, status: answer.status, contentType: answer.contentType, body: answer.text });
  return answer;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits what came back on a socket into HTTP responses (Content-Length or chunked bodies). */
function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = raw;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`an incomplete response head: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`);
    const head = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1]);
    if (!Number.isInteger(status)) throw new Error(`not a status line: ${JSON.stringify(head[0])}`);
    const headers = Object.fromEntries(head.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    rest = rest.subarray(end + 4);
    let body: Buffer = Buffer.alloc(0);
    if (status === 100 || status === 204 || status === 304) {
      // no body
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      const parts: Buffer[] = [];
      for (;;) {
        const line = rest.indexOf('\r\n');
        const size = parseInt(rest.subarray(0, line).toString('latin1'), 16);
        rest = rest.subarray(line + 2);
        if (size === 0) {
          rest = rest.subarray(rest.indexOf('\r\n') + 2);
          break;
        }
        parts.push(rest.subarray(0, size));
        rest = rest.subarray(size + 2);
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = rest.subarray(0, length);
      rest = rest.subarray(length);
    }
    out.push({ status, headers, body: body.toString('utf8') });
  }
  return out;
}

interface Exchange {
  responses: RawResponse[];
  /** The server closed the connection (rather than the wait running out). */
  closedByServer: boolean;
}

/**
 * Writes `chunks` on a fresh connection (with `gapMs` between them),
 * optionally half-closes, and collects what comes back until the server
 * closes or `waitMs` passes.
 */
function exchange(chunks: (string | Buffer)[], { gapMs = 0, halfClose = false, waitMs = 3_000 } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const data: Buffer[] = [];
    let closedByServer = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve({ responses: parseResponses(Buffer.concat(data)), closedByServer });
      } catch (error) {
        reject(error);
      }
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (d) => data.push(d));
    socket.on('error', () => {
      closedByServer = true;
    });
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (halfClose && !socket.destroyed) socket.end();
    });
  });
}

const contract = loadContract();

/** An answer written on the raw socket: below 500, and an error is a documented Problem. */
function checkRaw(response: RawResponse): void {
  expect(response.status, response.body.slice(0, 200)).toBeLessThan(500);
  if (response.status >= 400) {
    const answer = { status: response.status, contentType: response.headers['content-type'] ?? '', text: response.body };
    checkProblem(answer);
    // Checked as an answer outside any documented operation: it must be a Problem.
    expect(contract.check({ method: 'POST', url: '/\u0000raw', status: answer.status, contentType: answer.contentType, body: answer.text })).toEqual([]);
  }
}

const request = (body: string, extra = '', path = '/v1/activations/relu/forward') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

const BODY = '{"inputs":[[-1,0,2.5,"NaN"]]}';
const OUTPUTS = [[0, 0, 2.5, 'NaN']];

async function knownRequestWorks(): Promise<void> {
  const answer = await fetchAnswer('POST', '/v1/activations/relu/forward', BODY);
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text).outputs).toEqual(OUTPUTS);
}

describe('random bodies over a real connection', () => {
  it('valid and changed bodies: exact 2xx or 4xx problems, over fetch', async () => {
    const arb = fc
      .record({ name: fc.constantFrom(...activations.map((a) => a.name)), op: fc.constantFrom<Op>('forward', 'backward'), changed: fc.boolean() })
      .chain(({ name, op, changed }) =>
        (changed ? mutatedBodyArbitrary(getActivation(name)!, op) : bodyArbitrary(getActivation(name)!, op)).map(({ body }) => ({ name, op, text: toJsonText(body) })),
      );
    await fc.assert(
      fc.asyncProperty(fc.array(arb, { minLength: 1, maxLength: 8 }), async (batch) => {
        // A few at once, as concurrent clients would send them.
        const answers = await withTimeout(
          Promise.all(batch.map(({ name, op, text }) => fetchAnswer('POST', `/v1/activations/${name}/${op}`, text))),
          'concurrent fetches',
        );
        batch.forEach(({ name, op, text }, i) => checkComputeAnswer(getActivation(name)!, op, text, answers[i]));
      }),
      params(RUNS),
    );
    expect(contractViolations(app)).toEqual([]);
  });
});

describe('framing on the raw socket', () => {
  it('a body cut short, connection held open: 408 problem after REQUEST_TIMEOUT_MS, then closed', async () => {
    const full = request(BODY);
    const { responses, closedByServer } = await exchange([full.slice(0, full.length - 10)], { waitMs: REQUEST_TIMEOUT_MS * 5 });
    expect(responses.map((r) => r.status)).toEqual([408]);
    responses.forEach(checkRaw);
    expect(closedByServer).toBe(true);
    await knownRequestWorks();
  });

  it('a body cut short, then the client half-closes: no 5xx, and the server lets go', async () => {
    const full = request(BODY);
    const { responses, closedByServer } = await exchange([full.slice(0, full.length - 10)], { halfClose: true, waitMs: REQUEST_TIMEOUT_MS * 5 });
    responses.forEach(checkRaw);
    expect(closedByServer).toBe(true);
    await knownRequestWorks();
  });

  it('Content-Length shorter than the body: the cut JSON is a 400, the leftover bytes are not HTTP (400), then closed', async () => {
    const text = `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n${BODY}`;
    const { responses, closedByServer } = await exchange([text]);
    expect(responses.length).toBeGreaterThanOrEqual(1);
    for (const r of responses) expect(r.status).toBe(400);
    responses.forEach(checkRaw);
    expect(closedByServer).toBe(true);
    await knownRequestWorks();
  });

  const malformed: [string, string][] = [
    ['Content-Length beside Transfer-Encoding', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nTransfer-Encoding: chunked\r\n\r\n${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`],
    ['two different Content-Lengths', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`],
    ['a Content-Length that is no number', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1e2\r\n\r\n${BODY}`],
    ['a negative Content-Length', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n${BODY}`],
    ['a chunk size that is no hex', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${BODY}\r\n0\r\n\r\n`],
    ['a chunk longer than its size', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n${BODY}\r\n0\r\n\r\n`],
    ['a header line without a colon', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nthis is not a header\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`],
    ['a space before the colon', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Length : ${BODY.length}\r\n\r\n${BODY}`],
    ['a bare LF line ending mix', `POST /v1/activations/relu/forward HTTP/1.1\nHost: x\r\nContent-Length: ${BODY.length}\r\n\n${BODY}`],
    ['garbage bytes', '\u0000\u0001\u0002\u00ff GET / HTTP/9.9\r\n\r\n'],
    ['a request line with no version', 'POST /v1/activations/relu/forward\r\n\r\n'],
    ['an unknown HTTP version', `POST /v1/activations/relu/forward HTTP/3.7\r\nHost: x\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`],
    ['a control character in a header value', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nX-Evil: a\u0001b\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`],
  ];
  for (const [label, text] of malformed) {
    it(`${label}: 4xx problem (or closed), never a 5xx`, async () => {
      const { responses, closedByServer } = await exchange([text]);
      responses.forEach(checkRaw);
      expect(responses.length > 0 || closedByServer).toBe(true);
      // Nothing is computed from a request whose framing is broken.
      for (const r of responses) if (r.status < 300) expect(JSON.parse(r.body).outputs).toEqual(OUTPUTS);
      await knownRequestWorks();
    });
  }

  it('HTTP/1.1 without Host: a 400 problem that names the header (/v2: its {"error"})', async () => {
    // Node's own check (requireHostHeader) answered with an empty 400; random bytes after a request line that
    // happened to form a header ("0:") met it in the fuzz test below.
    const text = `POST /v1/activations/relu/forward HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;
    // The connection stays open (keep-alive): the answers are read within a second.
    const { responses } = await exchange([text], { waitMs: 1_000 });
    expect(responses.map((r) => r.status)).toEqual([400]);
    responses.forEach(checkRaw);
    expect(JSON.parse(responses[0].body).detail).toContain('Host header');
    const v2 = await exchange([`POST /v2/models/relu/infer HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`], { waitMs: 1_000 });
    expect(v2.responses.map((r) => r.status)).toEqual([400]);
    expect(JSON.parse(v2.responses[0].body).error).toContain('Host header');
    await knownRequestWorks();
  });

  it('a valid chunked body is computed exactly', async () => {
    const text = `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n${BODY.slice(0, 5)}\r\n${(BODY.length - 5).toString(16)}\r\n${BODY.slice(5)}\r\n0\r\n\r\n`;
    const { responses } = await exchange([text]);
    expect(responses.map((r) => r.status)).toEqual([200]);
    expect(JSON.parse(responses[0].body).outputs).toEqual(OUTPUTS);
  });

  it('a chunked body never finished: 408 problem after REQUEST_TIMEOUT_MS', async () => {
    const text = `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n${BODY.slice(0, 5)}\r\n`;
    const { responses, closedByServer } = await exchange([text], { waitMs: REQUEST_TIMEOUT_MS * 5 });
    expect(responses.map((r) => r.status)).toEqual([408]);
    responses.forEach(checkRaw);
    expect(closedByServer).toBe(true);
  });

  it('headers dribbled in past REQUEST_TIMEOUT_MS: 408 problem, closed', async () => {
    const text = request(BODY);
    const pieces = Array.from({ length: 12 }, (_, i) => text.slice(i * 4, i * 4 + 4));
    const { responses, closedByServer } = await exchange(pieces, { gapMs: 200, waitMs: REQUEST_TIMEOUT_MS * 5 });
    expect(responses.map((r) => r.status)).toEqual([408]);
    responses.forEach(checkRaw);
    expect(closedByServer).toBe(true);
  });

  it('headers over MAX_HEADER_SIZE: 431 problem', async () => {
    const { responses } = await exchange([request(BODY, `X-Big: ${'a'.repeat(MAX_HEADER_SIZE * 2)}\r\n`)]);
    expect(responses.map((r) => r.status)).toEqual([431]);
    responses.forEach(checkRaw);
    await knownRequestWorks();
  });

  it('three pipelined requests are answered in order, each exactly', async () => {
    const bodies = ['{"inputs":[[1,-1]]}', '{"inputs":[[-2,3]]}', '{"inputs":[[5e-324,-0]]}'];
    const { responses } = await exchange([bodies.map((b, i) => request(b, i === bodies.length - 1 ? 'Connection: close\r\n' : '')).join('')]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(responses.map((r) => JSON.parse(r.body).outputs)).toEqual([[[1, 0]], [[0, 3]], [[5e-324, 0]]]);
  });

  it('Expect: 100-continue: 100, then the answer', async () => {
    const { responses } = await exchange([request(BODY, 'Expect: 100-continue\r\nConnection: close\r\n')]);
    expect(responses.map((r) => r.status).filter((s) => s !== 100)).toEqual([200]);
    expect(JSON.parse(responses[responses.length - 1].body).outputs).toEqual(OUTPUTS);
  });

  it('random bytes after a request line, or instead of one: no 5xx, never a hang', async () => {
    const prefixes = ['', 'POST /v1/activations/relu/forward HTTP/1.1\r\n', `POST /v1/activations/relu/forward HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n`, 'GET /healthz HTTP/1.1\r\nHost: x\r\n'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...prefixes), fc.uint8Array({ minLength: 1, maxLength: 120 }), async (prefix, bytes) => {
        const { responses } = await exchange([Buffer.concat([Buffer.from(prefix, 'latin1'), Buffer.from(bytes), Buffer.from('\r\n\r\n')])], {
          waitMs: REQUEST_TIMEOUT_MS * 3,
        });
        responses.forEach(checkRaw);
      }),
      // "0:" after the request line is a header, and no Host: Node's bare 400 once (a CI run found it).
      { ...params(Math.max(4, Math.round(RUNS / 4))), examples: [['POST /v1/activations/relu/forward HTTP/1.1\r\n', Uint8Array.from([48, 58])]] },
    );
    await knownRequestWorks();
  });

  it('fifty connections dropped mid-request leave nothing behind', async () => {
    const open = () => new Promise<number>((resolve) => app.server.getConnections((_e, n) => resolve(n)));
    // fetch keeps a few connections alive from the tests before: they are the baseline.
    const before = await open();
    const full = request(BODY);
    await Promise.all(
      Array.from(
        { length: 50 },
        (_, i) =>
          new Promise<void>((resolve) => {
            const socket = connect({ host, port }, () => {
              socket.write(full.slice(0, (i * 7) % full.length));
              setTimeout(() => {
                socket.destroy();
                resolve();
              }, 20);
            });
            socket.on('error', () => resolve());
          }),
      ),
    );
    // The server forgets them: its open connections drop back to the baseline.
    const deadline = Date.now() + 3_000;
    while ((await open()) > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await open()).toBeLessThanOrEqual(before);
    await knownRequestWorks();
  });
});

describe('afterwards', () => {
  it('the server answers a known request exactly, and nothing broke the contract', async () => {
    const gelu = getActivation('gelu')!;
    const answer = await fetchAnswer('POST', '/v1/activations/gelu/forward', '{"inputs":[[-1.5,0,2.25]]}');
    const want = runForward(gelu, { x: Float64Array.from([-1.5, 0, 2.25]), rows: 1, cols: 3, params: gelu.params.parse({}), dtype: 'float64' });
    expect(JSON.parse(answer.text).outputs).toEqual([Array.from(want.out)]);
    expect(contractViolations(app)).toEqual([]);
  });
});
