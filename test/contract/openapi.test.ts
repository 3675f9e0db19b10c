/**
 * The committed openapi/openapi.json is what the app generates now, and it
 * is valid OpenAPI 3.1 by a real validator. `npm run openapi:check` is the
 * same check for CI and the command line; this runs it too.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMITTED_PATH, generateDocument, validateDocument } from '../../openapi/document.js';
import { activations } from '../../src/core/activations/index.js';

describe('openapi/openapi.json', () => {
  it('is up to date: npm run openapi:check passes', () => {
    const result = spawnSync('npm', ['run', '-s', 'openapi:check'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).not.toContain('stale');
    expect(result.status).toBe(0);
  });

  it('equals what the app generates', async () => {
    expect(readFileSync(COMMITTED_PATH, 'utf8')).toBe(await generateDocument());
  });

  it('is valid OpenAPI 3.1', async () => {
    const result = await validateDocument(readFileSync(COMMITTED_PATH, 'utf8'));
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('the validator catches a broken document', async () => {
    const broken = JSON.parse(readFileSync(COMMITTED_PATH, 'utf8'));
    broken.paths['/v1/activations/{name}'].get.parameters = [];
    const result = await validateDocument(JSON.stringify(broken));
    expect(result.valid).toBe(false);
  });

  it('documents each activation with its own params schema and examples', () => {
    const doc = JSON.parse(readFileSync(COMMITTED_PATH, 'utf8'));
    for (const def of activations) {
      const op = doc.paths[`/v1/activations/${def.name}/forward`].post;
      const ref = op.requestBody.content['application/json'].schema.$ref as string;
      const body = doc.components.schemas[ref.split('/').pop()!];
      expect(body.example.inputs).toEqual(def.example.inputs);
      const paramsRef = body.properties.params.$ref as string;
      const params = doc.components.schemas[paramsRef.split('/').pop()!];
      expect(Object.keys(params.properties ?? {}).sort()).toEqual(Object.keys(def.params.shape).sort());
      expect(op.responses['400'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    }
  });
});
