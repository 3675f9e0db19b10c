/**
 * The OpenAPI document as the app generates it, and its validation with a
 * real OpenAPI 3.1 validator (@readme/openapi-parser).
 */
import { validate } from '@readme/openapi-parser';
import { buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';

export const COMMITTED_PATH = new URL('./openapi.json', import.meta.url);

/** The document exactly as the committed file holds it: 2-space JSON, trailing newline. */
export async function generateDocument(): Promise<string> {
  const app = await buildApp(testConfig({ WORKERS: 1 }), { logger: false });
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

export interface ValidationResult {
  valid: boolean;
  errors: string[];
  warnings: string[];
}

export async function validateDocument(text: string): Promise<ValidationResult> {
  const document = JSON.parse(text) as { openapi?: string };
  const errors: string[] = [];
  if (document.openapi !== '3.1.0') errors.push(`openapi is ${JSON.stringify(document.openapi)}, expected "3.1.0"`);
  const result = await validate(structuredClone(document) as never, { validate: { errors: { colorize: false } } });
  if (!result.valid) errors.push(...result.errors.map((e) => e.message));
  return { valid: errors.length === 0, errors, warnings: result.warnings.map((w) => w.message) };
}
