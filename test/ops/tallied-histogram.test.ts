/**
 * TalliedHistogram (plugins/tallied-histogram.ts) against prom-client's own
 * Histogram as the oracle: the same observations, label sets and buckets
 * must give the same /metrics samples (buckets cumulative, le inclusive,
 * +Inf, _sum, _count); reset() zeroes them.
 */
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TalliedHistogram, type Series } from '../../src/plugins/tallied-histogram.js';
import { parsePrometheus, type Sample } from './prometheus.js';

const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const LABEL_SETS = [
  { route: '/v1/activations/relu/forward', status: '200' },
  { route: '/v1/activations/relu/forward', status: '400' },
  { route: 'unmatched', status: '404' },
];

const sorted = (samples: Sample[]) => samples.map((s) => JSON.stringify([s.name, Object.entries(s.labels).sort(), s.value])).sort();

/** Both registries' samples after the same observations (label set index, seconds). */
async function both(observations: [number, number][], reset = false): Promise<[Sample[], Sample[]]> {
  const oracleRegistry = new Registry();
  const oracle = new Histogram({ name: 'd_seconds', help: 'h', labelNames: ['route', 'status'], buckets: BOUNDS, registers: [oracleRegistry] });
  const registry = new Registry();
  const tallied = new TalliedHistogram('d_seconds', 'h', BOUNDS);
  registry.registerMetric(tallied.asMetric());
  const series = new Map<number, Series>();
  for (const [which, seconds] of observations) {
    oracle.observe(LABEL_SETS[which], seconds);
    if (!series.has(which)) series.set(which, tallied.series(LABEL_SETS[which]));
    tallied.observe(series.get(which)!, seconds);
  }
  if (reset) {
    oracle.reset();
    tallied.reset();
  }
  return [parsePrometheus(await registry.metrics()), parsePrometheus(await oracleRegistry.metrics())];
}

describe('TalliedHistogram', () => {
  it('exposes what prom-client would for the same observations', async () => {
    const seconds = fc.oneof(fc.constantFrom(0, ...BOUNDS), fc.double({ min: 0, max: 120, noNaN: true }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: LABEL_SETS.length - 1 }), seconds), { minLength: 1, maxLength: 60 }), async (observations) => {
        const [got, want] = await both(observations);
        expect(sorted(got)).toEqual(sorted(want));
      }),
      { numRuns: 200 },
    );
  });

  it('counts a value equal to a bound in that bound (le is inclusive)', async () => {
    const [got] = await both([[0, 0.005]]);
    const bucket = (le: string) => got.find((s) => s.name === 'd_seconds_bucket' && s.labels.le === le)?.value;
    expect([bucket('0.0025'), bucket('0.005'), bucket('0.01'), bucket('+Inf')]).toEqual([0, 1, 1, 1]);
  });

  it('reset() zeroes every series (kept, as their holders still observe into them)', async () => {
    const [got] = await both([[0, 0.2], [1, 3], [1, 700]], true);
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((s) => s.value === 0)).toBe(true);
  });
});
