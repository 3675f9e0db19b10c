/**
 * The README's configuration table lists every configuration variable (and
 * nothing else), and its metrics table every metric of our own that
 * /metrics serves (and nothing else).
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { configKeys } from '../../src/config.js';
import { build } from '../helpers/app.js';
import { parsePrometheus } from './prometheus.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = (heading: string): string => {
  const start = readme.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
};

it('every configuration variable has a row in the README configuration table', () => {
  const rows = [...section('Configuration').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  expect([...rows].sort()).toEqual([...configKeys()].sort());
});

it('the README metrics table names the metrics /metrics serves', async () => {
  const app = await build();
  try {
    await app.inject({ method: 'POST', url: '/v1/activations/relu/forward', payload: { inputs: [[1]] } });
    const served = new Set(
      parsePrometheus((await app.inject('/metrics')).body)
        .map((s) => s.name.replace(/_(bucket|sum|count)$/, ''))
        .filter((n) => /^(http|activation)_/.test(n)),
    );
    const documented = new Set([...section('Observing').matchAll(/^\| `((?:http|activation)_[a-z_]+)` \|/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual([...served].sort());
  } finally {
    await app.close();
  }
});
