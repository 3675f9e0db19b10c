/**
 * Draws docs/benchmarks.svg from a `BENCH_JSON=… npm run bench:http` result:
 * one bar per service scenario, its throughput as a ratio of the echo
 * ceiling measured in the same run (req/s for tiny and medium, numbers/s for
 * large, as the goals in docs/BENCHMARKS.md are stated), with each goal as a
 * tick on its bar.
 *
 *   npx tsx docs/bench-chart.ts scratch/http.json docs/benchmarks.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { scaleLinear } from 'd3-scale';

interface Result {
  label: string;
  reqPerSec: number;
  floatsPerSec: number;
  /** Label of the echo with the same body. */
  ceiling?: string;
}

const [input, output = 'docs/benchmarks.svg'] = process.argv.slice(2);
if (!input) throw new Error('usage: tsx docs/bench-chart.ts <bench-http.json> [out.svg]');
const run = JSON.parse(readFileSync(input, 'utf8')) as { date: string; node: string; results: Result[] };

const bars = run.results.flatMap((r) => {
  const size = /(tiny|medium|large) \d+×\d+/.exec(r.label);
  if (!size || r.label.startsWith('echo')) return [];
  // The echo of the same body, as bench/http.ts names it.
  const echo = run.results.find((e) => e.label === r.ceiling);
  if (!echo) return [];
  const large = size[1] === 'large';
  return [
    {
      label: r.label,
      ratio: large ? r.floatsPerSec / echo.floatsPerSec : r.reqPerSec / echo.reqPerSec,
      goal: large ? 1.2 : 0.8,
      unit: large ? 'numbers/s' : 'req/s',
    },
  ];
});

const width = 760;
const left = 290;
const right = 60;
const barHeight = 22;
const top = 48;
const height = top + bars.length * (barHeight + 6) + 40;
const x = scaleLinear()
  .domain([0, Math.max(1.4, ...bars.map((b) => b.ratio)) * 1.05])
  .range([left, width - right]);
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

const parts: string[] = [];
parts.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
  `<rect width="${width}" height="${height}" fill="white"/>`,
  `<text x="${left}" y="20" font-size="14" font-weight="bold">Throughput as a ratio of the echo ceiling (same run)</text>`,
  `<text x="${left}" y="36" fill="#555">${escape(`${run.date.slice(0, 10)}, Node ${run.node}; tick: the goal`)}</text>`,
);
for (const tick of x.ticks(7)) {
  parts.push(
    `<line x1="${x(tick)}" x2="${x(tick)}" y1="${top - 4}" y2="${height - 30}" stroke="#eee"/>`,
    `<text x="${x(tick)}" y="${height - 14}" text-anchor="middle" fill="#555">${tick.toFixed(1)}×</text>`,
  );
}
bars.forEach((b, i) => {
  const y = top + i * (barHeight + 6);
  const colour = b.ratio >= b.goal ? '#2b8a3e' : '#c92a2a';
  parts.push(
    `<text x="${left - 8}" y="${y + barHeight / 2 + 4}" text-anchor="end">${escape(b.label)} (${b.unit})</text>`,
    `<rect x="${left}" y="${y}" width="${Math.max(0, x(b.ratio) - left)}" height="${barHeight}" fill="${colour}"/>`,
    `<text x="${x(b.ratio) + 4}" y="${y + barHeight / 2 + 4}">${b.ratio.toFixed(2)}×</text>`,
    `<line x1="${x(b.goal)}" x2="${x(b.goal)}" y1="${y - 2}" y2="${y + barHeight + 2}" stroke="black" stroke-width="2"/>`,
  );
});
parts.push('</svg>');
writeFileSync(output, `${parts.join('\n')}\n`);
console.log(`wrote ${output} (${bars.length} bars)`);
