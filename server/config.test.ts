import { describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from './config.ts';
import { runServerExpectingFailure, startServerProcess } from './testing/server-process.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  test('with nothing set, the embedded defaults apply', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      NODE_ENV: 'development',
      BODY_LIMIT_BYTES: 262_144,
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
  });

  test('values are converted and empty strings count as unset', () => {
    const config = parseConfig({ PORT: '8080', DATABASE_URL: '', LOG_LEVEL: 'debug' });
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  test('every bad value is listed at once, secrets are not echoed', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://user:hunter2@db/x',
      REDIS_URL: 'http://nope',
      LOG_LEVEL: 'loud',
      JWT_SECRET: 'short',
      SMTP_URL: 'http://mailer:s3cret@relay',
    });
    const keys = problems.map((problem) => problem.split(':')[0]);
    expect(keys).toEqual(
      expect.arrayContaining(['PORT', 'DATABASE_URL', 'REDIS_URL', 'LOG_LEVEL', 'JWT_SECRET']),
    );
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems.join('\n')).not.toContain('s3cret');
    expect(keys).toContain('SMTP_URL');
    expect(problems.join('\n')).toContain('"eighty"');
  });

  test('out-of-range port and production without a JWT secret are refused', () => {
    expect(problemsOf({ PORT: '70000' })[0]).toStartWith('PORT:');
    expect(problemsOf({ NODE_ENV: 'production' })[0]).toStartWith('JWT_SECRET:');
  });

  test('the server refuses to start on a bad PORT, with a readable message', async () => {
    const result = await runServerExpectingFailure({ PORT: 'not-a-port', DATABASE_URL: undefined });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toContain('PORT');
  });

  test('the server refuses to start on a bad DATABASE_URL, with a readable message', async () => {
    const malformed = await runServerExpectingFailure({ DATABASE_URL: 'not a url' });
    expect(malformed.exitCode).toBe(1);
    expect(malformed.stderr).toContain('DATABASE_URL');

    // Well-formed but unreachable: nothing listens on port 1.
    const unreachable = await runServerExpectingFailure({
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr).toContain('The database could not be opened at DATABASE_URL');
  });

  test('a port that is already taken stops start-up instead of sharing it', async () => {
    const first = await startServerProcess({ DATA_DIR: mkdtempSync(join(tmpdir(), 'wrapper-port-a-')) });
    try {
      const port = new URL(first.baseUrl).port;
      const second = await runServerExpectingFailure({
        PORT: port,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'wrapper-port-b-')),
      });
      expect(second.exitCode).toBe(1);
      expect(second.stderr).toContain(`Cannot listen on 127.0.0.1:${port}`);
    } finally {
      await first.stop();
    }
  });
});
