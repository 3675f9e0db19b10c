/**
 * The operations settings: defaults, parsing, the rules between them, and an
 * API key never echoed in the start-up error message.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, configKeys, loadConfig } from '../../src/config.js';
import { availableCpus } from '../../src/cpus.js';

const fail = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('operations configuration', () => {
  it('has safe defaults: limits on, optional features off', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      SHUTDOWN_TIMEOUT_MS: 40_000,
      REQUEST_TIMEOUT_MS: 60_000,
      CONNECTION_TIMEOUT_MS: 120_000,
      KEEP_ALIVE_TIMEOUT_MS: 72_000,
      MAX_HEADER_SIZE: 16_384,
      MAX_PARAM_LENGTH: 100,
      MAX_EVENT_LOOP_DELAY_MS: 1_000,
      MAX_HEAP_USED_BYTES: 0,
      RATE_LIMIT_MAX: 0,
      RATE_LIMIT_WINDOW_MS: 60_000,
      CORS_ORIGINS: [],
      TRUST_PROXY: false,
    });
    expect(config.API_KEY).toBeUndefined();
    expect(config.WORKERS).toBe(availableCpus());
  });

  it('parses CORS_ORIGINS and TRUST_PROXY', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).CORS_ORIGINS).toEqual(['https://a.example', 'http://localhost:5173']);
    expect(loadConfig({ CORS_ORIGINS: '*' }).CORS_ORIGINS).toEqual(['*']);
    expect(fail({ CORS_ORIGINS: 'a.example' })).toContain('CORS_ORIGINS entries must be * or an origin like https://example.com, not "a.example"');
    expect(fail({ CORS_ORIGINS: 'https://a.example/path' })).toContain('CORS_ORIGINS');
    // As browsers send them: lower case, no default port (an audit: mixed case was accepted and matched nothing).
    expect(loadConfig({ CORS_ORIGINS: 'https://App.Example.com, HTTP://localhost:80, https://a.example:8443' }).CORS_ORIGINS).toEqual([
      'https://app.example.com',
      'http://localhost',
      'https://a.example:8443',
    ]);
    for (const bad of ['https://a.com:99999', 'https://user@a.com', 'ftp://a.com']) expect(fail({ CORS_ORIGINS: bad }), bad).toContain('CORS_ORIGINS entries must be');
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });

  it('SHUTDOWN_TIMEOUT_MS and CONNECTION_TIMEOUT_MS must leave a computation its TASK_TIMEOUT_MS', () => {
    expect(fail({ SHUTDOWN_TIMEOUT_MS: '30000' })).toContain(
      'SHUTDOWN_TIMEOUT_MS: SHUTDOWN_TIMEOUT_MS must be greater than TASK_TIMEOUT_MS (30000), so requests in flight can finish (got "30000")',
    );
    expect(fail({ TASK_TIMEOUT_MS: '50000' })).toContain('SHUTDOWN_TIMEOUT_MS must be greater than TASK_TIMEOUT_MS (50000)');
    expect(fail({ CONNECTION_TIMEOUT_MS: '1000' })).toContain('CONNECTION_TIMEOUT_MS must be 0 or greater than TASK_TIMEOUT_MS (30000)');
    expect(loadConfig({ CONNECTION_TIMEOUT_MS: '0' }).CONNECTION_TIMEOUT_MS).toBe(0);
    expect(loadConfig({ TASK_TIMEOUT_MS: '5000', SHUTDOWN_TIMEOUT_MS: '6000' }).SHUTDOWN_TIMEOUT_MS).toBe(6000);
  });

  it('never prints the API key, even when it is refused', () => {
    const secret = 'short-secret';
    const message = fail({ API_KEY: secret });
    expect(message).toContain('API_KEY: API_KEY must be at least 16 characters (got 12 characters)');
    expect(message).not.toContain(secret);
    expect(loadConfig({ API_KEY: 'a'.repeat(32) }).API_KEY).toBe('a'.repeat(32));
  });

  it('rejects bad numbers with the variable named', () => {
    expect(fail({ MAX_HEADER_SIZE: '10' })).toContain('MAX_HEADER_SIZE: MAX_HEADER_SIZE must be at least 1024 (got "10")');
    expect(fail({ RATE_LIMIT_MAX: '-1' })).toContain('RATE_LIMIT_MAX must be at least 0');
    expect(fail({ MAX_EVENT_LOOP_DELAY_MS: 'soon' })).toContain('MAX_EVENT_LOOP_DELAY_MS must be a whole number, in digits');
  });

  it('lists every variable by name', () => {
    expect(configKeys()).toEqual(
      expect.arrayContaining(['PORT', 'WORKERS', 'API_KEY', 'RATE_LIMIT_MAX', 'CORS_ORIGINS', 'SHUTDOWN_TIMEOUT_MS', 'MAX_EVENT_LOOP_DELAY_MS', 'MAX_HEAP_USED_BYTES']),
    );
  });
});
