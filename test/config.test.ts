/**
 * Configuration: defaults, parsing, and a bad value stopping the real server
 * process with a message that names the variable.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      MAX_ELEMENTS: 4_194_304,
      BODY_LIMIT: 64 * 1024 * 1024,
      LOG_LEVEL: 'info',
    });
    expect(config.WORKERS).toBeGreaterThanOrEqual(1);
  });

  it('parses numbers and treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '8080', WORKERS: '3', HOST: '' })).toMatchObject({ PORT: 8080, WORKERS: 3, HOST: '127.0.0.1' });
  });

  it('names every bad variable', () => {
    expect(() => loadConfig({ PORT: '70000', WORKERS: 'many', LOG_LEVEL: 'loud' })).toThrowError(ConfigError);
    try {
      loadConfig({ PORT: '70000', WORKERS: 'many', QUEUE_LIMIT: '-1' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('PORT: PORT must be at most 65535 (got "70000")');
      expect(message).toContain('WORKERS: WORKERS must be a number (got "many")');
      expect(message).toContain('QUEUE_LIMIT: QUEUE_LIMIT must be at least 0 (got "-1")');
    }
  });
});

describe('the server process', () => {
  it('exits non-zero with a message naming the bad variable', () => {
    const server = fileURLToPath(new URL('../src/server.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', server], {
      env: { ...process.env, PORT: 'not-a-port', LOG_LEVEL: 'silent' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT: PORT must be a number (got "not-a-port")');
  });
});
