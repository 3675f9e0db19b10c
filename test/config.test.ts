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
      expect(message).toContain('WORKERS: WORKERS must be a whole number, in digits (got "many")');
      expect(message).toContain('QUEUE_LIMIT: QUEUE_LIMIT must be at least 0 (got "-1")');
    }
  });
});

// From an audit of the operations: each of these started a server that did something else than asked.
describe('values that used to pass for something else', () => {
  const messageOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error(`accepted: ${JSON.stringify(env)}`);
  };

  it('numbers are digits: " " is not 0 (which turns QUEUE_LIMIT and REQUEST_TIMEOUT_MS off), nor 0x50 80, nor 1e3 1000', () => {
    for (const value of [' ', '0x50', '1e3', '12abc', '1.5']) {
      expect(messageOf({ QUEUE_LIMIT: value })).toMatch(/^Invalid configuration:\n {2}QUEUE_LIMIT: QUEUE_LIMIT must be a whole number/);
    }
    expect(loadConfig({ QUEUE_LIMIT: ' 12 ', PORT: '0' })).toMatchObject({ QUEUE_LIMIT: 12, PORT: 0 });
  });

  it('timeouts stay within what a timer can wait (2^31 − 1 ms; a longer one fires after 1 ms)', () => {
    expect(messageOf({ SHUTDOWN_TIMEOUT_MS: '2147483648' })).toContain('SHUTDOWN_TIMEOUT_MS must be at most 2147483647');
    expect(messageOf({ TASK_TIMEOUT_MS: '4294967296', SHUTDOWN_TIMEOUT_MS: '2147483647', CONNECTION_TIMEOUT_MS: '0' })).toContain(
      'TASK_TIMEOUT_MS must be at most 2147483647',
    );
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '2147483647' }).SHUTDOWN_TIMEOUT_MS).toBe(2147483647);
  });

  it('an API_KEY with whitespace, which no Bearer header can carry, is refused without being printed', () => {
    for (const key of ['0123456789abcdef0123\n', 'my pass phrase is long', ' '.repeat(16)]) {
      const message = messageOf({ API_KEY: key });
      expect(message).toContain('API_KEY must not contain whitespace');
      expect(message).toContain(`(got ${key.length} characters)`);
      expect(message).not.toContain(key.trim() || '                ');
    }
  });

  it('TRUST_PROXY: true and false in any case, addresses that Fastify can read, anything else named', () => {
    expect(loadConfig({ TRUST_PROXY: 'TRUE' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'False' }).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1']);
    for (const value of ['yes', '10.0.0.0/8,', '300.1.1.1', 'TRUE-ish']) {
      expect(messageOf({ TRUST_PROXY: value })).toContain('TRUST_PROXY: TRUST_PROXY must be true, false, a hop count, or addresses/CIDRs');
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
    expect(result.stderr).toContain('PORT: PORT must be a whole number, in digits (got "not-a-port")');
  });
});
