/**
 * A Prometheus histogram whose observations are tallied as plain numbers on
 * the request path and handed to prom-client's registry when it is scraped,
 * as the request counters are (plugins/metrics.ts). A labelled prom-client
 * histogram re-validates and re-hashes its labels on every observe(): inside
 * a loaded server, with its objects out of the cache between requests, the
 * metrics hook took 10 to 14 µs of a tiny request's 65 (docs/BENCHMARKS.md).
 * The caller keeps the Series of each label set and observes into it.
 *
 * Written by hand because prom-client has no way to add pre-counted buckets;
 * its Registry takes any object with name, help, type and get(), and formats
 * what get() returns as it does its own histograms' values.
 */
import type { Metric } from 'prom-client';

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket, not cumulative; the last is past every bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** One line of the exposition: a bucket, the sum or the count of a label set. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class TalliedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series: Series[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending; +Inf is implied. */
    readonly upperBounds: readonly number[],
  ) {}

  /** A new label set: keep it, and observe into it. */
  series(labels: Record<string, string>): Series {
    const series: Series = { labels, counts: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 };
    this.#series.push(series);
    return series;
  }

  observe(series: Series, value: number): void {
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    series.counts[i] += 1;
    series.sum += value;
    series.count += 1;
  }

  /** What prom-client's Registry reads: cumulative buckets, +Inf, _sum and _count per label set. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const { labels, counts, sum, count } of this.#series) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += counts[i];
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: count, metricName: bucket });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const series of this.#series) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** For Registry.registerMetric, whose type is prom-client's own metric classes. */
  asMetric(): Metric<string> {
    return this as unknown as Metric<string>;
  }
}
