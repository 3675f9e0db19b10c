/**
 * Fuzzing the compute routes with request text rather than values: JSON cut
 * short, duplicate keys, characters inserted or dropped, number spellings
 * JSON has or has not (1E5, 1e-400, 1e400, .5, NaN), unicode in keys and
 * strings, deep nesting, prototype keys, and content types from right to
 * absurd. Each answer is a 2xx exact by the core kernels (for the body as
 * JSON.parse reads the text) or a 4xx problem; never a 5xx or a hang.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activations, getActivation } from '../../src/core/activations/index.js';
import { build } from '../helpers/app.js';
import { bodyArbitrary, toJsonText, type Op } from './arbitraries.js';
import { checkComputeAnswer, checkProblem, injectWithin, parseSent } from './oracle.js';
import { exampleBodies } from '../../src/schemas/compute.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number) => ({ numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) });

let app: FastifyInstance;
beforeAll(async () => {
  app = await build({ BODY_LIMIT: 1024 * 1024, MAX_ELEMENTS: 4096 });
});
afterAll(async () => {
  await app?.close();
});

/** `contentType` null: no Content-Type header at all. */
const post = (name: string, op: Op, payload: string, contentType: string | null = 'application/json') =>
  injectWithin(app, {
    method: 'POST',
    url: `/v1/activations/${name}/${op}`,
    headers: contentType === null ? {} : { 'content-type': contentType },
    payload,
  });

/** A random activation (by name, so counterexamples stay short), operation and a body for it, as text. */
const target = fc
  .record({ name: fc.constantFrom(...activations.map((a) => a.name)), op: fc.constantFrom<Op>('forward', 'backward') })
  .chain(({ name, op }) => bodyArbitrary(getActivation(name)!, op).map(({ body }) => ({ name, op, body, text: toJsonText(body) })));

const defOf = (name: string) => getActivation(name)!;

describe('request text', () => {
  it('JSON cut short anywhere is a 400 malformed-JSON problem', async () => {
    await fc.assert(
      fc.asyncProperty(target, fc.nat(), async ({ name, op, text }, cut) => {
        const truncated = text.slice(0, cut % text.length);
        const answer = await post(name, op, truncated);
        const problem = checkProblem(answer, {});
        expect(answer.status).toBe(400);
        expect(problem.code).toBe('ACT_ERR_MALFORMED_JSON');
      }),
      params(RUNS * 3),
    );
  });

  it('a character inserted, dropped or replaced: exact or a problem', async () => {
    const noise = fc.oneof(
      fc.constantFrom(',', ']', '[', '{', '}', '"', ':', '-', '.', 'e', 'E', '+', '0', ' ', '\\', '\u0000', '\ufeff', 'é', '𝟘', 'NaN', 'Infinity', '1e400', 'null'),
      fc.string({ unit: 'grapheme', maxLength: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(target, fc.nat(), fc.constantFrom('insert', 'drop', 'replace'), noise, async ({ name, op, text }, at, how, s) => {
        const i = at % text.length;
        const changed = how === 'insert' ? text.slice(0, i) + s + text.slice(i) : how === 'drop' ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + s + text.slice(i + 1);
        checkComputeAnswer(defOf(name), op, changed, await post(name, op, changed));
      }),
      params(RUNS * 4),
    );
  });

  it('duplicate keys: the last one wins, exactly as JSON.parse reads them', async () => {
    const values = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('NaN', [[1, 2]], [[-0]], 'float32', 'float16', {}, { approximate: 'tanh' }));
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom('inputs', 'params', 'dtype', 'grad_outputs', 'targets'), values, fc.boolean(), async ({ name, op, text }, key, value, before) => {
        // The duplicate goes first (the original wins) or last (the duplicate wins).
        const dup = `${JSON.stringify(key)}:${toJsonText(value)}`;
        const changed = before ? `{${dup},${text.slice(1)}` : `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}${dup}}`;
        checkComputeAnswer(defOf(name), op, changed, await post(name, op, changed));
      }),
      params(RUNS * 2),
    );
  });

  it('numbers spelled every way: JSON numbers are read as JSON.parse reads them, the rest is a 400', async () => {
    const spellings = fc.constantFrom('1E5', '1e-400', '-1e-400', '1e400', '-1e400', '.5', '1.', '+1', '00', '0x1F', '-0', '-0.0', '0e0', '1.7976931348623157e308', '1.7976931348623159e308',
      '4.9e-324', '2.4e-324', '9007199254740993', '1' + '0'.repeat(400), '0.' + '0'.repeat(400) + '1', 'NaN', 'Infinity', '-Infinity', '"nan"', '"NaN"', '"Infinity"', '"-Infinity"', '"inf"', '"+Infinity"', '" NaN"', 'true', 'null', '"1"', '[]', '{}');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...activations.map((a) => a.name)), fc.constantFrom<Op>('forward', 'backward'), fc.array(spellings, { minLength: 1, maxLength: 4 }), async (name, op, row) => {
        const def = getActivation(name)!;
        const rowText = `[${row.join(',')}]`;
        // A body for the example's shape, with the first row spelled out.
        const example = def.example.inputs.map((r) => [...r]);
        const cols = row.length;
        const inputs = example.map(() => Array.from({ length: cols }, (_, c) => c));
        const { inputs: _exampleInputs, ...fields } = exampleBodies(def).forward;
        const rest = toJsonText(fields).slice(1, -1);
        const grad = op === 'backward' && !def.gradOutputsOptional ? `,"grad_outputs":${toJsonText(inputs)}` : '';
        const text = `{"inputs":[${rowText}${inputs.slice(1).map((r) => `,${toJsonText(r)}`).join('')}]${grad}${rest ? `,${rest}` : ''}}`;
        checkComputeAnswer(def, op, text, await post(name, op, text));
      }),
      params(RUNS * 3),
    );
  });

  it('unicode in keys and strings: a problem that quotes it back safely', async () => {
    await fc.assert(
      fc.asyncProperty(target, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), fc.constantFrom('key', 'dtype', 'param'), async ({ name, op, body }, s, where) => {
        const changed =
          where === 'key' ? { ...body, [s]: 1 } : where === 'dtype' ? { ...body, dtype: s } : { ...body, params: { ...(body.params ?? {}), [s]: s } };
        const text = toJsonText(changed);
        const answer = await post(name, op, text);
        checkComputeAnswer(defOf(name), op, text, answer);
        // The answer is JSON, whatever the string held.
        expect(() => JSON.parse(answer.text)).not.toThrow();
      }),
      params(RUNS * 2),
    );
  });
});

