/**
 * What a request was, for its log line and its metrics labels: the route
 * template (never the raw URL, so label values stay few), the activation
 * (only a registered name, never what the client typed), the operation, the
 * batch shape and where it ran. Never the numbers themselves.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { activationNames } from '../core/activations/index.js';
import type { ErrorCode } from '../errors.js';
import { RawJsonBody, type Placement } from './compute.js';
import { problemCodeOf } from './error-handler.js';

const known = new Set(activationNames);

export interface RequestInfo {
  /** The route template, e.g. `/v1/activations/gelu/forward`; `unmatched` for a 404 without a route. */
  route: string;
  activation?: string;
  operation?: 'forward' | 'backward' | 'plot' | 'catalog';
  /** [rows, cols] of `inputs`, for forward and backward. */
  shape?: [number, number];
  /** Where the batch ran (or was to run); absent when it was refused before that. */
  placement?: Placement;
  /** The problem code of an error answer. */
  code?: ErrorCode;
}

const ROUTE = /^\/v1\/activations(?:\/([^/]+)(?:\/(forward|backward|plot\.svg))?)?$/;
/** /v2 inference: the model is the activation, `<name>.backward` its backward. */
const V2_INFER = /^\/v2\/models\/:name(?:\/versions\/:version)?\/infer$/;

/** Problems that come from the computation itself, so it was placed. */
const COMPUTE_FAILURES = new Set<ErrorCode>(['ACT_ERR_WORKER_FAILED', 'ACT_ERR_QUEUE_FULL', 'ACT_ERR_TIMEOUT']);

function shapeOf(body: unknown): [number, number] | undefined {
  // A large body went to a worker unparsed; the worker reported its shape.
  if (body instanceof RawJsonBody) return body.shape;
  const inputs = (body as { inputs?: unknown } | null | undefined)?.inputs;
  if (!Array.isArray(inputs)) return undefined;
  const first: unknown = inputs[0];
  return [inputs.length, Array.isArray(first) ? first.length : 0];
}

/** Each request described once: the metrics hook and the request log (when it writes) both ask, after the answer. */
const described = new WeakMap<FastifyRequest, RequestInfo>();

export function describeRequest(
  request: FastifyRequest,
  reply: FastifyReply,
  placementOf: (elements: number) => Placement,
): RequestInfo {
  let info = described.get(request);
  if (!info) {
    info = describe(request, reply, placementOf);
    described.set(request, info);
  }
  return info;
}

/** What the route template alone says; worked out once per template (they are the registered routes). */
interface RouteFacts {
  /** The activation named in the template, or where to find it: the :name parameter of /v1 or /v2. */
  activation?: string;
  nameParam?: 'v1' | 'v2';
  operation?: RequestInfo['operation'];
  /** A forward or backward route: the batch has a shape and a placement. */
  computes: boolean;
}

const routeFacts = new Map<string, RouteFacts>();

function factsOf(route: string): RouteFacts {
  let facts = routeFacts.get(route);
  if (facts) return facts;
  facts = { computes: false };
  if (V2_INFER.test(route)) {
    facts.nameParam = 'v2';
  } else {
    const match = ROUTE.exec(route);
    if (match) {
      const segment = match[1];
      if (segment?.startsWith(':')) facts.nameParam = 'v1';
      else if (segment !== undefined && known.has(segment)) facts.activation = segment;
      const op = match[2];
      facts.operation = op === undefined ? 'catalog' : op === 'plot.svg' ? 'plot' : (op as 'forward' | 'backward');
      facts.computes = op === 'forward' || op === 'backward';
    }
  }
  routeFacts.set(route, facts);
  return facts;
}

function describe(request: FastifyRequest, reply: FastifyReply, placementOf: (elements: number) => Placement): RequestInfo {
  const route = request.routeOptions.url ?? 'unmatched';
  const info: RequestInfo = { route };
  const code = problemCodeOf(request);
  if (code) info.code = code;
  const facts = factsOf(route);

  if (facts.nameParam === 'v2') {
    const model = (request.params as Record<string, unknown> | undefined)?.name;
    if (typeof model === 'string') {
      const backward = model.endsWith('.backward');
      const name = backward ? model.slice(0, -'.backward'.length) : model;
      if (known.has(name)) info.activation = name;
      info.operation = backward ? 'backward' : 'forward';
    }
    return info;
  }
  if (facts.nameParam === 'v1') {
    const name = (request.params as Record<string, unknown> | undefined)?.name;
    if (typeof name === 'string' && known.has(name)) info.activation = name;
  } else if (facts.activation !== undefined) {
    info.activation = facts.activation;
  }
  if (facts.operation !== undefined) info.operation = facts.operation;

  if (facts.computes) {
    const shape = shapeOf(request.body);
    if (shape) {
      info.shape = shape;
      if (reply.statusCode < 400 || (code && COMPUTE_FAILURES.has(code))) {
        info.placement = request.body instanceof RawJsonBody ? 'pool' : placementOf(shape[0] * shape[1]);
      }
    }
  }
  return info;
}
