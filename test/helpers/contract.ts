/**
 * The committed OpenAPI document as a response validator: every answer the
 * tests see is checked against openapi/openapi.json (not the zod schemas it
 * was generated from), keyed by path, method, status and content type.
 *
 * - A documented operation: the status must be documented (or a `4XX`-style
 *   range, or `default`), the media type must be one of that response's
 *   content types, and the body must validate against its schema (Ajv,
 *   JSON Schema 2020-12, `$ref`s resolved against the document's
 *   components). A problem's `status` field must equal the HTTP status.
 * - Anything else (an unknown route, a wrong method, a hidden route) may
 *   only answer an error, as application/problem+json that validates
 *   against the document's `Problem`. Swagger UI (`/docs`), the served
 *   document (`/openapi.json`) and CORS preflights (OPTIONS) are not part
 *   of the API and are not checked.
 *
 * `enforceContract(app)` hooks this into an app: `app.inject()` throws on a
 * violation (so a test that made the request fails there), and answers
 * written to real sockets are checked as they finish; those violations are
 * listed by `contractViolations(app)` and make `app.close()` reject.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => void;

export const OPENAPI_PATH = new URL('../../openapi/openapi.json', import.meta.url);

const ROOT_ID = 'urn:activation-service:openapi';
const PROBLEM_TYPE = 'application/problem+json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, any>;

/** What a client saw. */
export interface ObservedResponse {
  method: string;
  /** Path and query, as requested. */
  url: string;
  status: number;
  contentType?: string;
  /** The body as text; undefined when it could not be captured (a stream). */
  body?: string;
}

interface PathEntry {
  template: string;
  regex: RegExp;
  /** Literal paths win over templated ones (as the router does). */
  literal: boolean;
  item: Json;
}

/** Outside the API: not described by the document on purpose. */
function outOfScope(method: string, path: string): boolean {
  if (method === 'OPTIONS') return true;
  if ((method === 'GET' || method === 'HEAD') && (path === '/docs' || path.startsWith('/docs/') || path === '/openapi.json')) return true;
  return false;
}

const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';')[0].trim().toLowerCase();
const isJson = (media: string) => media === 'application/json' || media.endsWith('+json');

/** `#/components/...` becomes a reference into the document registered under ROOT_ID. */
function absoluteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(absoluteRefs);
  if (schema && typeof schema === 'object') {
    return Object.fromEntries(
      Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? ROOT_ID + v : absoluteRefs(v)]),
    );
  }
  return schema;
}

export class Contract {
  readonly document: Json;
  private readonly ajv: Ajv2020;
  private readonly paths: PathEntry[];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(document: Json) {
    this.document = document;
    // strict: false because OpenAPI adds keywords of its own (example, discriminator, xml) to schemas.
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: ROOT_ID, components: document.components ?? {} });
    this.paths = Object.entries((document.paths ?? {}) as Json).map(([template, item]) => ({
      template,
      regex: new RegExp(
        `^${template
          .split(/(\{[^}]+\})/)
          .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('')}$`,
      ),
      literal: !template.includes('{'),
      item,
    }));
    this.paths.sort((a, b) => Number(b.literal) - Number(a.literal));
  }

  /** The document's operation for a method and path, if any. */
  operation(method: string, path: string): { template: string; op: Json } | undefined {
    const key = (method === 'HEAD' ? 'get' : method.toLowerCase()) as (typeof METHODS)[number];
    for (const entry of this.paths) {
      if (entry.regex.test(path)) {
        const op = entry.item[key];
        // The router picks the path first: a literal path without this method does not fall through to a template.
        return op ? { template: entry.template, op } : undefined;
      }
    }
    return undefined;
  }

  private validator(key: string, schema: unknown): ValidateFunction {
    let validate = this.compiled.get(key);
    if (!validate) {
      validate = this.ajv.compile(absoluteRefs(schema ?? {}) as object);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  /** What is wrong with this response by the document; empty when it conforms. */
  check(response: ObservedResponse): string[] {
    const method = response.method.toUpperCase();
    let path = response.url.split('?')[0];
    try {
      path = new URL(path, 'http://x').pathname;
    } catch {
      /* a URL the router rejects: matched as written */
    }
    if (outOfScope(method, path)) return [];
    const media = mediaType(response.contentType);
    const found = this.operation(method, path);
    const problems: string[] = [];

    if (!found) {
      // Not an operation of the document: only an error may come back, as a documented Problem (under /v2 as the
      // protocol's {"error"}, which is all its clients read).
      const oip = path === '/v2' || path.startsWith('/v2/');
      const [errorType, errorSchema] = oip ? ['application/json', 'OipError'] : [PROBLEM_TYPE, 'Problem'];
      if (response.status < 400) problems.push(`status ${response.status} for an operation the document does not describe`);
      else if (media !== errorType) problems.push(`content type ${JSON.stringify(media)} for an undocumented operation's error (expected ${errorType})`);
      else problems.push(...this.checkBody(`undocumented ${errorSchema}`, { $ref: `#/components/schemas/${errorSchema}` }, response, method));
      return problems;
    }

    const { template, op } = found;
    const responses = (op.responses ?? {}) as Json;
    const status = String(response.status);
    const declared = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    if (!declared) {
      return [`status ${status} is not documented for ${method} ${template} (documented: ${Object.keys(responses).join(', ')})`];
    }
    const content = (declared.content ?? {}) as Json;
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0) {
      if (response.body) problems.push(`a body, but ${method} ${template} ${status} documents none`);
      return problems;
    }
    const entry = content[media] ?? Object.entries(content).find(([m]) => mediaType(m) === media)?.[1];
    if (!entry) {
      return [`content type ${JSON.stringify(response.contentType ?? '')} is not documented for ${method} ${template} ${status} (documented: ${mediaTypes.join(', ')})`];
    }
    problems.push(...this.checkBody(`${method} ${template} ${status} ${media}`, entry.schema, response, method));
    return problems;
  }

  private checkBody(key: string, schema: unknown, response: ObservedResponse, method: string): string[] {
    if (method === 'HEAD' || response.body === undefined) return [];
    const media = mediaType(response.contentType);
    let value: unknown = response.body;
    if (isJson(media)) {
      try {
        value = JSON.parse(response.body);
      } catch (error) {
        return [`the body is not JSON (${(error as Error).message}): ${response.body.slice(0, 120)}`];
      }
    }
    const validate = this.validator(key, schema);
    const problems: string[] = [];
    if (!validate(value)) {
      problems.push(
        ...(validate.errors ?? []).slice(0, 5).map((e) => `body${e.instancePath || ''} ${e.message ?? 'is invalid'} (${e.schemaPath})`),
      );
    }
    if (media === PROBLEM_TYPE && value && typeof value === 'object' && (value as Json).status !== response.status) {
      problems.push(`the problem says status ${(value as Json).status} but the HTTP status is ${response.status}`);
    }
    return problems;
  }
}