describe('shapes that strain a parser', () => {
  const deep = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);
  const cases: [string, string][] = [
    ['arrays nested 100 000 deep as inputs', `{"inputs":${deep(100_000, '[', ']')}}`],
    ['objects nested 50 000 deep as params', `{"inputs":[[1]],"params":${deep(50_000, '{"a":', '}')}}`],
    ['deep nesting beside a constructor key', `{"constructor":{"prototype":{}},"inputs":${deep(50_000, '[', ']')}}`],
    ['deep objects of constructor keys', `{"inputs":[[1]],"params":${deep(20_000, '{"constructor":', '}')}}`],
    ['__proto__ at the top', '{"inputs":[[1]],"__proto__":{"polluted":true}}'],
    ['__proto__ inside params', '{"inputs":[[1]],"params":{"__proto__":{"alpha":2}}}'],
    ['constructor.prototype', '{"inputs":[[1]],"constructor":{"prototype":{"polluted":true}}}'],
    ['20 000 unknown keys', `{"inputs":[[1]],${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`],
    ['20 000 empty rows', `{"inputs":[${Array(20_000).fill('[]').join(',')}]}`],
    ['20 000 rows that are not arrays', `{"inputs":[${Array(20_000).fill('1').join(',')}]}`],
    ['a 200 000-character string', `{"inputs":[["${'x'.repeat(200_000)}"]]}`],
    ['a 100 000-digit number', `{"inputs":[[${'9'.repeat(100_000)}]]}`],
    ['a lone surrogate', '{"inputs":[["\\ud800"]]}'],
    ['a NUL byte in a key', '{"inputs":[[1]],"\\u0000":1}'],
    ['an empty body', ''],
    ['whitespace only', ' \n\t '],
    ['null', 'null'],
    ['a top-level number', '-0'],
    ['a top-level string', '"inputs"'],
    ['a top-level array', '[[1,2]]'],
    ['a byte-order mark then JSON', '\ufeff{"inputs":[[1]]}'],
    ['two JSON documents', '{"inputs":[[1]]}{"inputs":[[2]]}'],
    ['a comment', '{"inputs":[[1]] /* hi */}'],
    ['single quotes', "{'inputs':[[1]]}"],
    ['a trailing comma', '{"inputs":[[1,]],}'],
  ];
  for (const [label, text] of cases) {
    it(`${label}: a problem, not a 5xx or a hang`, async () => {
      for (const name of ['relu', 'prelu', 'softmax_cross_entropy']) {
        const def = getActivation(name)!;
        for (const op of ['forward', 'backward'] as Op[]) {
          const answer = await post(name, op, text);
          checkComputeAnswer(def, op, text, answer);
          expect(answer.status, answer.text.slice(0, 200)).toBeLessThan(500);
        }
      }
      // Nothing leaked onto Object.prototype.
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }
});

describe('content types', () => {
  const jsonLike = ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON', 'application/json; charset=latin1'];
  const others = ['text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/problem+json', 'application/vnd.api+json',
    'application/octet-stream', 'application/xml', '*/*', 'application/*', 'application/json, text/plain', 'json', '', ';', 'application/jsonx', 'application/json-patch+json'];
  it('a JSON body under any content type: exact under application/json, else 415 (or 400)', async () => {
    await fc.assert(
      fc.asyncProperty(target, fc.oneof(fc.constantFrom(...jsonLike, ...others), fc.string({ maxLength: 30 }), fc.constant(null)), async ({ name, op, text }, contentType) => {
        let answer;
        try {
          answer = await post(name, op, text, contentType);
        } catch (error) {
          // A content type Node refuses to send at all (a control character) never reaches the server.
          if (error instanceof TypeError || /Invalid character/.test(String(error))) return;
          throw error;
        }
        const outcome = checkComputeAnswer(defOf(name), op, text, answer);
        if (contentType === null || contentType.split(';')[0].trim().toLowerCase() !== 'application/json') {
          expect(outcome, `${JSON.stringify(contentType)} → ${answer.status}`).toBe('problem');
        }
        if (outcome === 'problem' && answer.status === 415) expect(JSON.parse(answer.text).detail).toContain('application/json');
      }),
      params(RUNS * 3),
    );
  });

  it('a parse of the body as sent agrees with what the server computed', () => {
    // The oracle's reading of a body (a BOM skipped, as the server does).
    expect(parseSent('\ufeff{"a":1}')).toEqual({ value: { a: 1 } });
    expect(parseSent('{"a":1')).toBeUndefined();
  });
});

describe('afterwards', () => {
  it('the app answers a known request exactly', async () => {
    const answer = await post('relu', 'forward', '{"inputs":[[-1,0,2.5,"NaN"]]}');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).outputs).toEqual([[0, 0, 2.5, 'NaN']]);
  });
});
