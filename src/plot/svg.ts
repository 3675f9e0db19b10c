/**
 * A chart of an activation and its derivative as a standalone SVG document:
 * axes, ticks, legend and title, no external assets (fonts fall back to the
 * viewer's sans-serif). d3-scale picks the domains and ticks, d3-shape draws
 * the paths; the rest is markup.
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import { line } from 'd3-shape';

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dash?: string;
  readonly y: Float64Array;
}

export interface ChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly x: Float64Array;
  readonly series: readonly Series[];
}

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { top: 64, right: 24, bottom: 44, left: 64 };

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** The y range worth showing: every finite value, padded; never empty. */
function yDomain(series: readonly Series[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) for (const v of s.y) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  if (!Number.isFinite(lo)) return [-1, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  // Halves first: hi − lo overflows when both ends are near ±1.8e308 (prelu with α = −1.8e308), and the
  // padded ends are held to the finite range.
  const pad = (hi / 2 - lo / 2) * 0.12;
  return [Math.max(lo - pad, -Number.MAX_VALUE), Math.min(hi + pad, Number.MAX_VALUE)];
}

const format = (v: number) => String(Number(v.toPrecision(6)));

/**
 * Whether d3 can place `count` ticks on the scale's domain: it works the step
 * out as a power of ten, which is 0 for spans near the smallest subnormals
 * (min=5e-324&max=1e-323), and then fails (as does nice(), on the same step).
 */
function tickable(scale: ScaleLinear<number, number>, count: number): boolean {
  const [a, b] = scale.domain();
  return Math.abs(b - a) / count > 1e-300;
}

/** d3's ticks, or the domain's two ends where there are none to place. */
const ticksOf = (scale: ScaleLinear<number, number>, count: number): number[] => (tickable(scale, count) ? scale.ticks(count) : scale.domain());

export function renderChart(spec: ChartSpec): string {
  const x = scaleLinear()
    .domain([spec.x[0], spec.x[spec.x.length - 1]])
    .range([MARGIN.left, WIDTH - MARGIN.right]);
  const [ylo, yhi] = yDomain(spec.series);
  // A y span past 1.8e308 (values of both signs near the ends of the range) has no double: the geometry is
  // then worked out on the values divided by 4, exactly, and the tick labels multiplied back.
  const yk = Number.isFinite(yhi - ylo) ? 1 : 0.25;
  const y = scaleLinear()
    .domain([ylo * yk, yhi * yk])
    .range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  if (tickable(y, 10)) {
    const plain = y.domain();
    // nice() rounds the ends outwards, past ±1.8e308 near the top of the range: then keep them as they were.
    if (!y.nice().domain().every((d) => Number.isFinite(d / yk))) y.domain(plain);
  }
  const [x0, x1] = x.range();
  const [y0, y1] = y.range();

  const grid: string[] = [];
  for (const t of ticksOf(x, 10)) {
    const px = x(t).toFixed(2);
    grid.push(`<line x1="${px}" x2="${px}" y1="${y1}" y2="${y0}" class="grid"/>`);
    grid.push(`<text x="${px}" y="${y0 + 18}" text-anchor="middle">${format(t)}</text>`);
  }
  for (const t of ticksOf(y, 8)) {
    const py = y(t).toFixed(2);
    grid.push(`<line x1="${x0}" x2="${x1}" y1="${py}" y2="${py}" class="grid"/>`);
    grid.push(`<text x="${x0 - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${format(t / yk)}</text>`);
  }
  const axes: string[] = [];
  const [dy0, dy1] = y.domain();
  const [dx0, dx1] = x.domain();
  if (dy0 <= 0 && dy1 >= 0) axes.push(`<line x1="${x0}" x2="${x1}" y1="${y(0).toFixed(2)}" y2="${y(0).toFixed(2)}" class="axis"/>`);
  if (dx0 <= 0 && dx1 >= 0) axes.push(`<line x1="${x(0).toFixed(2)}" x2="${x(0).toFixed(2)}" y1="${y1}" y2="${y0}" class="axis"/>`);

  const paths = spec.series.map((s) => {
    const points = Array.from(spec.x, (xv, i) => [xv, s.y[i]] as [number, number]);
    const d = line()
      .defined(([, v]) => Number.isFinite(v))
      .x(([xv]) => x(xv))
      .y(([, v]) => y(v * yk))(points);
    return `<path d="${d ?? ''}" fill="none" stroke="${s.color}" stroke-width="2.25"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`;
  });

  const legend = spec.series.map((s, i) => {
    const ly = MARGIN.top + 14 + i * 20;
    const lx = x0 + 14;
    return (
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.25"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>` +
      `<text x="${lx + 36}" y="${ly}" dominant-baseline="middle">${escapeXml(s.label)}</text>`
    );
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(spec.title)}">`,
    '<style>text{font:12px system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;fill:#333}.title{font-size:16px;font-weight:600}.subtitle{fill:#666}.grid{stroke:#e6e6e6}.axis{stroke:#888}.frame{fill:none;stroke:#bbb}</style>',
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${x0}" y="26" class="title">${escapeXml(spec.title)}</text>`,
    spec.subtitle ? `<text x="${x0}" y="46" class="subtitle">${escapeXml(spec.subtitle)}</text>` : '',
    ...grid,
    ...axes,
    `<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" class="frame"/>`,
    `<defs><clipPath id="plot-area"><rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}"/></clipPath></defs>`,
    `<g clip-path="url(#plot-area)">${paths.join('')}</g>`,
    `<rect x="${x0 + 6}" y="${MARGIN.top + 2}" width="150" height="${spec.series.length * 20 + 4}" fill="#fff" fill-opacity="0.85" stroke="#ddd"/>`,
    ...legend,
    `<text x="${(x0 + x1) / 2}" y="${HEIGHT - 6}" text-anchor="middle">x</text>`,
    '</svg>',
  ].join('\n');
}
