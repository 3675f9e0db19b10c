/**
 * GET /metrics after known traffic: request counts and latency histograms
 * per route, activation and status move by exactly the requests made;
 * elements computed and inline-versus-pool counts match the batches; the
 * pool gauges show a backlog while it exists; default process metrics and
 * the event-loop delay are there; each app has its own registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { build } from '../helpers/app.js';
import { SLEEP } from '../workers/faulty.worker.js';
import { find, parsePrometheus, value, type Sample } from './prometheus.js';

const faultyWorker = new URL('../workers/faulty.worker.ts', import.meta.url);

async function scrape(app: FastifyInstance): Promise<Sample[]> {
  const response = await app.inject('/metrics');
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(response.body);
}

const post = (app: FastifyInstance, url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

describe('GET /metrics', () => {
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('counts the requests made, per route, activation and status, with latency histograms', async () => {
    // Batches of more than 4 numbers go to the pool.
    const app = await build({ INLINE_MAX_ELEMENTS: 4, WORKERS: 1 });
    apps.push(app);

    for (let i = 0; i < 3; i++) expect((await post(app, '/v1/activations/relu/forward', { inputs: [[-1, 2]] })).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) {
      expect((await post(app, '/v1/activations/sigmoid/forward', { inputs: [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]] })).statusCode).toBe(200);
    }
    expect((await post(app, '/v1/activations/gelu/backward', { inputs: [[0, 1, 2]], grad_outputs: [[1, 1, 1]] })).statusCode).toBe(200);
    expect((await post(app, '/v1/activations/relu/forward', { inputs: [[1, 2], [3]] })).statusCode).toBe(400);
    expect((await post(app, '/v1/activations/nosuch/forward', { inputs: [[1]] })).statusCode).toBe(404);
    expect((await app.inject('/no/such/route')).statusCode).toBe(404);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    // Answered while routing (a URL that does not decode, a name over MAX_PARAM_LENGTH): counted too, as unmatched.
    expect((await app.inject('/v1/activations/%E0%A4%A')).statusCode).toBe(400);
    expect((await app.inject(`/v1/activations/${'a'.repeat(200)}`)).statusCode).toBe(414);

    const samples = await scrape(app);
    const requests = (route: string, activation: string, status: string, method = 'POST') =>
      value(samples, 'http_requests_total', { method, route, activation, status });

    expect(requests('/v1/activations/relu/forward', 'relu', '200')).toBe(3);
    expect(requests('/v1/activations/relu/forward', 'relu', '400')).toBe(1);
    expect(requests('/v1/activations/sigmoid/forward', 'sigmoid', '200')).toBe(2);
    expect(requests('/v1/activations/gelu/backward', 'gelu', '200')).toBe(1);
    // An unknown name is never a label value: the route template, and no activation.
    expect(requests('/v1/activations/:name/forward', '', '404')).toBe(1);
    expect(requests('unmatched', '', '404', 'GET')).toBe(1);
    expect(requests('/healthz', '', '200', 'GET')).toBe(1);
    expect(requests('unmatched', '', '400', 'GET')).toBe(1);
    expect(requests('unmatched', '', '414', 'GET')).toBe(1);
    expect(find(samples, 'http_requests_total').some((s) => s.labels.route.includes('nosuch') || s.labels.activation === 'nosuch')).toBe(false);
    // Every request counted once: 3 + 1 + 2 + 1 + 1 + 1 + 1 + 2.
    expect(find(samples, 'http_requests_total').reduce((sum, s) => sum + s.value, 0)).toBe(12);

    // The histogram saw the same requests, and their time.
    const histogram = { method: 'POST', route: '/v1/activations/relu/forward', activation: 'relu', status: '200' };
    expect(value(samples, 'http_request_duration_seconds_count', histogram)).toBe(3);
    expect(value(samples, 'http_request_duration_seconds_bucket', { ...histogram, le: '+Inf' })).toBe(3);
    expect(value(samples, 'http_request_duration_seconds_sum', histogram)).toBeGreaterThan(0);
    const buckets = find(samples, 'http_request_duration_seconds_bucket', histogram).map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));

    // Computations and numbers, inline versus pool; failed requests computed nothing.
    const computed = (activation: string, operation: string, placement: string) =>
      [
        value(samples, 'activation_computations_total', { activation, operation, placement }),
        value(samples, 'activation_elements_total', { activation, operation, placement }),
      ];
    expect(computed('relu', 'forward', 'inline')).toEqual([3, 6]);
    expect(computed('relu', 'forward', 'pool')).toEqual([0, 0]);
    expect(computed('sigmoid', 'forward', 'pool')).toEqual([2, 20]);
    expect(computed('sigmoid', 'forward', 'inline')).toEqual([0, 0]);
    expect(computed('gelu', 'backward', 'inline')).toEqual([1, 3]);

    // The pool: one thread, two tasks completed, idle now.
    expect(value(samples, 'activation_pool_threads')).toBe(1);
    expect(value(samples, 'activation_pool_tasks_completed_total')).toBe(2);
    expect(value(samples, 'activation_pool_queue_depth')).toBe(0);
    expect(value(samples, 'activation_pool_tasks_running')).toBe(0);
    const utilization = value(samples, 'activation_pool_utilization');
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
    expect(value(samples, 'activation_overloaded')).toBe(0);

    // Event-loop delay and the process's default metrics.
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect(find(samples, name).length, name).toBeGreaterThan(0);
    }

    // The first scrape is counted by the second.
    const again = await scrape(app);
    expect(value(again, 'http_requests_total', { method: 'GET', route: '/metrics', activation: '', status: '200' })).toBe(1);
    expect(value(again, 'http_requests_total', { method: 'POST', route: '/v1/activations/relu/forward', activation: 'relu', status: '200' })).toBe(3);
  });

  it('shows the backlog of the pool while it lasts', async () => {
    const app = await build({ INLINE_MAX_ELEMENTS: 0, WORKERS: 1, QUEUE_LIMIT: 8 }, { workerFile: faultyWorker });
    apps.push(app);
    const slow = Array.from({ length: 3 }, () => post(app, '/v1/activations/relu/forward', { inputs: [[SLEEP, 600]] }));
    // Wait until all three are admitted: one running, two waiting.
    let samples: Sample[] = [];
    for (let i = 0; i < 100; i++) {
      samples = await scrape(app);
      if (value(samples, 'activation_pool_queue_depth') === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(value(samples, 'activation_pool_queue_depth')).toBe(2);
    expect(value(samples, 'activation_pool_tasks_running')).toBe(1);
    expect(value(samples, 'activation_pool_tasks_completed_total')).toBe(0);

    const responses = await Promise.all(slow);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const after = await scrape(app);
    expect(value(after, 'activation_pool_queue_depth')).toBe(0);
    expect(value(after, 'activation_pool_tasks_running')).toBe(0);
    expect(value(after, 'activation_pool_tasks_completed_total')).toBe(3);
    expect(value(after, 'activation_computations_total', { activation: 'relu', operation: 'forward', placement: 'pool' })).toBe(3);
    // Some work has been done, so the pool has been in use.
    expect(value(after, 'activation_pool_utilization')).toBeGreaterThan(0);
  });

  it('keeps one registry per app: a second app starts from zero', async () => {
    const first = await build();
    const second = await build();
    apps.push(first, second);
    await post(first, '/v1/activations/relu/forward', { inputs: [[1]] });
    const labels = { method: 'POST', route: '/v1/activations/relu/forward', activation: 'relu', status: '200' };
    expect(value(await scrape(first), 'http_requests_total', labels)).toBe(1);
    expect(value(await scrape(second), 'http_requests_total', labels)).toBe(0);
  });
});
