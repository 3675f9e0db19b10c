/** The README's activation table is the registry's, parameter defaults included. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { activationTable, readmeTable } from '../scripts/activation-table.js';

it('README lists every activation with its parameters and defaults (npm run docs:table rewrites it)', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  expect(readmeTable(readme)).toBe(activationTable());
});