let shared: Contract | undefined;

/** The contract of the committed document, read once per test file. */
export function loadContract(): Contract {
  shared ??= new Contract(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')));
  return shared;
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

export function describeViolation(response: ObservedResponse, problems: string[]): string {
  return (
    `${response.method.toUpperCase()} ${response.url.slice(0, 200)} → ${response.status} ${response.contentType ?? '(no content type)'} ` +
    `breaks openapi/openapi.json:\n  ${problems.join('\n  ')}\n  body: ${(response.body ?? '').slice(0, 300)}`
  );
}

/** Throws a ContractViolation when the response does not conform. */
export function assertConforms(response: ObservedResponse, contract: Contract = loadContract()): void {
  const problems = contract.check(response);
  if (problems.length > 0) throw new ContractViolation(describeViolation(response, problems));
}

const violationsOf = new WeakMap<FastifyInstance, string[]>();

/** Violations seen on real sockets (inject throws at once instead). */
export function contractViolations(app: FastifyInstance): string[] {
  return violationsOf.get(app) ?? [];
}

type InjectArg = string | { method?: string; url?: string | object; path?: string | object; query?: unknown };

/** Checks every answer of this app against the document; call before ready(). */
export function enforceContract(app: FastifyInstance, contract: Contract = loadContract()): void {
  const violations: string[] = [];
  violationsOf.set(app, violations);

  // app.inject(): what the client gets back is checked before the test sees it.
  const inject = app.inject.bind(app) as (...args: unknown[]) => unknown;
  (app as unknown as { inject: unknown }).inject = (...args: unknown[]) => {
    const [opts, callback] = args as [InjectArg | undefined, unknown];
    // The chained form and the callback form are passed through unchecked.
    if (opts === undefined || typeof callback === 'function') return inject(...args);
    const options = typeof opts === 'string' ? { url: opts } : opts;
    const rawUrl = options.url ?? options.path ?? '/';
    const url = typeof rawUrl === 'string' ? rawUrl : String((rawUrl as { pathname?: string }).pathname ?? '/');
    return (inject(opts) as Promise<{ statusCode: number; headers: Record<string, unknown>; payload: string }>).then((res) => {
      assertConforms(
        { method: options.method ?? 'GET', url, status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, body: res.payload },
        contract,
      );
      return res;
    });
  };

  // Real sockets: the bytes written are collected and checked when the answer has been sent.
  app.server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    const collect = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    };
    // Fastify passes its headers to writeHead(), where getHeader() does not always see them afterwards.
    let headContentType: string | undefined;
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = ((...args: unknown[]) => {
      const headers = args.find((a, i) => i > 0 && a !== null && typeof a === 'object');
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'content-type') headContentType = String(headers[i + 1]);
      } else if (headers) {
        for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === 'content-type') headContentType = String(v);
      }
      return writeHead(...args);
    }) as typeof res.writeHead;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((...args: unknown[]) => {
      collect(args[0], args[1]);
      return write(...args);
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      collect(args[0], args[1]);
      return end(...args);
    }) as typeof res.end;
    res.once('finish', () => {
      const response: ObservedResponse = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        status: res.statusCode,
        contentType: headContentType ?? (res.getHeader('content-type') as string | undefined),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const problems = contract.check(response);
      if (problems.length > 0) violations.push(describeViolation(response, problems));
    });
  });

  app.addHook('onClose', async () => {
    if (violations.length > 0) throw new ContractViolation(`${violations.length} response(s) broke the contract:\n${violations.join('\n')}`);
  });
}
