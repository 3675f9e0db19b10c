/**
 * The registry: the only list of activations. Routes, the OpenAPI document,
 * the worker, the catalog and the table-driven tests all read it.
 *
 * It is the contents of this folder: every other module here exports one
 * `defineActivation({...})`, so adding an activation means adding its file
 * (kebab-case of its name, `leaky-relu.ts`) and its test, nothing else.
 */
import { readdirSync } from 'node:fs';
import type { ActivationDefinition } from '../activation.js';

const isActivation = (value: unknown): value is ActivationDefinition =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ActivationDefinition).name === 'string' &&
  typeof (value as ActivationDefinition).forward === 'function' &&
  typeof (value as ActivationDefinition).backward === 'function';

/** Module files of this folder: `.ts` under tsx/vitest, `.js` in `dist/`. */
const moduleFiles = readdirSync(new URL('./', import.meta.url))
  .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !/^index\./.test(f))
  .sort();

const loaded: ActivationDefinition[] = [];
for (const file of moduleFiles) {
  const module: Record<string, unknown> = await import(new URL(`./${file}`, import.meta.url).href);
  const found = Object.values(module).filter(isActivation);
  if (found.length !== 1) {
    throw new Error(`src/core/activations/${file} must export exactly one activation, found ${found.length}`);
  }
  const definition = found[0];
  const expectedFile = definition.name.replace(/_/g, '-');
  if (file.replace(/\.(ts|js)$/, '') !== expectedFile) {
    throw new Error(`activation "${definition.name}" must live in ${expectedFile}.ts, not ${file}`);
  }
  loaded.push(definition);
}

/** Every activation, in alphabetical order of name. */
export const activations: readonly ActivationDefinition[] = loaded.sort((a, b) => a.name.localeCompare(b.name));

const byName = new Map(activations.map((a) => [a.name, a]));

export function getActivation(name: string): ActivationDefinition | undefined {
  return byName.get(name);
}

export const activationNames: readonly string[] = activations.map((a) => a.name);
