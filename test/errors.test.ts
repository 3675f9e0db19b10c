/**
 * The error catalogue and its documentation move together: every code has a
 * row in the README's error table with the right status, and nothing else.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ERRORS } from '../src/errors.js';

it('every error code is documented in the README with its status', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = [...readme.matchAll(/^\| `(ACT_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])));
});

it('problem types are distinct', () => {
  const slugs = Object.values(ERRORS).map((e) => e.slug);
  expect(new Set(slugs).size).toBe(slugs.length);
});
